"""Shared fixtures: a temporary workspace factory and the dental example."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine import Workspace

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


@pytest.fixture
def make_workspace(tmp_path: Path) -> Iterator[Callable[..., Workspace]]:
    """make_workspace(bases={name: yaml}, workspace=yaml) -> applied Workspace on a temp SQLite file."""
    opened: list[Workspace] = []

    def make(bases: dict[str, str], workspace: str = WORKSPACE_YAML, *, apply: bool = True) -> Workspace:
        root = write_workspace(tmp_path / "ws", bases, workspace)
        ws = Workspace.open(root, db=tmp_path / "test.db")
        if apply:
            ws.apply()
        opened.append(ws)
        return ws

    yield make
    for ws in opened:
        ws.close()


@pytest.fixture
def dental_copy(tmp_path: Path) -> Path:
    target = tmp_path / "dalian_dental"
    shutil.copytree(DENTAL, target, ignore=shutil.ignore_patterns("data"))
    return target
