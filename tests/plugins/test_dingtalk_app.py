"""The DingTalk app channel sends each named person one work notification, against a local stand-in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from dingtalk_standin import DingTalkStandin

from automations import deliver_due, list_deliveries, process_pending
from engine import Workspace
from engine.channels import APPROVAL_EVENT, OutgoingMessage
from plugins.channels.dingtalk_app import DingTalkAppChannel
from tests_support import write_workspace

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

WORKSPACE = """\
workspace: hospital
name: 医院
roles:
  admin: {{name: 管理员, admin: true}}
  handler: {{name: 执行人}}
people:
  director: {{name: 院长, roles: [admin], accounts: {{ding: {{userid: "manager4220"}}}}}}
  qian: {{name: 钱芳, roles: [handler], accounts: {{ding: {{userid: "0420506555"}}}}}}
  mute: {{name: 无账号, roles: [handler]}}
channels:
  ding: {{type: dingtalk_app, app_key: {app_key}, agent_id: {agent_id}, app_secret_env: DING_APP_SECRET,
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
                 channels: [ding]}
"""


@pytest.fixture
def standin() -> Iterator[DingTalkStandin]:
    server = DingTalkStandin(userids={"manager4220", "0420506555"})
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def hospital(tmp_path: Path, standin: DingTalkStandin, monkeypatch: pytest.MonkeyPatch,
             database: Callable[[], str | Path]) -> Iterator[Workspace]:
    monkeypatch.setenv("DING_APP_SECRET", standin.secret)
    monkeypatch.setenv("GRIDBASE_PUBLIC_URL", "https://gridbase.hospital.example.org")
    root = write_workspace(tmp_path / "ws", {"office": OFFICE}, WORKSPACE.format(
        app_key=standin.app_key, agent_id=standin.agent_id, base_url=standin.base_url))
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


def test_each_person_gets_one_notification_built_with_their_permissions(hospital: Workspace,
                                                                        standin: DingTalkStandin) -> None:
    rec = directive(hospital, "院感检查", ["director", "qian"])
    assert deliver_due(hospital) == 2 and deliver_due(hospital) == 0
    sent = {d["userid"]: d["oa"] for d in standin.delivered}
    assert sorted(sent) == ["0420506555", "manager4220"] and standin.message_calls == 2
    for oa in sent.values():
        assert oa["body"]["title"] == "新指令：院感检查"
        assert oa["message_url"] == f"https://gridbase.hospital.example.org/b/office/t/directives/r/{rec}"
    assert "456789" in sent["manager4220"]["body"]["content"].replace(",", "")
    assert "456" not in sent["0420506555"]["body"]["content"]


def test_expired_token_rate_limit_and_a_person_without_userid(hospital: Workspace, standin: DingTalkStandin) -> None:
    directive(hospital, "一", ["director"])
    deliver_due(hospital)
    standin.expire_all()
    standin.rate_limited = 1
    directive(hospital, "二", ["director", "mute"])
    assert deliver_due(hospital) == 0
    assert standin.token_calls == 2
    found = statuses(hospital)
    assert found["mute"][0] == "dead" and "no DingTalk userid" in found["mute"][2]
    assert found["director"][0] == "pending" and "90018" in found["director"][2]
    assert deliver_due(hospital, now=hospital.now() + timedelta(minutes=2)) == 1
    assert [d["oa"]["body"]["title"] for d in standin.delivered] == ["新指令：一", "新指令：二"]


def test_a_wrong_secret_is_dead_and_not_shown(hospital: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DING_APP_SECRET", "a-wrong-secret-value")
    directive(hospital, "密钥错误", ["director"])
    deliver_due(hospital)
    status, _attempts, error = statuses(hospital)["director"]
    assert status == "dead" and "40089" in error and "a-wrong-secret-value" not in error


def test_without_a_link_a_plain_text_message() -> None:
    channel = DingTalkAppChannel("ding", {"app_key": "k", "agent_id": 1, "app_secret": "s"})
    payload = channel.payload(OutgoingMessage("k", "标题", "**不是粗体** [链接](https://evil.example)"), "u1")
    assert payload["msg"] == {"msgtype": "text", "text": {"content": "标题\n**不是粗体** [链接](https://evil.example)"}}
    assert any("needs the option 'app_secret_env'" in e
               for e in DingTalkAppChannel.config_errors({"app_key": "k", "agent_id": 1}))


def test_an_approval_request_is_an_action_card_whose_button_opens_the_record_page(hospital: Workspace,
                                                                                    standin: DingTalkStandin) -> None:
    channel = DingTalkAppChannel("ding", {"app_key": standin.app_key, "agent_id": standin.agent_id,
                                              "app_secret": standin.secret, "base_url": standin.base_url},
                                 allowed_hosts=["127.0.0.1"])
    link = "https://gridbase.hospital.example.org/b/complaints/t/complaints/r/rec1#approval"
    hostile = "处理结果：见 [附件](https://evil.example/x) **已办结** ![](https://evil.example/p.png)"
    channel.send(OutgoingMessage("k1", "请审批结案：甲", hostile, link=link, event=APPROVAL_EVENT,
                                 recipient_ids={"userid": "manager4220"}))
    sent = standin.delivered[-1]
    assert sent["msgtype"] == "action_card"  # the stand-in checked DingTalk's documented card shape
    card = sent["action_card"]
    assert card["title"] == "请审批结案：甲"
    assert card["btn_json_list"] == [{"title": "去审批", "action_url": link}]
    # the record's text is shown as text: it adds no link, image or emphasis to the card
    assert "](" not in card["markdown"] and "**" not in card["markdown"] and "https://evil" not in card["markdown"]
    assert "附件" in card["markdown"] and "已办结" in card["markdown"]
    # an ordinary notification with a link stays an oa message
    channel.send(OutgoingMessage("k2", "新指令", "正文", link=link, recipient_ids={"userid": "manager4220"}))
    assert standin.delivered[-1]["msgtype"] == "oa"
