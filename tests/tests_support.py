"""Small helpers shared by tests (importable as `tests_support`)."""

from __future__ import annotations

import re
import socket
import textwrap
from pathlib import Path
from typing import Any

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


def csrf_of(html: str) -> str:
    """The CSRF token of a page (the meta tag, or a form's hidden field)."""
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


def sign_in(client: Any, person: str, password: str) -> Any:
    """Sign in through the real /login form (CSRF included); returns the redirect response."""
    page = client.get("/login")
    return client.post("/login", data={"username": person, "password": password, "csrf_token": csrf_of(page.text),
                                       "next": "/"}, follow_redirects=False)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
