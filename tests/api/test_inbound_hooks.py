"""Inbound webhooks (`POST /hooks/{name}`): a call-centre system posts a phone complaint, signed,
and a record is created or updated once per delivery, through the engine's checks, audited as the hook's person.

Against a real uvicorn server on loopback serving the whole app (gridbase.app.create_app).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from automations.worker import process_pending
from engine import Workspace, inbox
from engine.errors import ConfigError
from gridbase.app import create_app
from tests.api.conftest import serve

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

SECRET = "s3cret-of-the-call-centre"

WORKSPACE = """\
workspace: hooks
name: Hooks
timezone: Asia/Shanghai
roles:
  admin: {name: Admin, admin: true}
  intake: {name: Intake}
people:
  admin: {name: Admin, roles: [admin]}
  call_bot: {name: 呼叫中心, roles: [intake]}
  nobody: {name: Nobody, roles: []}
"""

BASE = """\
base: desk
name: 投诉
tables:
  complaints:
    name: 投诉
    primary: title
    fields:
      call_id: {type: text, name: 来电编号}
      title: {type: text, name: 标题, required: true, max_length: 50}
      phone: {type: phone, name: 电话}
      channel: {type: single_select, name: 渠道, options: [电话, 邮件, 现场]}
      minutes: {type: number, name: 通话分钟}
hooks:
  call_centre:
    name: 呼叫中心来电
    table: complaints
    actor: call_bot
    secret_env: GB_TEST_HOOK_SECRET
    delivery_id: $.call_id
    key: call_id
    fields:
      call_id: $.call_id
      title: $.summary
      phone: $.caller.phone
      minutes: $.calls[0].minutes
      channel: {value: 电话}
    rate_limit: 600
  by_token:
    table: complaints
    actor: call_bot
    secret_env: GB_TEST_HOOK_SECRET
    signature: token
    delivery_id: header:X-Request-Id
    fields: {title: $.title}
  forbidden:
    table: complaints
    actor: nobody
    secret_env: GB_TEST_HOOK_SECRET
    fields: {title: $.title}
roles:
  intake:
    complaints: {access: edit, create: true}
automations:
  tell_admin:
    name: 来电投诉通知
    when: {hook: call_centre, table: complaints}
    do:
      - notify: {to: ["person:admin"], title: "来电投诉：{{ record.title }}"}
"""


@pytest.fixture
def hooked(make_workspace: Callable[..., Workspace], monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Workspace, str]]:
    monkeypatch.setenv("GB_TEST_HOOK_SECRET", SECRET)
    ws = make_workspace({"desk": BASE}, WORKSPACE)
    ws.sync_people()
    server, thread, url = serve(create_app(ws, automations=False))
    try:
        yield ws, url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def post(url: str, payload: Any, *, secret: str = SECRET, hook: str = "call_centre", **headers: str) -> httpx.Response:
    body = json.dumps(payload, ensure_ascii=False).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return httpx.post(f"{url}/hooks/{hook}", content=body, timeout=30,
                      headers={"Content-Type": "application/json", "X-Gridbase-Signature": signature, **headers})


CALL = {"call_id": "C-1001", "summary": "候诊时间过长", "caller": {"phone": "13800138000"}, "calls": [{"minutes": 4}]}


def test_a_signed_delivery_creates_a_record_as_the_hooks_person(hooked: tuple[Workspace, str]) -> None:
    ws, url = hooked
    got = post(url, CALL)
    assert got.status_code == 201, got.text
    assert got.json()["created"] is True and got.json()["duplicate"] is False
    record = ws.base("desk").table("complaints").get(got.json()["id"], actor="admin")
    assert record["fields"]["title"] == "候诊时间过长" and record["fields"]["phone"] == "13800138000"
    assert record["fields"]["channel"] == "电话" and record["fields"]["minutes"] == 4
    history = ws.audit.search(base="desk", table="complaints", record=got.json()["id"])
    assert [e.actor for e in history] == ["call_bot"]  # audited as the hook's person


def test_a_retried_delivery_is_taken_once_and_a_new_one_updates_by_the_key(hooked: tuple[Workspace, str]) -> None:
    ws, url = hooked
    first = post(url, CALL)
    again = post(url, CALL)
    assert again.status_code == 200 and again.json() == {"id": first.json()["id"], "created": True, "duplicate": True}
    table = ws.base("desk").table("complaints")
    assert table.query(actor="admin").total == 1
    # the same call, a later delivery (another delivery id, same key field): the record is updated
    hooked_again = dict(CALL, summary="候诊时间过长（已回电）")
    later = post(url, hooked_again, hook="call_centre")
    assert later.status_code == 200 and later.json()["duplicate"] is True  # delivery id is the call id here
    by_token = httpx.post(f"{url}/hooks/by_token", json={"title": "A"}, timeout=30,
                          headers={"Authorization": f"Bearer {SECRET}", "X-Request-Id": "r-1"})
    assert by_token.status_code == 201
    by_token_again = httpx.post(f"{url}/hooks/by_token", json={"title": "A changed"}, timeout=30,
                                headers={"Authorization": f"Bearer {SECRET}", "X-Request-Id": "r-1"})
    assert by_token_again.json()["duplicate"] is True
    assert table.get(by_token.json()["id"], actor="admin")["fields"]["title"] == "A"


def test_an_update_by_key_field_from_a_new_delivery(hooked: tuple[Workspace, str], make_workspace: Any) -> None:
    ws, url = hooked
    table = ws.base("desk").table("complaints")
    made = table.create({"call_id": "C-2002", "title": "旧标题"}, actor="admin")
    # delivery id C-2002 is new to the hook; the key field finds the record made by hand
    got = post(url, {"call_id": "C-2002", "summary": "新标题", "caller": {}})
    assert got.status_code == 200 and got.json() == {"id": made["id"], "created": False, "duplicate": False}
    fields = table.get(made["id"], actor="admin")["fields"]
    assert fields["title"] == "新标题" and fields["channel"] == "电话"
    assert "phone" not in fields or not fields["phone"]  # a path that finds nothing leaves the field alone


@pytest.mark.parametrize(("change", "status", "fragment"), [
    ({"secret": "wrong"}, 401, "not signed with this hook's secret"),
    ({"hook": "nope"}, 404, "no hook named 'nope'"),
    ({"payload": {"summary": "no id"}}, 400, "no delivery id: $.call_id of the payload is missing"),
    ({"payload": {"call_id": "C-9", "summary": "x" * 60}}, 422, "标题"),
    ({"payload": ["not", "an", "object"]}, 400, "must be a JSON object"),
    ({"hook": "forbidden", "payload": {"title": "t"}}, 403, "'nobody' may not"),
])
def test_bad_deliveries_get_a_clear_4xx_and_store_nothing(hooked: tuple[Workspace, str], change: dict[str, Any],
                                                          status: int, fragment: str) -> None:
    ws, url = hooked
    payload = change.get("payload", CALL)
    headers = {"X-Delivery-Id": "d-1"} if change.get("hook") == "forbidden" else {}
    got = post(url, payload, secret=change.get("secret", SECRET), hook=change.get("hook", "call_centre"), **headers)
    assert got.status_code == status, got.text
    assert fragment in got.json()["error"]["message"]
    assert ws.base("desk").table("complaints").query(actor="admin").total == 0


def test_a_hook_without_its_secret_set_is_not_configured_and_only_the_log_names_the_variable(
        hooked: tuple[Workspace, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    _ws, url = hooked
    monkeypatch.delenv("GB_TEST_HOOK_SECRET")
    with caplog.at_level("WARNING", logger="gridbase.hooks"):
        got = post(url, CALL)
    assert got.status_code == 503 and "not configured" in got.json()["error"]["message"]
    assert "GB_TEST_HOOK_SECRET" not in got.text  # the caller is not told how the server is set up
    assert "GB_TEST_HOOK_SECRET" in caplog.text


def test_the_rate_limit_answers_429_with_retry_after(make_workspace: Callable[..., Workspace],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GB_TEST_HOOK_SECRET", SECRET)
    ws = make_workspace({"desk": BASE.replace("rate_limit: 600", "rate_limit: 1")}, WORKSPACE)
    server, thread, url = serve(create_app(ws, automations=False))
    try:
        answers = [post(url, dict(CALL, call_id=f"C-{n}")) for n in range(8)]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    limited = [a for a in answers if a.status_code == 429]
    assert limited and int(limited[0].headers["retry-after"]) >= 1
    assert "deliveries a minute" in limited[0].json()["error"]["message"]
    assert ws.base("desk").table("complaints").query(actor="admin").total == 8 - len(limited)


@pytest.mark.parametrize(("hook_yaml", "fragment"), [
    ("table: complaint", "unknown table 'complaint'"),
    ("table: complaints\n    actor: ghost", "unknown person 'ghost'"),
    ("table: complaints\n    fields: {titel: $.t}", "unknown field 'titel'"),
    ("table: complaints\n    fields: {title: $.a..b}", "cannot read the path"),
    ("table: complaints\n    key: call_id", "key field 'call_id' is not mapped"),
])
def test_mistakes_in_a_hooks_yaml_are_reported_at_load(make_workspace: Callable[..., Workspace], hook_yaml: str,
                                                       fragment: str) -> None:
    defaults = {"actor": "call_bot", "secret_env": "GB_X", "fields": "{title: $.t}"}
    lines = [hook_yaml] + [f"{k}: {v}" for k, v in defaults.items() if f"{k}:" not in hook_yaml]
    base = BASE.split("hooks:")[0] + "hooks:\n  h:\n    " + "\n    ".join(lines) + "\n" + \
        "roles:" + BASE.split("\nroles:")[1]
    with pytest.raises(ConfigError) as err:
        make_workspace({"desk": base}, WORKSPACE)
    assert fragment in str(err.value)


def test_a_delivery_fires_the_hook_trigger_once_and_a_typed_record_does_not(hooked: tuple[Workspace, str]) -> None:
    ws, url = hooked
    ws.base("desk").table("complaints").create({"title": "前台登记"}, actor="admin")  # typed in: not the hook's
    assert post(url, CALL).status_code == 201
    assert post(url, CALL).json()["duplicate"] is True  # a retry fires nothing more
    process_pending(ws)
    titles = [n["title"] for n in inbox.latest(ws.storage, "admin", 10)]
    assert titles == ["来电投诉：候诊时间过长"]


def test_a_hook_trigger_naming_an_unknown_hook_is_reported(make_workspace: Callable[..., Workspace]) -> None:
    with pytest.raises(ConfigError) as err:
        make_workspace({"desk": BASE.replace("when: {hook: call_centre,", "when: {hook: call_center,")}, WORKSPACE)
    assert "unknown hook 'call_center'" in str(err.value) and "call_centre" in str(err.value)
