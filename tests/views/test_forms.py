"""Forms from YAML: prefill and submitter, validation, public forms, QR codes and the poster."""

from __future__ import annotations

import json

import pytest

from tests.views.conftest import csrf_of

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)


def rows(ws):
    return ws.base("cases").table("cases").query(actor="admin").records


def test_signed_in_form_with_prefill_and_submitter(client_for, ws):
    client = client_for("li")
    page = client.get("/f/cases/report")
    assert page.status_code == 200
    assert "How bad" in page.text and "0 to 10" in page.text and 'class="required"' in page.text
    assert 'name="channel"' not in page.text and 'name="reporter"' not in page.text  # prefill stays hidden
    res = client.post("/f/cases/report", data={"title": "Leaky tap", "score": "4", "status": "Open",
                                               "channel": "Desk", "reporter": "admin", "csrf_token": csrf_of(page.text)})
    assert res.status_code == 200 and "Thanks, we got it." in res.text
    (rec,) = rows(ws)
    assert rec["fields"]["title"] == "Leaky tap" and rec["fields"]["channel"] == "QR" and rec["fields"]["reporter"] == "li"
    event = ws.storage.conn.execute("SELECT event, data FROM _gb_outbox ORDER BY id DESC LIMIT 1").fetchone()
    assert event[0] == "created" and json.loads(event[1])["form"] == "report"


def test_form_errors_keep_input(client_for, ws):
    client = client_for("li")
    csrf = csrf_of(client.get("/f/cases/report").text)
    res = client.post("/f/cases/report", data={"title": "Keep <b>me</b>", "score": "99", "csrf_token": csrf})
    assert res.status_code == 422
    assert "at most 10" in res.text and 'value="Keep &lt;b&gt;me&lt;/b&gt;"' in res.text
    res = client.post("/f/cases/report", data={"title": "", "csrf_token": csrf})
    assert res.status_code == 422 and "is required" in res.text
    assert rows(ws) == []


def test_private_form_needs_sign_in(client_for):
    res = client_for(None).get("/f/cases/report", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"].startswith("/login?next=/f/cases/report")
    assert client_for(None).get("/f/cases/report/qr.png", follow_redirects=False).status_code == 303
    # zhao has no grant on the table: for zhao the form does not exist, like the table
    zhao = client_for("zhao")
    assert zhao.get("/f/cases/report").status_code == 404
    res = zhao.post("/f/cases/report", data={"title": "x", "csrf_token": csrf_of(zhao.get("/").text)})
    assert res.status_code == 404


def test_public_form_honeypot_and_rate_limit(client_for, ws, monkeypatch):

    client = client_for(None)
    page = client.get("/f/cases/public")
    assert page.status_code == 200 and 'name="website"' in page.text and 'class="hidden"' in page.text
    csrf = csrf_of(page.text)
    bot = client.post("/f/cases/public", data={"title": "spam", "website": "http://spam", "csrf_token": csrf})
    assert bot.status_code == 200 and rows(ws) == []
    ok = client.post("/f/cases/public", data={"title": "From a phone", "csrf_token": csrf})
    assert ok.status_code == 200
    (rec,) = rows(ws)
    assert rec["fields"]["channel"] == "QR" and "reporter" not in rec["fields"]
    assert client.post("/f/cases/public", data={"title": "x"}).status_code == 403  # CSRF still applies
    statuses = [client.post("/f/cases/public", data={"title": f"n{i}", "csrf_token": csrf}).status_code for i in range(12)]
    assert 429 in statuses and statuses.index(429) == 8  # 10 per minute, counting the 2 above
    assert len(rows(ws)) == 9


def test_public_form_cannot_set_other_fields(client_for, ws):
    client = client_for(None)
    csrf = csrf_of(client.get("/f/cases/public").text)
    client.post("/f/cases/public", data={"title": "t", "secret": "x", "status": "Done", "csrf_token": csrf})
    (rec,) = rows(ws)
    assert "secret" not in rec["fields"] and rec["fields"]["status"] == "Open"


def test_qr_codes_and_poster(client_for):
    client = client_for(None)
    png = client.get("/f/cases/public/qr.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    svg = client.get("/f/cases/public/qr.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    poster = client.get("/f/cases/public/poster")
    assert poster.status_code == 200 and "扫码填写 / Scan to fill in" in poster.text
    assert "http://testserver/f/cases/public" in poster.text
    assert client.get("/f/cases/nope").status_code == 404
