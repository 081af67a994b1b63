"""Control characters in text over the API: refused (422 INVALID_VALUE_FOR_COLUMN naming the
field and the character), nothing written; tabs and line breaks are accepted."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.parametrize("field, value, code", [
    ("Name", "a\x0bb", "U+000B"),
    ("Name", "\x00", "U+0000"),
    ("Notes", "line one\nline\x01two", "U+0001"),
    ("Notes", "form\x0cfeed", "U+000C"),
])
def test_control_characters_are_refused_naming_field_and_character(api_server: Any, field: str, value: str,
                                                                   code: str) -> None:
    fields = {"Name": "ok", field: value}
    with api_server.client("admin") as c:
        r = c.post("/v0/crm/contacts", json={"fields": fields})
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["type"] == "INVALID_VALUE_FOR_COLUMN"
        assert f'Field "{field}"' in error["message"]
        assert f"contains a control character ({code})" in error["message"] and "remove it" in error["message"]
        assert c.get("/v0/crm/contacts").json()["records"] == []
        created = c.post("/v0/crm/contacts", json={"fields": {"Name": "ok", "Notes": "tab\there\r\nnext"}})
        assert created.status_code == 200, created.text
        rid = created.json()["id"]
        patched = c.patch(f"/v0/crm/contacts/{rid}", json={"fields": {field: value}})
        assert patched.status_code == 422 and code in patched.json()["error"]["message"]
        assert c.get(f"/v0/crm/contacts/{rid}").json()["fields"]["Notes"] == "tab\there\nnext"
