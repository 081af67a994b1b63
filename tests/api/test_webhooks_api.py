"""Airtable's webhooks API: pyairtable's webhook methods against a real server, signed pings
to a real receiver, payloads as the webhook's owner may read them, expiry and refresh."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pyairtable import Api
from pyairtable.models.webhook import WebhookNotification

from automations import worker
from automations.delivery import deliver_due
from engine import tokens, webhooks
from engine.channels import DeliveryError, OutgoingMessage
from engine.tokens import RECORDS_READ
from plugins.channels.webhook import WebhookChannel
from tests_support import free_port
from views.api.ids import field_id, table_id

TABLE_DATA = {"options": {"filters": {"dataTypes": ["tableData"]}}}


class Receiver:
    """A real HTTP server on loopback that keeps every POST (headers and raw body)."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.status = 204
        received = self.got
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/airtable-hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, count: int, seconds: float = 20) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + seconds
        while len(self.got) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.got

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def api_for(server: Any, person: str) -> Api:
    return Api(server.token(person), endpoint_url=server.url, timeout=(5, 60), retry_strategy=None)


def fid(key: str, table: str = "contacts") -> str:
    return field_id("crm", table, key)


def process(ws: Any) -> None:
    """What the worker does on a pass: turn events into payloads, send the due pings."""
    worker.process_pending(ws)
    deliver_due(ws)


def test_pyairtable_webhooks_end_to_end_with_signed_pings(api_server: Any, receiver: Receiver) -> None:
    ws = api_server.ws
    ws.config.allowed_hosts.append("127.0.0.1")  # the receiver is on loopback
    api = api_for(api_server, "admin")
    base = api.base("crm")
    made = base.add_webhook(receiver.url, {"options": {
        "filters": {"dataTypes": ["tableData"], "recordChangeScope": table_id("crm", "contacts")},
        "includes": {"includePreviousCellValues": True}}})
    assert made.id.startswith("ach") and made.mac_secret_base64
    assert made.expiration_time is not None
    assert timedelta(days=6, hours=23) < made.expiration_time - datetime.now(UTC) <= timedelta(days=7)

    service = worker.start(ws, poll=0.1, scheduler=False)
    try:
        table = api.table("crm", "Contacts")
        rec = table.create({"Name": "Ann", "Age": 41, "Status": "New"})
        api.table("crm", "Companies").create({"Title": "Acme"})  # another table: not watched
        pings = receiver.wait(1)
        assert pings, "no notification reached the receiver"
        headers, body = pings[0]
        note = WebhookNotification.from_request(body.decode("ascii"), headers["x-airtable-content-mac"],
                                                made.mac_secret_base64)
        assert (note.base.id, note.webhook.id) == ("crm", made.id)
        with pytest.raises(ValueError, match="failed validation"):
            WebhookNotification.from_request(body.decode("ascii"), "hmac-sha256=" + "0" * 64, made.mac_secret_base64)

        table.update(rec["id"], {"Age": 42})
        table.delete(rec["id"])
        deadline = time.monotonic() + 20
        while base.webhook(made.id).cursor_for_next_payload < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop(service)

    hook = base.webhook(made.id)
    assert hook.cursor_for_next_payload == 4 and hook.are_notifications_enabled and hook.is_hook_enabled
    assert hook.notification_url == receiver.url
    assert hook.last_successful_notification_time is not None
    assert hook.specification.options.filters.record_change_scope == table_id("crm", "contacts")

    created, updated, deleted = list(hook.payloads())
    assert [p.cursor for p in (created, updated, deleted)] == [1, 2, 3]
    tbl = table_id("crm", "contacts")
    assert created.payload_format == "v0" and created.action_metadata is not None
    assert created.action_metadata.source == "client"
    assert created.action_metadata.source_metadata["user"]["id"] == "admin"
    cells = created.changed_tables_by_id[tbl].created_records_by_id[rec["id"]].cell_values_by_field_id
    assert cells[fid("name")] == "Ann" and cells[fid("age")] == 41 and cells[fid("status")] == "New"
    change = updated.changed_tables_by_id[tbl].changed_records_by_id[rec["id"]]
    assert change.current.cell_values_by_field_id[fid("age")] == 42
    assert change.previous is not None and change.previous.cell_values_by_field_id[fid("age")] == 41
    assert deleted.changed_tables_by_id[tbl].destroyed_record_ids == [rec["id"]]
    assert updated.base_transaction_number > created.base_transaction_number

    assert [p.cursor for p in hook.payloads(cursor=3)] == [3]
    assert len(list(hook.payloads(limit=2))) == 2
    hook.disable_notifications()
    assert base.webhook(made.id).are_notifications_enabled is False
    hook.enable_notifications()
    hook.delete()
    assert base.webhooks() == []


def test_a_masked_or_hidden_field_never_reaches_a_handlers_webhook(api_server: Any) -> None:
    """li is a handler: Phone is masked for them, Fee hidden; their webhook shows neither."""
    ws = api_server.ws
    li = api_for(api_server, "li").base("crm")
    made = li.add_webhook("https://hooks.example.org/in", TABLE_DATA)
    admin = api_for(api_server, "admin").table("crm", "Contacts")
    rec = admin.create({"Name": "Bo", "Phone": "13800001234", "Fee": 99.5, "Age": 7})
    admin.update(rec["id"], {"Phone": "13900005678", "Fee": 100})
    admin.update(rec["id"], {"Fee": 101})  # nothing li may read changed
    process(ws)

    payloads = list(li.webhook(made.id).payloads())
    assert len(payloads) == 3
    text = json.dumps([p.model_dump(mode="json") for p in payloads], ensure_ascii=False)
    for secret in ("13800001234", "13900005678", "99.5", "100", "101", fid("fee")):
        assert secret not in text, secret
    tbl = table_id("crm", "contacts")
    cells = payloads[0].changed_tables_by_id[tbl].created_records_by_id[rec["id"]].cell_values_by_field_id
    assert cells[fid("name")] == "Bo" and cells[fid("phone")].endswith("1234") and "*" in cells[fid("phone")]
    changed = payloads[1].changed_tables_by_id[tbl].changed_records_by_id[rec["id"]]
    assert set(changed.current.cell_values_by_field_id) == {fid("phone")}
    assert payloads[2].changed_tables_by_id == {}  # a change to Fee alone tells li nothing

    # A webhook is its owner's: another person does not see it; an admin does.
    assert api_for(api_server, "zhao").base("crm").webhooks() == []
    assert [h.id for h in api_for(api_server, "admin").base("crm").webhooks()] == [made.id]


def test_a_viewer_sees_only_rows_and_fields_they_may_read(api_server: Any) -> None:
    """zhao may read Active contacts only, and never Email."""
    ws = api_server.ws
    zhao = api_for(api_server, "zhao").base("crm")
    made = zhao.add_webhook("https://hooks.example.org/in", TABLE_DATA)
    admin = api_for(api_server, "admin").table("crm", "Contacts")
    hidden = admin.create({"Name": "Closed one", "Status": "Closed", "Email": "c@example.org"})
    shown = admin.create({"Name": "Active one", "Status": "Active", "Email": "a@example.org"})
    admin.delete(hidden["id"])
    process(ws)

    payloads = list(zhao.webhook(made.id).payloads())
    assert len(payloads) == 3
    text = json.dumps([p.model_dump(mode="json") for p in payloads], ensure_ascii=False)
    assert hidden["id"] not in text and "Closed one" not in text and "c@example.org" not in text and "a@example.org" not in text
    tbl = table_id("crm", "contacts")
    assert payloads[0].changed_tables_by_id == {} and payloads[2].changed_tables_by_id == {}
    assert shown["id"] in payloads[1].changed_tables_by_id[tbl].created_records_by_id


def test_a_webhook_watches_only_what_its_owner_may_read(api_server: Any) -> None:
    with api_server.client("li") as c:
        assert c.post("/v0/bases/vault/webhooks", json={"specification": TABLE_DATA}).status_code == 403
        assert c.get("/v0/bases/vault/webhooks").status_code == 403
        spec = {"options": {"filters": {"dataTypes": ["tableData"], "recordChangeScope": "contacts",
                                        "watchDataInFieldIds": [fid("fee")]}}}
        r = c.post("/v0/bases/crm/webhooks", json={"specification": spec})
        assert r.status_code == 422 and "unknown field" in r.json()["error"]["message"]
        assert fid("fee") not in r.text.replace(f"'{fid('fee')}'", "")  # only echoes what was sent
    with api_server.client("admin") as c:
        made = c.post("/v0/bases/vault/webhooks", json={"specification": TABLE_DATA}).json()
    with api_server.client("li") as c:  # someone else's webhook does not exist for li
        assert c.get(f"/v0/bases/vault/webhooks/{made['id']}/payloads").status_code == 403
        assert c.delete(f"/v0/bases/crm/webhooks/{made['id']}").status_code == 403


def test_watched_fields_and_change_types_filter_payloads(api_server: Any) -> None:
    ws = api_server.ws
    base = api_for(api_server, "admin").base("crm")
    made = base.add_webhook("https://hooks.example.org/in", {"options": {"filters": {
        "dataTypes": ["tableData"], "recordChangeScope": "Contacts", "watchDataInFieldIds": [fid("age")],
        "changeTypes": ["update"]}, "includes": {"includeCellValuesInFieldIds": [fid("name")]}}})
    table = api_for(api_server, "admin").table("crm", "Contacts")
    rec = table.create({"Name": "Cy", "Age": 1})  # an add: not watched
    table.update(rec["id"], {"Status": "Active"})  # not a watched field
    table.update(rec["id"], {"Age": 2})
    process(ws)
    payloads = list(base.webhook(made.id).payloads())
    assert len(payloads) == 1
    change = payloads[0].changed_tables_by_id[table_id("crm", "contacts")].changed_records_by_id[rec["id"]]
    assert change.current.cell_values_by_field_id == {fid("age"): 2}
    assert change.unchanged is not None and change.unchanged.cell_values_by_field_id == {fid("name"): "Cy"}


def test_expiry_and_refresh(api_server: Any) -> None:
    ws = api_server.ws
    start = datetime.now(UTC)
    base = api_for(api_server, "admin").base("crm")
    made = base.add_webhook("https://hooks.example.org/in", TABLE_DATA)
    hook = base.webhook(made.id)
    ws.clock = lambda: start + timedelta(days=6)
    hook.extend_expiration()
    assert base.webhook(made.id).expiration_time > start + timedelta(days=12, hours=23)
    ws.clock = lambda: start + timedelta(days=12)
    api_for(api_server, "admin").table("crm", "Contacts").create({"Name": "Late"})
    process(ws)
    assert base.webhook(made.id).cursor_for_next_payload == 2
    ws.clock = lambda: start + timedelta(days=14)  # past the refreshed expiry: gone
    assert base.webhooks() == []
    with api_server.client("admin") as c:
        assert c.get(f"/v0/bases/crm/webhooks/{made.id}/payloads").status_code == 403
        assert c.post(f"/v0/bases/crm/webhooks/{made.id}/refresh").status_code == 403
    api_for(api_server, "admin").table("crm", "Contacts").create({"Name": "Later"})
    process(ws)  # an expired webhook records nothing, and nothing fails


def test_pings_wait_for_the_one_not_sent_yet(api_server: Any) -> None:
    """Many changes before a ping goes out make one ping: the receiver fetches them all."""
    ws = api_server.ws
    base = api_for(api_server, "admin").base("crm")
    made = base.add_webhook("https://hooks.example.org/in", TABLE_DATA)
    table = api_for(api_server, "admin").table("crm", "Contacts")
    table.batch_create([{"Name": f"n{i}"} for i in range(5)])
    worker.process_pending(ws)
    state = webhooks.last_ping(ws, webhooks.get(ws, "crm", made.id))  # type: ignore[arg-type]
    assert state is not None and state["status"] == "pending"
    assert base.webhook(made.id).cursor_for_next_payload == 6
    assert [r["key"] for r in worker.delivery.list_deliveries(ws)] == [f"airtable-webhook:{made.id}:1"]


def test_a_failed_ping_is_retried_and_reported(api_server: Any, receiver: Receiver) -> None:
    ws = api_server.ws
    ws.config.allowed_hosts.append("127.0.0.1")
    base = api_for(api_server, "admin").base("crm")
    made = base.add_webhook(receiver.url, TABLE_DATA)
    receiver.status = 503
    api_for(api_server, "admin").table("crm", "Contacts").create({"Name": "Dee"})
    process(ws)
    assert len(receiver.got) == 1
    hook = base.webhook(made.id)
    result = hook.last_notification_result
    assert result is not None and result.success is False and result.will_be_retried is True
    assert result.error is not None and "503" in result.error.message
    assert hook.last_successful_notification_time is None
    receiver.status = 204
    ws.clock = lambda: datetime.now(UTC) + timedelta(hours=2)  # past the backoff
    deliver_due(ws)
    hook = base.webhook(made.id)
    assert len(receiver.got) == 2 and receiver.got[0][1] == receiver.got[1][1]  # the same ping again
    assert hook.last_notification_result is not None and hook.last_notification_result.success
    assert hook.last_notification_result.retry_number == 1 and hook.last_successful_notification_time is not None


def test_a_ping_to_an_address_not_allowed_is_a_dead_letter(api_server: Any, receiver: Receiver) -> None:
    """Loopback is not in `allowed_hosts` here: the ping is refused, never sent, and said so."""
    base = api_for(api_server, "admin").base("crm")
    made = base.add_webhook(receiver.url, TABLE_DATA)
    api_for(api_server, "admin").table("crm", "Contacts").create({"Name": "Fay"})
    process(api_server.ws)
    assert receiver.got == []
    result = base.webhook(made.id).last_notification_result
    assert result is not None and result.success is False and not result.will_be_retried
    assert result.error is not None and "refused" in result.error.message
    assert list(base.webhook(made.id).payloads())  # the payload is there to fetch all the same


def test_the_airtable_format_needs_a_base64_secret() -> None:
    channel = WebhookChannel("hook", {"url": "https://hooks.example.org/in", "format": "airtable", "secret": "not b64!"})
    with pytest.raises(DeliveryError, match="not base64") as info:
        channel.send(OutgoingMessage(idempotency_key="k", title="", body="", data={"base": {"id": "crm"}}))
    assert info.value.retryable is False


def test_a_broken_webhook_does_not_hold_automations_back(api_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    ws = api_server.ws
    made = api_for(api_server, "admin").base("crm").add_webhook("https://hooks.example.org/in", TABLE_DATA)
    with ws.storage.transaction() as conn:  # a row no release of Gridbase writes
        conn.execute("UPDATE _gb_webhooks SET spec = '{}' WHERE id = ?", (made.id,))
    ws.base("crm").table("contacts").create({"name": "Eve"}, actor="admin")
    process(ws)
    assert ws.outbox.pending() == []
    assert "webhook payloads of outbox event" in caplog.text


@pytest.mark.parametrize(("body", "fragment"), [
    ({}, "'specification' is required"),
    ({"specification": {"options": {"filters": {}}}}, "dataTypes"),
    ({"specification": {"options": {"filters": {"dataTypes": ["cells"]}}}}, "tableData"),
    ({"specification": {"options": {"filters": {"dataTypes": ["tableData"], "recordChangeScope": "nope"}}}},
     "no table 'nope'"),
    ({"specification": {"options": {"filters": {"dataTypes": ["tableData"], "changeTypes": ["move"]}}}},
     "add, remove, update"),
    ({"notificationUrl": "ftp://example.org/x", "specification": TABLE_DATA}, "notificationUrl"),
    ({"specification": TABLE_DATA, "colour": 1}, "unknown key 'colour'"),
])
def test_a_bad_specification_gets_a_clear_422(api_server: Any, body: dict[str, Any], fragment: str) -> None:
    with api_server.client("admin") as c:
        r = c.post("/v0/bases/crm/webhooks", json=body)
    assert r.status_code == 422, r.text
    assert fragment in r.json()["error"]["message"]


def test_bad_cursor_limit_and_scope(api_server: Any) -> None:
    with api_server.client("admin") as c:
        made = c.post("/v0/bases/crm/webhooks", json={"specification": TABLE_DATA}).json()
        for query in ("cursor=0", "cursor=x", "limit=51", "limit=0", "colour=1"):
            r = c.get(f"/v0/bases/crm/webhooks/{made['id']}/payloads?{query}")
            assert r.status_code == 422, (query, r.text)
        empty = c.get(f"/v0/bases/crm/webhooks/{made['id']}/payloads").json()
        assert empty == {"payloads": [], "cursor": 1, "mightHaveMore": False}
        assert c.post(f"/v0/bases/crm/webhooks/{made['id']}/enableNotifications", json={"enable": "yes"}).status_code == 422
    secret, _ = tokens.create(api_server.ws, "admin", name="narrow", scopes=[RECORDS_READ])
    r = httpx.get(f"{api_server.url}/v0/bases/crm/webhooks", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 403 and "webhook:manage" in r.json()["error"]["message"]
