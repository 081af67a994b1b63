"""Control characters in text: a form refuses them naming the character (and keeps nothing),
and the XLSX export of a table never fails on such a value stored from before (the character
becomes U+FFFD; every other value is exported as it is)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook

from tests_support import csrf_of


def _titles(ws: Any) -> list[str]:
    return [r["fields"].get("title") for r in ws.base("cases").table("cases").query(actor="admin").records]


@pytest.mark.parametrize("bad, code", [("a\x0bb", "U+000B"), ("nul\x00here", "U+0000"), ("\x01start", "U+0001")])
def test_form_refuses_control_characters_naming_them(client_for: Any, ws: Any, bad: str, code: str) -> None:
    client = client_for("li")
    csrf = csrf_of(client.get("/f/cases/report").text)
    res = client.post("/f/cases/report", data={"title": bad, "score": "4", "csrf_token": csrf})
    assert res.status_code == 422, res.status_code
    assert f"contains a control character ({code})" in res.text and "remove it" in res.text
    assert _titles(ws) == []
    # Tabs and line breaks are ordinary text.
    ok = client.post("/f/cases/report", data={"title": "tab\there", "score": "4", "csrf_token": csrf})
    assert ok.status_code == 200 and _titles(ws) == ["tab\there"]


def test_xlsx_export_replaces_characters_a_spreadsheet_cannot_hold(client_for: Any, ws: Any) -> None:
    table = ws.base("cases").table("cases")
    bad = table.create({"title": "placeholder", "secret": "fine"}, actor="admin")
    good = table.create({"title": "=1+1", "secret": "tab\there"}, actor="admin")
    # A value stored before control characters were refused (bypassing the record service);
    # PostgreSQL cannot store NUL in text at all, so there the value goes without it.
    nul = "\x00" if ws.storage.dialect.name == "sqlite" else ""
    with ws.storage.transaction() as conn:
        conn.execute('UPDATE "cases__cases" SET title = ?, secret = ? WHERE _id = ?',
                     (f"vt\x0bnul{nul}esc\x1b", "bell\x07", bad["id"]))
    client = client_for("admin")
    res = client.get("/b/cases/t/cases/export.xlsx")
    assert res.status_code == 200, res.text[:300]
    sheet = load_workbook(io.BytesIO(res.content), read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    by_title = {r[header.index("Title")]: r for r in rows[1:]}
    shown = "vt\ufffdnul" + "\ufffd" * len(nul) + "esc\ufffd"
    assert set(by_title) == {shown, "'=1+1"}
    assert by_title[shown][header.index("Secret note")] == "bell\ufffd"
    assert by_title["'=1+1"][header.index("Secret note")] == "tab\there"
    # Nothing stored changed: the export only writes the file.
    assert table.get(bad["id"], actor="admin")["fields"]["title"] == f"vt\x0bnul{nul}esc\x1b"
    assert table.get(good["id"], actor="admin")["fields"]["secret"] == "tab\there"
