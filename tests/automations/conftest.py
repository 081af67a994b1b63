"""Fixtures for automation tests: a small help-desk base, real HTTP and SMTP receivers, a clock."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from automation_servers import Env, Hook, Mailbox

from engine import Workspace
from tests_support import free_port

WORKSPACE = """\
workspace: test
name: Test
timezone: Asia/Shanghai
locale: zh-CN
departments:
  qc: {{name: 质控部, head: boss}}
  ortho: {{name: 口腔正畸中心}}
  ortho_kids: {{name: 儿童正畸, parent: ortho}}
roles:
  admin: {{name: 管理员, admin: true}}
  handler: {{name: 处理人}}
  viewer: {{name: 只读}}
people:
  admin: {{name: 管理员, roles: [admin], department: qc, email: admin@example.org}}
  boss: {{name: 王主任, roles: [handler], department: qc, email: boss@example.org}}
  li: {{name: 李四, roles: [handler], department: ortho, email: li@example.org, channels: [mail]}}
  zhao: {{name: 赵六, roles: [viewer], department: ortho_kids}}
channels:
  mail: {{type: email, host: 127.0.0.1, port: {smtp_port}, sender: gridbase@example.org}}
  hook: {{type: webhook, url: "{hook_url}"}}
allowed_hosts: [127.0.0.1]
"""

DESK = """\
base: desk
name: 服务台
tables:
  tickets:
    name: 工单
    primary: title
    fields:
      title: {type: text, name: 标题, required: true}
      status: {type: single_select, name: 状态, options: [待受理, 处理中, 已办结], default: 待受理}
      severity: {type: single_select, name: 严重程度, options: [一般, 严重]}
      owner: {type: person, name: 负责人}
      watchers: {type: person, name: 关注人, multiple: true}
      n: {type: number, name: 计数}
      due: {type: date, name: 截止日期}
      phone: {type: phone, name: 电话}
      note: {type: text, name: 备注}
    forms:
      report: {name: 报告, fields: [title, severity]}
  followups:
    name: 跟进
    primary: title
    fields:
      title: {type: text, name: 标题}
      ticket: {type: link, table: tickets, multiple: false}
roles:
  handler:
    tickets: {access: edit, fields: {phone: {access: read, mask: phone}}}
    followups: {access: read}
automations:
"""


@pytest.fixture
def env(tmp_path: Path, database: Callable[[], Path | str]) -> Iterator[Env]:
    hook = Hook()
    hook.thread.start()
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    opened: list[Workspace] = []
    holder: list[Env] = []
    where: list[Path | str] = []

    def make(automations: str, *, extra_bases: dict[str, str] | None = None) -> Workspace:
        root = tmp_path / "ws"
        (root / "bases").mkdir(parents=True, exist_ok=True)
        (root / "workspace.yaml").write_text(
            WORKSPACE.format(smtp_port=controller.port, hook_url=hook.url("/group")), encoding="utf-8")
        body = DESK + textwrap.indent(textwrap.dedent(automations).strip() + "\n", "  ")
        (root / "bases" / "desk.yaml").write_text(body, encoding="utf-8")
        for name, text in (extra_bases or {}).items():
            (root / "bases" / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
        if not where:
            where.append(database())  # a temp SQLite file, or a PostgreSQL schema (tests/conftest.py)
        ws = Workspace.open(root, db=where[0])
        ws.apply()
        ws.clock = lambda: holder[0].now[0]
        opened.append(ws)
        return ws

    holder.append(Env(hook, mailbox, controller.port, make))
    try:
        yield holder[0]
    finally:
        from automations import stop

        stop()
        for ws in opened:
            ws.close()
        controller.stop()
        hook.close()
