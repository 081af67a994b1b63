"""Errors in Airtable's shape: auth, not-found, invalid values, limits, malformed bodies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)


def _error(r: httpx.Response, status: int, type_: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"]["type"] == type_, body
    return body["error"]


def test_missing_bad_revoked_and_expired_tokens_are_401(api_server: Any) -> None:
    with api_server.client(None) as c:
        _error(c.get("/v0/crm/contacts"), 401, "AUTHENTICATION_REQUIRED")
        _error(c.get("/v0/crm/contacts", headers={"Authorization": "Bearer nope"}), 401, "AUTHENTICATION_REQUIRED")
        _error(c.get("/v0/crm/contacts", headers={"Authorization": "Basic abc"}), 401, "AUTHENTICATION_REQUIRED")
        revoked = api_server.token("admin", revoked=True)
        _error(c.get("/v0/crm/contacts", headers={"Authorization": f"Bearer {revoked}"}), 401, "AUTHENTICATION_REQUIRED")
        expired = api_server.token("admin", expires=datetime.now(UTC) - timedelta(minutes=1))
        _error(c.get("/v0/crm/contacts", headers={"Authorization": f"Bearer {expired}"}), 401, "AUTHENTICATION_REQUIRED")
        later = api_server.token("admin", expires=datetime.now(UTC) + timedelta(days=1))
        assert c.get("/v0/crm/contacts", headers={"Authorization": f"Bearer {later}"}).status_code == 200


def test_disabled_person_is_401_and_last_used_is_recorded(api_server: Any) -> None:
    ws = api_server.ws
    token = api_server.token("li")
    with api_server.client(None, Authorization=f"Bearer {token}") as c:
        assert c.get("/v0/meta/whoami").json() == {"id": "li", "email": "li@example.org"}
        used = ws.storage.conn.execute("SELECT last_used_at FROM _gb_tokens WHERE person = 'li'").fetchone()[0]
        assert used
        with ws.storage.transaction():
            ws.storage.conn.execute("UPDATE _gb_people SET disabled = 1 WHERE key = 'li'")
        _error(c.get("/v0/meta/whoami"), 401, "AUTHENTICATION_REQUIRED")


def test_unknown_table_and_base_are_403_unknown_record_404(api_server: Any) -> None:
    with api_server.client("admin") as c:
        _error(c.get("/v0/crm/nope"), 403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND")
        _error(c.get("/v0/nobase/contacts"), 403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND")
        _error(c.get("/v0/meta/bases/nobase/tables"), 403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND")
        _error(c.get("/v0/crm/contacts/recAAAAAAAAAAAAAA"), 404, "NOT_FOUND")
        _error(c.patch("/v0/crm/contacts/recAAAAAAAAAAAAAA", json={"fields": {"Age": 1}}), 404, "NOT_FOUND")
        _error(c.delete("/v0/crm/contacts/recAAAAAAAAAAAAAA"), 404, "NOT_FOUND")
        _error(c.get("/v0/nowhere/at/all/really"), 404, "NOT_FOUND")


def test_record_of_another_table_or_base_is_not_reachable(api_server: Any) -> None:
    ws = api_server.ws
    secret = ws.base("vault").table("secrets").create({"title": "launch codes"}, actor="admin")
    company = ws.base("crm").table("companies").create({"title": "Acme"}, actor="admin")
    with api_server.client("admin") as c:
        for path in (f"/v0/crm/contacts/{secret['id']}", f"/v0/crm/contacts/{company['id']}",
                     f"/v0/vault/companies/{company['id']}"):
            r = c.get(path)
            assert r.status_code in (403, 404) and "launch" not in r.text and "Acme" not in r.text
        _error(c.delete(f"/v0/crm/contacts/{secret['id']}"), 404, "NOT_FOUND")
        _error(c.patch(f"/v0/crm/contacts/{company['id']}", json={"fields": {"Name": "x"}}), 404, "NOT_FOUND")
    with api_server.client("li") as c:  # li's roles do not reach the vault at all
        _error(c.get(f"/v0/vault/secrets/{secret['id']}"), 403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND")
        assert [b["id"] for b in c.get("/v0/meta/bases").json()["bases"]] == ["crm"]
    assert ws.base("vault").table("secrets").get(secret["id"], actor="admin")["fields"]["title"] == "launch codes"


def test_invalid_values_name_the_field_and_write_nothing(api_server: Any) -> None:
    table = api_server.ws.base("crm").table("contacts")
    with api_server.client("admin") as c:
        e = _error(c.post("/v0/crm/contacts", json={"fields": {"Name": "x", "Age": "many"}}), 422, "INVALID_VALUE_FOR_COLUMN")
        assert '"Age"' in e["message"] and "number" in e["message"]
        e = _error(c.post("/v0/crm/contacts", json={"fields": {"Name": "x", "Status": "Gone"}, "typecast": True}),
                   422, "INVALID_VALUE_FOR_COLUMN")
        assert '"Status"' in e["message"] and "New" in e["message"]
        e = _error(c.post("/v0/crm/contacts", json={"records": [{"fields": {"Name": "ok"}}, {"fields": {"Age": 3}}]}),
                   422, "INVALID_VALUE_FOR_COLUMN")
        assert "Name" in e["message"] and "required" in e["message"]
        e = _error(c.post("/v0/crm/contacts", json={"fields": {"Name": "x", "Bogus": 1}}), 422, "UNKNOWN_FIELD_NAME")
        assert "Bogus" in e["message"]
        e = _error(c.post("/v0/crm/contacts", json={"fields": {"Name": "x", "Number": 5}}), 422, "INVALID_VALUE_FOR_COLUMN")
        e = _error(c.post("/v0/crm/contacts", json={"fields": {"Name": "x", "Company": ["recAAAAAAAAAAAAAA"]}}),
                   422, "INVALID_VALUE_FOR_COLUMN")
        e = _error(c.post("/v0/crm/contacts", json={"fields": {"Name": "x", "Files": [{"url": "https://x.org/a.png"}]}}),
                   422, "INVALID_VALUE_FOR_COLUMN")
        _error(c.post("/v0/crm/contacts", json={"records": [{"fields": {"Name": str(i)}} for i in range(11)]}),
               422, "INVALID_REQUEST_UNKNOWN")
        _error(c.get("/v0/crm/contacts", params={"filterByFormula": "{Nope} = 1"}), 422, "INVALID_FILTER_BY_FORMULA")
        _error(c.get("/v0/crm/contacts", params={"filterByFormula": "AND(("}), 422, "INVALID_FILTER_BY_FORMULA")
        _error(c.get("/v0/crm/contacts", params={"sort[0][field]": "Nope"}), 422, "UNKNOWN_FIELD_NAME")
        _error(c.get("/v0/crm/contacts", params={"pageSize": "101"}), 422, "INVALID_REQUEST_UNKNOWN")
        _error(c.get("/v0/crm/contacts", params={"offset": "garbage!"}), 422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE")
        _error(c.get("/v0/crm/contacts", params={"view": "Nope"}), 422, "VIEW_NAME_NOT_FOUND")
        _error(c.get("/v0/crm/contacts", params={"cellFormat": "csv"}), 422, "INVALID_REQUEST_UNKNOWN")
        _error(c.get("/v0/crm/contacts", params={"bogus": "1"}), 422, "INVALID_REQUEST_UNKNOWN")
    assert table.count(actor="admin") == 0


def test_malformed_and_oversized_bodies(api_server: Any) -> None:
    api_server.app.state.api_max_body = 10_000
    with api_server.client("admin") as c:
        r = c.post("/v0/crm/contacts", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code in (400, 422) and "error" in r.json()
        _error(c.post("/v0/crm/contacts", json=[1, 2]), 422, "INVALID_REQUEST_UNKNOWN")
        _error(c.post("/v0/crm/contacts", json={"records": "x"}), 422, "INVALID_REQUEST_UNKNOWN")
        _error(c.post("/v0/crm/contacts", json={"fields": {"Name": "x" * 20_000}}), 413, "REQUEST_TOO_LARGE")
        r = c.post("/v0/crm/contacts", content=b"\xff\xfe", headers={"Content-Type": "application/json"})
        assert r.status_code == 422
        r = c.post("/v0/crm/contacts", content=b'{"fields": {"Name": "a\\ud800"}}', headers={"Content-Type": "application/json"})
        assert r.status_code == 422, r.text
        r = c.request("OPTIONS", "/v0/crm/contacts")
        assert r.status_code == 405 and "GET" in r.headers["allow"]
        _error(c.post("/v0/crm/contacts", json={"fields": {"Name": "x", "Age": 10**400}}), 422, "INVALID_VALUE_FOR_COLUMN")


def test_rate_limit_answers_429_with_retry_after(api_server: Any) -> None:
    # A burst of 10, then one request every 20 s: however slow the machine, the 11th is refused
    # (at 5/s a loaded machine refilled the bucket between requests and none was; seen in CI)
    api_server.app.state.api_rate = (0.05, 10)
    with api_server.client("admin") as c:
        statuses = [c.get("/v0/meta/whoami").status_code for _ in range(12)]
        assert statuses == [200] * 10 + [429] * 2
        r = c.get("/v0/meta/whoami")
        _error(r, 429, "RATE_LIMIT_REACHED")
        assert int(r.headers["Retry-After"]) >= 1
    with api_server.client("li") as other:  # limits are per token
        assert other.get("/v0/meta/whoami").status_code == 200


def test_engine_errors_answer_in_the_requests_language(api_server: Any) -> None:
    """The message comes from the one catalog: Chinese for Accept-Language zh, else English."""
    with api_server.client("admin") as c:
        body = {"fields": {"Name": "x", "Age": "many"}, "typecast": True}  # typecast: the engine reads it
        e = _error(c.post("/v0/crm/contacts", json=body, headers={"Accept-Language": "zh-CN,zh;q=0.9"}),
                   422, "INVALID_VALUE_FOR_COLUMN")
        assert e["message"] == "字段“Age”不接受所给的值：应为数字，例如 12 或 3.5"
        e = _error(c.post("/v0/crm/contacts", json=body), 422, "INVALID_VALUE_FOR_COLUMN")
        assert e["message"] == 'Field "Age" cannot accept the provided value: expected a number such as 12 or 3.5'
        e = _error(c.post("/v0/crm/contacts", json=body, headers={"Accept-Language": "fr"}),
                   422, "INVALID_VALUE_FOR_COLUMN")
        assert e["message"].startswith('Field "Age"')  # no French catalog: English
