"""Inbound webhooks read as a caller without the secret, and as a caller whose payload tries more than
its mapping: /hooks/call_centre of the dental example (engine.hooks, views/api/hooks.py).

A caller without the secret gets 401 and uses up nothing of the sender's rate; a payload never
turns the key field into a filter operator; a hook writes only what its person may write and never
touches a record its person may not read. And the outbound side (Airtable-style webhooks): a
payload shows a record only while its owner may read it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from automations import process_pending
from engine import PermissionDenied, ValidationError
from engine.hooks import hooks_of, receive
from tests.security.conftest import Env

SECRET = "sec-review-call-centre"


@pytest.fixture
def secret(env: Env, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CALL_CENTRE_SECRET", SECRET)
    env.app.state.__dict__.get("hook_limiters", {}).pop("call_centre", None)  # each test starts with a full bucket
    yield SECRET


def post(env: Env, payload: Any, *, key: str | None = SECRET, **headers: str) -> Any:
    body = json.dumps(payload, ensure_ascii=False).encode()
    sent = {"Content-Type": "application/json", **headers}
    if key is not None:
        sent["X-Gridbase-Signature"] = "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return env.web("admin").__class__(env.app, base_url="http://testserver").post(
        "/hooks/call_centre", content=body, headers=sent)


def complaints(env: Env) -> Any:
    return env.ws.base("complaints").table("complaints")


def test_unsigned_callers_do_not_use_up_the_senders_rate(env: Env, secret: str) -> None:
    before = complaints(env).count(actor="system")
    for n in range(30):  # the hook takes 120 a minute, 12 at once
        r = post(env, {"call_id": f"SR-FLOOD-{n}", "summary": "flood"}, key="not-the-secret")
        assert r.status_code == 401, r.status_code
        assert SECRET not in r.text
    r = post(env, {"call_id": "SR-REAL-1", "summary": "MKRHOOKREAL", "detail": "d"})
    assert r.status_code == 201, r.text
    assert complaints(env).count(actor="system") == before + 1


def test_a_payload_cannot_turn_the_key_into_a_filter_operator(env: Env) -> None:
    """call_id {"neq": "x"} would match every complaint the hook's person may read: refused with a 4xx."""
    hook = replace(hooks_of(env.ws.config)["call_centre"], delivery_id="header:X-Delivery-Id")
    receive(env.ws, hook, {"call_id": "SR-KEY-1", "summary": "MKRHOOKONE", "detail": "d"}, "sr-key-1")
    for n, sneaky in enumerate(({"neq": "nothing"}, {"contains": "SR-"}, ["SR-KEY-1"], {"is_empty": False})):
        with pytest.raises(ValidationError) as err:
            receive(env.ws, hook, {"call_id": sneaky, "summary": "overwritten", "detail": "x"}, f"sr-op-{n}")
        assert "call_id" in err.value.errors
    got = complaints(env).query(actor="system", filter={"call_id": "SR-KEY-1"}).records
    assert [r["fields"]["title"] for r in got] == ["MKRHOOKONE"]


def test_a_hook_writes_only_what_its_person_may_write(env: Env) -> None:
    """A mapping to `owner` (the intake role may not write it) is refused whole: nothing is stored."""
    base = hooks_of(env.ws.config)["call_centre"]
    hook = replace(base, delivery_id="header:X-Delivery-Id", fields={**base.fields, "owner": "$.owner"})
    before = complaints(env).count(actor="system")
    with pytest.raises((PermissionDenied, ValidationError)):  # a field it may not read is "unknown"
        receive(env.ws, hook, {"call_id": "SR-OWNER-1", "summary": "MKRHOOKOWNER", "owner": "wang_jun"}, "sr-own-1")
    assert complaints(env).count(actor="system") == before
    # and a retry with the field left out is taken (the refused delivery was not noted as taken)
    ok = receive(env.ws, base, {"call_id": "SR-OWNER-1", "summary": "MKRHOOKOWNER"}, "sr-own-1")
    assert ok.created and not ok.duplicate


def test_a_hook_never_updates_a_record_its_person_may_not_read(env: Env, secret: str) -> None:
    """C2 (reported by xu_ting) carries a call id; the call centre's person reads only its own rows:
    a delivery with that call id makes a new complaint and leaves C2 alone."""
    c2 = env.records["C2"]
    complaints(env).update(c2, {"call_id": "SR-C2-CALL"}, actor="admin")
    r = post(env, {"call_id": "SR-C2-CALL", "summary": "overwrite attempt", "detail": "x"})
    assert r.status_code == 201, r.text
    assert r.json()["id"] != c2 and "MKRCTITL02" not in r.text
    assert complaints(env).get(c2, actor="system")["fields"]["title"] == "MKRCTITL02"


def test_hook_answers_name_no_record_values(env: Env, secret: str) -> None:
    """What a signed caller is told about a refused value names the field, not other records' values."""
    r = post(env, {"call_id": "SR-BAD-PHONE", "summary": "x", "caller": {"phone": "not a phone"}})
    assert r.status_code == 422, r.text
    assert not env.leaks("staff", r.text)
    assert post(env, [1, 2]).status_code == 400
    assert post(env, {"summary": "no id"}).status_code == 400


# -- Airtable webhooks: payloads are read as their owner may read them *now* -------------------------
def test_webhook_payloads_hide_a_record_its_owner_no_longer_reads(env: Env) -> None:
    """zz_staff watches 投诉 (they read the ones they reported). A complaint is theirs, is changed,
    then given to another reporter: none of its payloads may show it to zz_staff any more."""
    api = env.api("staff")
    made = api.post("/v0/bases/complaints/webhooks",
                    json={"specification": {"options": {"filters": {"dataTypes": ["tableData"]}}}})
    assert made.status_code == 200, made.text
    hook = made.json()["id"]
    try:
        table = complaints(env)
        rid = table.create({"title": "MKRWHTITLE", "reporter": "zz_staff", "description": "MKRWHDESC1"}, actor="system")["id"]
        table.update(rid, {"description": "MKRWHDESC2", "patient_name": "MKRWHPNAME"}, actor="admin")
        process_pending(env.ws)
        before = api.get(f"/v0/bases/complaints/webhooks/{hook}/payloads")
        assert before.status_code == 200 and "MKRWHDESC2" in before.text  # theirs: they see it
        table.update(rid, {"reporter": "xu_ting"}, actor="admin")
        process_pending(env.ws)
        after = api.get(f"/v0/bases/complaints/webhooks/{hook}/payloads")
        assert after.status_code == 200
        for needle in ("MKRWHTITLE", "MKRWHDESC1", "MKRWHDESC2", "MKRWHPNAME", rid):
            assert needle not in after.text, needle
        assert not env.leaks("staff", after.text)
        # another person's webhook is not theirs to read
        assert env.api("service").get(f"/v0/bases/complaints/webhooks/{hook}/payloads").status_code in (403, 404)
    finally:
        api.delete(f"/v0/bases/complaints/webhooks/{hook}")
