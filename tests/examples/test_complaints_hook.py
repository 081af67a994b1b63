"""信访投诉: the call centre posts a phone complaint to /hooks/call_centre; it lands in 投诉登记 once, as
呼叫中心, with 渠道 电话, and 质控部 is told as for any new complaint."""

from __future__ import annotations

import hashlib
import hmac
import json
import warnings
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from automations.worker import process_pending
from engine import Workspace, inbox

SECRET = "call-centre-secret"


def deliver(client: TestClient, payload: dict[str, Any]) -> Any:
    body = json.dumps(payload, ensure_ascii=False).encode()
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return client.post("/hooks/call_centre", content=body,
                       headers={"Content-Type": "application/json", "X-Gridbase-Signature": sig})


def test_a_phone_complaint_from_the_call_centre(ws: Workspace, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALL_CENTRE_SECRET", SECRET)
    call = {"call_id": "CC-20260615-001", "summary": "种植复诊等候时间过长", "detail": "患者来电称候诊超过一小时。",
            "caller": {"name": "刘女士", "phone": "13912345678"}}
    with TestClient(app, base_url="http://testserver") as client:
        made = deliver(client, call)
        assert made.status_code == 201, made.text
        assert deliver(client, call).json()["duplicate"] is True
    complaints = ws.base("complaints").table("complaints")
    record = complaints.get(made.json()["id"], actor="admin")["fields"]
    assert record["channel"] == "电话" and record["patient_phone"] == "13912345678"
    assert record["reporter"] == "call_centre_bot"
    assert complaints.query(actor="admin", filter={"call_id": "CC-20260615-001"}).total == 1
    process_pending(ws)
    told = [n["title"] for n in inbox.latest(ws.storage, "chen_jing", 20)]
    assert any("种植复诊等候时间过长" in t for t in told), told
