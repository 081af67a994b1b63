"""A JSON body nested too deeply is 422 INVALID_REQUEST_BODY saying so (never a RecursionError
and a 500), and nothing is written; ordinary bodies still work."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


def _too_deep(r: httpx.Response) -> None:
    assert r.status_code == 422, r.text[:300]
    error = r.json()["error"]
    assert error["type"] == "INVALID_REQUEST_BODY", error
    assert "nested too deeply" in error["message"] and "at most 32 levels" in error["message"], error


def _count(ws: Any) -> int:
    return int(ws.storage.conn.execute('SELECT count(*) FROM "crm__contacts"').fetchone()[0])


@pytest.mark.parametrize("body", [
    "[" * 100_000 + "]" * 100_000,
    '{"fields": {"Name": "t", "Notes": ' + "[" * 5_000 + "]" * 5_000 + "}}",
    '{"fields": {"Name": "t", "Notes": ' + '{"a": ' * 5_000 + "1" + "}" * 5_000 + "}}",
    '{"records": [{"fields": {"Name": "t", "Notes": ' + "[" * 40 + "]" * 40 + "}}]}",
])
def test_deeply_nested_bodies_are_422_and_write_nothing(api_server: Any, body: str) -> None:
    before = _count(api_server.ws)
    with api_server.client("admin", **{"Content-Type": "application/json"}) as c:
        _too_deep(c.post("/v0/crm/contacts", content=body))
        _too_deep(c.patch("/v0/crm/contacts", content=body))
        _too_deep(c.post("/v0/crm/contacts/listRecords", content=body))
        # Still serving, and ordinary bodies work.
        r = c.post("/v0/crm/contacts", json={"records": [{"fields": {"Name": "ok", "Tags": ["red"]}}]})
        assert r.status_code == 200, r.text
    assert _count(api_server.ws) == before + 1
