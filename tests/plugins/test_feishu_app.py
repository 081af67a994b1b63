"""The Feishu app channel sends each named person one card, in their own Feishu, against a local stand-in.

Scenario 3 of the hospital: a directive names people in a person field; each must get a
message in Feishu, built with what their role may read, exactly once, with retries and dead
letters as every other channel.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from feishu_standin import FeishuStandin, User

from automations import deliver_due, list_deliveries, process_pending
from engine import Workspace
from engine.channels import APPROVAL_EVENT, OutgoingMessage
from gridbase.cli import main
from plugins.channels import appchannel, feishu_app
from plugins.channels.feishu_app import FeishuAppChannel
from tests_support import write_workspace

ZHAO = User("ou_7d8a6e6df7621556ce0d21922b676706", "zhaolei01", "zhao.lei@hospital.example.org")
QIAN = User("ou_1f2e3d4c5b6a79881f2e3d4c5b6a7988", "qianfang02", "qian.fang@hospital.example.org")

WORKSPACE = """\
workspace: hospital
name: 医院
timezone: Asia/Shanghai
locale: zh-CN
departments:
  office: {{name: 院办}}
  nursing: {{name: 护理部}}
roles:
  admin: {{name: 管理员, admin: true}}
  handler: {{name: 执行人}}
people:
  director: {{name: 院长, roles: [admin], department: office, email: director@hospital.example.org,
             channels: [feishu], accounts: {{feishu: {{open_id: {zhao_open_id}}}}}}}
  qian: {{name: 钱芳, roles: [handler], department: nursing, email: {qian_email}}}
  ghost: {{name: 查无此人, roles: [handler], department: nursing, accounts: {{feishu: {{open_id: ou_not_in_this_app}}}}}}
  mute: {{name: 无联系方式, roles: [handler], department: nursing}}
channels:
  feishu: {{type: feishu_app, app_id: {app_id}, app_secret_env: FEISHU_APP_SECRET, base_url: "{base_url}"}}
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
      - notify:
          to: "{assignees}"
          title: "新指令：{{ record.title }}"
          message: "预算：{{ record.budget }}\\n请于本周内落实"
          channels: [feishu]
  remind:
    when: {updated: directives, fields: [title]}
    do:
      - notify: {to: "{assignees}", title: "指令已修改：{{ record.title }}"}
"""


@pytest.fixture
def standin() -> Iterator[FeishuStandin]:
    server = FeishuStandin(users=[ZHAO, QIAN])
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def hospital(tmp_path: Path, standin: FeishuStandin, monkeypatch: pytest.MonkeyPatch,
             database: Callable[[], str | Path]) -> Iterator[Workspace]:
    monkeypatch.setenv("FEISHU_APP_SECRET", standin.app_secret)
    monkeypatch.setenv("GRIDBASE_PUBLIC_URL", "https://gridbase.hospital.example.org")
    root = write_workspace(tmp_path / "ws", {"office": OFFICE}, WORKSPACE.format(
        zhao_open_id=ZHAO.open_id, qian_email=QIAN.email, app_id=standin.app_id, base_url=standin.base_url))
    ws = Workspace.open(root, db=database())
    ws.apply()
    try:
        yield ws
    finally:
        ws.close()


def directive(ws: Workspace, title: str, assignees: list[str], budget: float = 128000) -> str:
    rec = ws.base("office").table("directives").create(
        {"title": title, "assignees": assignees, "budget": budget}, actor="director")
    process_pending(ws)
    return str(rec["id"])


def card_text(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


def statuses(ws: Workspace) -> dict[str, tuple[str, int, str]]:
    """Each person's newest delivery: (status, attempts, last error)."""
    found: dict[str, tuple[str, int, str]] = {}
    for d in list_deliveries(ws):  # newest first
        found.setdefault(d["person"], (d["status"], d["attempts"], d.get("last_error") or ""))
    return found


def test_each_named_person_gets_one_card_with_title_and_link(hospital: Workspace, standin: FeishuStandin) -> None:
    rec = directive(hospital, "落实院感防控专项检查", ["director", "qian"])
    assert deliver_due(hospital) == 2
    [to_zhao] = standin.to(ZHAO.open_id)
    [to_qian] = standin.to(QIAN.open_id)
    assert to_zhao.receive_id_type == "open_id"  # the id from accounts:
    assert to_qian.receive_id_type == "email"  # no id given: the person's e-mail
    link = f"https://gridbase.hospital.example.org/b/office/t/directives/r/{rec}"
    for sent in (to_zhao, to_qian):
        assert sent.card["header"]["title"]["content"] == "新指令：落实院感防控专项检查"
        [button] = sent.card["elements"][-1]["actions"]
        assert button["url"] == link and button["text"]["content"] == "打开记录"
        assert "请于本周内落实" in sent.card["elements"][0]["text"]["content"]
    # A second worker pass sends nothing twice.
    calls = standin.message_calls
    assert deliver_due(hospital) == 0
    assert standin.message_calls == calls and len(standin.delivered) == 2


@pytest.mark.stores  # on PostgreSQL too (tests/conftest.py)
def test_a_field_the_person_may_not_read_never_reaches_their_card(hospital: Workspace, standin: FeishuStandin) -> None:
    directive(hospital, "采购呼吸机", ["director", "qian"], budget=987654)
    deliver_due(hospital)
    [to_zhao] = standin.to(ZHAO.open_id)
    [to_qian] = standin.to(QIAN.open_id)
    assert "987654" in card_text(to_zhao.card).replace(",", "")  # the director reads the budget
    assert "987654" not in card_text(to_qian.card).replace(",", "")  # a handler's role hides it
    assert "987" not in card_text(to_qian.card)


@pytest.mark.stores  # on PostgreSQL too (tests/conftest.py)
def test_an_expired_token_is_refreshed_and_the_card_sent(hospital: Workspace, standin: FeishuStandin) -> None:
    directive(hospital, "第一条", ["director"])
    assert deliver_due(hospital) == 1
    assert standin.token_calls == 1
    standin.expire_all()
    directive(hospital, "第二条", ["director"])
    assert deliver_due(hospital) == 1
    assert standin.token_calls == 2
    assert [d.card["header"]["title"]["content"] for d in standin.to(ZHAO.open_id)] == ["新指令：第一条", "新指令：第二条"]


@pytest.mark.stores  # on PostgreSQL too (tests/conftest.py)
def test_the_token_is_renewed_before_it_expires(hospital: Workspace, standin: FeishuStandin,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    standin.expire = 900  # 15 minutes, renewed 10 minutes before the end
    now = [1000.0]
    monkeypatch.setattr(appchannel, "clock", lambda: now[0])
    directive(hospital, "一", ["director"])
    deliver_due(hospital)
    now[0] += 200  # 11:40 left: still used
    directive(hospital, "二", ["director"])
    deliver_due(hospital)
    assert standin.token_calls == 1
    now[0] += 200  # 8:20 left: renewed first, no failed call
    directive(hospital, "三", ["director"])
    deliver_due(hospital)
    assert standin.token_calls == 2 and standin.message_calls == 3 == len(standin.delivered)


@pytest.mark.stores  # on PostgreSQL too (tests/conftest.py)
def test_a_rate_limit_is_retried_later(hospital: Workspace, standin: FeishuStandin) -> None:
    standin.rate_limited = 1
    directive(hospital, "限流", ["director"])
    assert deliver_due(hospital) == 0
    status, attempts, error = statuses(hospital)["director"]
    assert (status, attempts) == ("pending", 1) and "99991400" in error
    assert deliver_due(hospital, now=hospital.now() + timedelta(minutes=2)) == 1
    assert len(standin.to(ZHAO.open_id)) == 1 and statuses(hospital)["director"][0] == "sent"


@pytest.mark.stores  # on PostgreSQL too (tests/conftest.py)
def test_an_unknown_user_becomes_a_dead_letter(hospital: Workspace, standin: FeishuStandin) -> None:
    directive(hospital, "查无此人", ["ghost", "mute", "director"])
    assert deliver_due(hospital) == 1
    found = statuses(hospital)
    status, attempts, error = found["ghost"]
    assert (status, attempts) == ("dead", 1)
    assert "99992361" in error and "another app" in error
    status, attempts, error = found["mute"]
    assert (status, attempts) == ("dead", 1) and "no Feishu id" in error
    assert deliver_due(hospital, now=hospital.now() + timedelta(hours=3)) == 0


@pytest.mark.stores  # on PostgreSQL too (tests/conftest.py)
def test_a_wrong_secret_is_a_dead_letter_that_does_not_show_it(
        hospital: Workspace, standin: FeishuStandin, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEISHU_APP_SECRET", "not-the-secret-at-all")
    directive(hospital, "密钥错误", ["director"])
    assert deliver_due(hospital) == 0
    status, _attempts, error = statuses(hospital)["director"]
    assert status == "dead" and "10014" in error and "app_secret is wrong" in error
    assert "not-the-secret-at-all" not in error


def test_card_text_is_plain_and_truncated() -> None:
    channel = FeishuAppChannel("feishu", {"app_id": "cli_x", "app_secret": "y"})
    message = OutgoingMessage("k", "标题", "**粗体** <at id=all></at>\n" + "长" * 20000, link="/relative")
    card = channel.card(message)
    [div] = card["elements"]  # a relative link (no GRIDBASE_PUBLIC_URL) gets no button
    assert div["text"]["tag"] == "plain_text"
    assert len(div["text"]["content"].encode()) <= feishu_app.MAX_CARD_TEXT


def test_an_approval_card_opens_the_record_page_to_decide() -> None:
    channel = FeishuAppChannel("feishu", {"app_id": "cli_x", "app_secret": "y"})
    link = "https://gridbase.example.org/b/complaints/t/complaints/r/rec1#approval"
    card = channel.card(OutgoingMessage("k", "请审批结案：甲", "处理结果：…", link=link, event=APPROVAL_EVENT))
    [button] = card["elements"][-1]["actions"]
    assert button["url"] == link and button["text"]["content"] == "审批（批准 / 驳回）"  # no decision in the link itself


@pytest.mark.parametrize(("options", "fragment"), [
    ({"app_id": "cli_x", "app_secret_env": "S", "base_url": "https://open.feishu.cn/open-apis"}, "no path"),
    ({"app_id": "cli_x", "app_secret_env": "S", "base_url": "http://open.feishu.cn"}, "must use https"),
    ({"app_id": "cli_x"}, "needs the option 'app_secret_env'"),
    ({"app_id": "cli_x", "app_secret_env": "S", "template": "pink"}, "must be one of"),
])
def test_bad_options_are_explained(options: dict[str, Any], fragment: str) -> None:
    errors = FeishuAppChannel.config_errors(options)
    assert any(fragment in e for e in errors), errors


def run_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str], workspace: str) -> tuple[int, str]:
    root = write_workspace(tmp_path / "ws", {}, textwrap.dedent(workspace))
    code = main(["validate", str(root)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


VALIDATE = """\
workspace: w
name: W
people:
  zhao: {name: 赵雷, accounts: ACCOUNTS}
channels:
  feishu: {type: feishu_app, app_id: cli_a1b2, app_secret_env: FEISHU_APP_SECRET}
"""


@pytest.mark.parametrize(("accounts", "ok", "fragment"), [
    ("{feishu: {open_id: ou_abc}}", True, ""),
    ("{feishu: {user_id: zhaolei01}}", True, ""),
    ("{feishu_bot: {open_id: ou_abc}}", False, "unknown channel 'feishu_bot' in the accounts of person 'zhao'"),
    ("{feishu: {openid: ou_abc}}", False, "openid"),
    ("{feishu: {userid: zhaolei01}}", False, "channel 'feishu' (feishu_app) takes open_id, user_id, union_id, not 'userid'"),
])
def test_accounts_in_workspace_yaml_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               accounts: str, ok: bool, fragment: str) -> None:
    code, output = run_validate(tmp_path, capsys, VALIDATE.replace("ACCOUNTS", accounts))
    assert (code == 0) is ok, output
    assert fragment in output
    assert "Traceback" not in output


@pytest.mark.stores  # on PostgreSQL too (tests/conftest.py)
def test_a_person_whose_own_channels_name_the_app_gets_cards_from_every_notify(
        hospital: Workspace, standin: FeishuStandin) -> None:
    rec = directive(hospital, "旧标题", ["director", "qian"])
    deliver_due(hospital)
    hospital.base("office").table("directives").update(rec, {"title": "新标题"}, actor="director")
    process_pending(hospital)
    deliver_due(hospital)
    # `remind` names no channel: the director's own `channels: [feishu]` still reaches Feishu; qian's do not.
    assert [d.card["header"]["title"]["content"] for d in standin.to(ZHAO.open_id)] == [
        "新指令：旧标题", "指令已修改：新标题"]
    assert [d.card["header"]["title"]["content"] for d in standin.to(QIAN.open_id)] == ["新指令：旧标题"]


def test_a_send_repeated_after_a_crash_reaches_the_person_once(standin: FeishuStandin,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEISHU_APP_SECRET", standin.app_secret)
    channel = FeishuAppChannel("feishu", {"app_id": standin.app_id, "app_secret_env": "FEISHU_APP_SECRET",
                                          "base_url": standin.base_url}, allowed_hosts=["127.0.0.1"])
    message = OutgoingMessage("hospital.tell:1:0:director:feishu", "标题", "正文",
                              recipient_ids={"open_id": ZHAO.open_id})
    channel.send(message)
    channel.send(message)  # the same delivery key again, as after a crash in mid-send
    assert standin.message_calls == 2 and len(standin.to(ZHAO.open_id)) == 1
