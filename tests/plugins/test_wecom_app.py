"""The WeCom app channel sends each named person one app message, against a local WeCom stand-in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from wecom_standin import WeComStandin

from automations import deliver_due, list_deliveries, process_pending
from engine import Workspace
from engine.channels import APPROVAL_EVENT, OutgoingMessage
from plugins.channels.wecom_app import WeComAppChannel
from tests_support import write_workspace

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

WORKSPACE = """\
workspace: hospital
name: 医院
timezone: Asia/Shanghai
locale: zh-CN
roles:
  admin: {{name: 管理员, admin: true}}
  handler: {{name: 执行人}}
people:
  director: {{name: 院长, roles: [admin], accounts: {{wecom: {{userid: ZhaoLei}}}}}}
  qian: {{name: 钱芳, roles: [handler], accounts: {{wecom: {{userid: QianFang}}}}}}
  gone: {{name: 已离职, roles: [handler], accounts: {{wecom: {{userid: LeftLastYear}}}}}}
  mute: {{name: 无账号, roles: [handler], email: mute@hospital.example.org}}
channels:
  wecom: {{type: wecom_app, corp_id: {corp_id}, agent_id: {agent_id}, corp_secret_env: WECOM_APP_SECRET,
          base_url: "{base_url}"}}
allowed_hosts: [127.0.0.1]
"""

OFFICE = """\
base: office
name: 院办
tables:
  directives:
    name: 指令
    primary: title
    fields:
      title: {type: text, name: 标题, required: true}
      assignees: {type: person, name: 执行人, multiple: true}
      budget: {type: number, name: 预算}
roles:
  handler:
    directives: {access: read, fields: {budget: {access: none}}}
automations:
  tell:
    when: {created: directives}
    do:
      - notify: {to: "{assignees}", title: "新指令：{{ record.title }}", message: "预算：{{ record.budget }}",
                 channels: [wecom]}
"""


@pytest.fixture
def standin() -> Iterator[WeComStandin]:
    server = WeComStandin(userids={"ZhaoLei", "QianFang"})
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def hospital(tmp_path: Path, standin: WeComStandin, monkeypatch: pytest.MonkeyPatch,
             database: Callable[[], str | Path]) -> Iterator[Workspace]:
    monkeypatch.setenv("WECOM_APP_SECRET", standin.secret)
    monkeypatch.setenv("GRIDBASE_PUBLIC_URL", "https://gridbase.hospital.example.org")
    root = write_workspace(tmp_path / "ws", {"office": OFFICE}, WORKSPACE.format(
        corp_id=standin.corp_id, agent_id=standin.agent_id, base_url=standin.base_url))
    ws = Workspace.open(root, db=database())
    ws.apply()
    try:
        yield ws
    finally:
        ws.close()


def directive(ws: Workspace, title: str, assignees: list[str]) -> str:
    rec = ws.base("office").table("directives").create(
        {"title": title, "assignees": assignees, "budget": 456789}, actor="director")
    process_pending(ws)
    return str(rec["id"])


def statuses(ws: Workspace) -> dict[str, tuple[str, int, str]]:
    """Each person's newest delivery: (status, attempts, last error)."""
    found: dict[str, tuple[str, int, str]] = {}
    for d in list_deliveries(ws):  # newest first
        found.setdefault(d["person"], (d["status"], d["attempts"], d.get("last_error") or ""))
    return found


def test_each_person_gets_one_text_card_built_with_their_permissions(hospital: Workspace,
                                                                     standin: WeComStandin) -> None:
    rec = directive(hospital, "院感检查", ["director", "qian"])
    assert deliver_due(hospital) == 2
    assert deliver_due(hospital) == 0
    sent = {d["touser"]: d for d in standin.delivered}
    assert sorted(sent) == ["QianFang", "ZhaoLei"] and standin.message_calls == 2
    for card in (sent["ZhaoLei"]["textcard"], sent["QianFang"]["textcard"]):
        assert card["title"] == "新指令：院感检查"
        assert card["url"] == f"https://gridbase.hospital.example.org/b/office/t/directives/r/{rec}"
    assert "456789" in sent["ZhaoLei"]["textcard"]["description"].replace(",", "")
    assert "456" not in sent["QianFang"]["textcard"]["description"]


def test_expired_token_rate_limit_and_unknown_people(hospital: Workspace, standin: WeComStandin) -> None:
    directive(hospital, "一", ["director"])
    deliver_due(hospital)
    standin.expire_all()
    standin.rate_limited = 1
    directive(hospital, "二", ["director", "gone", "mute"])
    assert deliver_due(hospital) == 0  # the token is renewed, then the rate limit answers
    assert standin.token_calls == 2
    found = statuses(hospital)
    assert found["gone"][0] == "dead" and "81013" in found["gone"][2] and "visible range" in found["gone"][2]
    assert found["mute"][0] == "dead" and "no WeCom userid" in found["mute"][2]
    assert deliver_due(hospital, now=hospital.now() + timedelta(minutes=2)) == 1
    assert [d["textcard"]["title"] for d in standin.delivered] == ["新指令：一", "新指令：二"]


def test_a_wrong_secret_is_dead_and_not_shown(hospital: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WECOM_APP_SECRET", "a-wrong-secret-value")
    directive(hospital, "密钥错误", ["director"])
    deliver_due(hospital)
    status, _attempts, error = statuses(hospital)["director"]
    assert status == "dead" and "40001" in error and "a-wrong-secret-value" not in error


def test_without_a_link_a_text_message_within_limits() -> None:
    channel = WeComAppChannel("wecom", {"corp_id": "ww1", "agent_id": 1, "corp_secret": "s"})
    payload = channel.payload(OutgoingMessage("k", "标题", "长" * 3000, link="/b/x"), "ZhaoLei")
    assert payload["msgtype"] == "text" and len(payload["text"]["content"].encode()) <= 2048


def test_an_approval_card_opens_the_record_page_to_decide() -> None:
    channel = WeComAppChannel("wecom", {"corp_id": "ww1", "agent_id": 1, "corp_secret": "s"})
    link = "https://gridbase.example.org/b/complaints/t/complaints/r/rec1#approval"
    payload = channel.payload(OutgoingMessage("k", "请审批结案：甲", "…", link=link, event=APPROVAL_EVENT), "ZhaoLei")
    assert payload["textcard"]["url"] == link and payload["textcard"]["btntxt"] == "去审批"


@pytest.mark.parametrize(("options", "fragment"), [
    ({"corp_id": "ww1", "agent_id": "1000002", "corp_secret_env": "S"}, "must be int"),
    ({"corp_id": "ww1", "agent_id": 1}, "needs the option 'corp_secret_env'"),
    ({"corp_id": "ww1", "agent_id": 1, "corp_secret_env": "S", "button_text": "查看详细内容"}, "at most 4"),
])
def test_bad_options_are_explained(options: dict[str, Any], fragment: str) -> None:
    assert any(fragment in e for e in WeComAppChannel.config_errors(options))
