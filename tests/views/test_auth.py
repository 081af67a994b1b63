"""Signing in and out: sessions, cookie flags, growing delays, CSRF, disabled people, headers."""

from __future__ import annotations

from datetime import timedelta

from engine.auth import digest
from tests.views.conftest import PASSWORD, csrf_of, sign_in, token


def session_rows(ws):
    return ws.storage.conn.execute("SELECT id_hash, person FROM _gb_sessions").fetchall()


def test_sign_in_and_out(client_for, ws):
    client = client_for(None)
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login?next=/")
    response = sign_in(client, "wang")
    assert response.status_code == 303 and response.headers["location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and "王芳" in home.text and "Case records" in home.text
    assert len(session_rows(ws)) == 1
    out = client.post("/logout", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert session_rows(ws) == []
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_in_by_email(client_for):
    client = client_for(None)
    assert sign_in(client, "wang@example.org").status_code == 303


def test_wrong_password(client_for, ws):
    client = client_for(None)
    response = sign_in(client, "wang", "nope")
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert "gb_session" not in response.cookies
    assert sign_in(client, "nobody", "nope").status_code == 401


def test_cookie_flags_and_new_session_id(client_for, ws):
    client = client_for(None)
    first = sign_in(client, "wang")
    header = first.headers["set-cookie"]
    assert "gb_session=" in header and "HttpOnly" in header and "SameSite=lax" in header.replace("Lax", "lax")
    assert "Secure" not in header
    old_cookie = client.cookies.get("gb_session")
    old_rows = session_rows(ws)
    # Signing in again (even while signed in) gives a fresh id; the old one stops working.
    page = client.get("/login?next=/", follow_redirects=False)
    assert page.status_code == 303
    second = client.post("/login", data={"username": "wang", "password": PASSWORD, "csrf_token": token(client)},
                         follow_redirects=False)
    assert second.status_code == 303
    assert client.cookies.get("gb_session") != old_cookie
    new_rows = session_rows(ws)
    assert len(new_rows) == 1 and new_rows[0][0] != old_rows[0][0]


def test_secure_cookie_behind_https_proxy(client_for):
    client = client_for(None)
    page = client.get("/login")
    response = client.post("/login", data={"username": "wang", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
                           headers={"X-Forwarded-Proto": "https"}, follow_redirects=False)
    assert "Secure" in response.headers["set-cookie"]


def test_session_stored_as_hash_only(client_for, ws):
    client = client_for("wang")
    raw = client.cookies.get("gb_session")
    sid = raw.rsplit(".", 1)[0]
    (id_hash, person), = session_rows(ws)
    assert id_hash == digest(sid) and person == "wang"
    assert sid not in str(ws.storage.conn.execute("SELECT * FROM _gb_sessions").fetchall())


def test_forged_cookie_is_ignored(client_for):
    client = client_for(None)
    client.cookies.set("gb_session", "abc.def")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_growing_delay_instead_of_lockout(client_for, ws):
    client = client_for(None)
    for _ in range(5):
        assert sign_in(client, "wang", "bad").status_code == 401
    waiting = sign_in(client, "wang")  # the right password too must wait, but only half a minute
    seconds = int(waiting.headers["retry-after"])
    assert waiting.status_code == 429 and 25 <= seconds <= 30
    assert f"Too many attempts, try again in {seconds} seconds" in waiting.text
    assert sign_in(client_for(None), "li").status_code == 303  # other usernames are unaffected
    real = ws.clock
    ws.clock = lambda: real() + timedelta(seconds=31)
    try:
        assert sign_in(client, "wang", "bad").status_code == 401  # the sixth failure doubles the wait
        again = sign_in(client, "wang")
        assert again.status_code == 429 and 55 <= int(again.headers["retry-after"]) <= 60
    finally:
        ws.clock = real
    ws.clock = lambda: real() + timedelta(seconds=92)
    try:
        assert sign_in(client, "wang").status_code == 303
    finally:
        ws.clock = real


def test_csrf_required(client_for, ws):
    client = client_for("wang")
    before = ws.storage.conn.execute('SELECT count(*) FROM "cases__cases"').fetchone()[0]
    assert client.post("/b/cases/t/cases/new", data={"title": "x"}).status_code == 403
    assert client.post("/b/cases/t/cases/new", data={"title": "x", "csrf_token": "forged"}).status_code == 403
    assert client.post("/b/cases/t/cases/new", data={"title": "x"}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert ws.storage.conn.execute('SELECT count(*) FROM "cases__cases"').fetchone()[0] == before
    assert client.post("/logout", data={}).status_code == 403
    assert len(session_rows(ws)) == 1
    anon = client_for(None)
    assert anon.post("/login", data={"username": "wang", "password": PASSWORD}).status_code == 403


def test_disabled_person_is_signed_out_at_once(client_for, ws):
    client = client_for("wang")
    assert client.get("/").status_code == 200
    with ws.storage.transaction():
        ws.storage.conn.execute("UPDATE _gb_people SET disabled = 1 WHERE key = 'wang'")
    assert client.get("/", follow_redirects=False).status_code == 303
    assert sign_in(client_for(None), "wang").status_code == 401


def test_expired_session(client_for, ws):
    client = client_for("wang")
    real = ws.clock
    ws.clock = lambda: real() + timedelta(hours=13)
    try:
        assert client.get("/", follow_redirects=False).status_code == 303
    finally:
        ws.clock = real


def test_open_redirect_refused(client_for):
    client = client_for(None)
    page = client.get("/login")
    response = client.post("/login", data={"username": "wang", "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                           "next": "//evil.example/x"}, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_security_headers_everywhere(client_for):
    client = client_for("wang")
    for path in ("/", "/login", "/static/app.js", "/no/such/page", "/b/cases/t/cases"):
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["x-frame-options"] == "DENY"


def test_language_switch(client_for, ws):
    client = client_for("wang")
    assert "Sign out" in client.get("/").text
    response = client.post("/lang", data={"locale": "zh-CN", "next": "/", "csrf_token": token(client)},
                           follow_redirects=False)
    assert response.status_code == 303
    assert "退出登录" in client.get("/").text
    assert ws.storage.conn.execute("SELECT locale FROM _gb_people WHERE key = 'wang'").fetchone()[0] == "zh-CN"
    anon = client_for(None)
    anon.post("/lang", data={"locale": "zh-CN", "csrf_token": token(anon, "/login")})
    assert "登录" in anon.get("/login").text
