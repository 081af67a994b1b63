"""Small helpers shared by tests (importable as `tests_support`)."""

from __future__ import annotations

import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DENTAL = ROOT / "examples" / "dalian_dental"

WORKSPACE_YAML = """\
workspace: test
name: Test
timezone: Asia/Shanghai
locale: zh-CN
departments:
  qc: {name: 质控部, head: boss}
  ortho: {name: 口腔正畸中心}
roles:
  admin: {name: 管理员, admin: true}
  handler: {name: 处理人}
  viewer: {name: 只读}
people:
  admin: {name: 管理员, roles: [admin], department: qc, email: admin@example.org}
  boss: {name: 王主任, roles: [handler], department: qc, email: boss@example.org}
  li: {name: 李四, roles: [handler], department: ortho, email: li@example.org, phone: "13800001111"}
  zhao: {name: 赵六, roles: [viewer], department: ortho}
"""


def write_workspace(root: Path, bases: dict[str, str], workspace: str = WORKSPACE_YAML) -> Path:
    (root / "bases").mkdir(parents=True, exist_ok=True)
    (root / "workspace.yaml").write_text(textwrap.dedent(workspace), encoding="utf-8")
    for name, text in bases.items():
        (root / "bases" / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def rewrite_base(root: Path, name: str, text: str) -> None:
    (root / "bases" / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
