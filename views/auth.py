"""Signing in and out, the language switch, and the security headers on every response.

A sign-in makes a brand-new session (no fixation): 32 random bytes sent in the signed
`gb_session` cookie (HttpOnly, SameSite=Lax, Secure behind https) and stored only as their
SHA-256 in `_gb_sessions`, with the session's CSRF token and an expiry 12 hours out.
Signing out deletes the row. A person who is disabled loses every session at once, because
`views.web.session` joins `_gb_people.disabled` on each request. *Lockout*: five failed
attempts for one username within 15 minutes refuse that username for 15 minutes
(`_gb_login_attempts`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.auth import digest, new_secret, verify_password
from views.web import (
    LANG_COOKIE,
    LOCALES,
    SESSION_COOKIE,
    check_csrf,
    current_actor,
    get_ws,
    is_secure,
    now_text,
    render,
    safe_next,
    session,
    signer,
    translator,
)

SESSION_HOURS = 12
LOCK_LIMIT = 5
LOCK_WINDOW = timedelta(minutes=15)

SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                 b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeadersMiddleware:
    """Adds the CSP and friends to every HTTP response (pages, fragments, files, errors)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def locked_minutes(request: Request, who: str) -> int:
    """Minutes until `who` may try again (0: not locked)."""
    ws = get_ws(request)
    conn = ws.storage.conn
    last_ok = conn.execute("SELECT max(at) FROM _gb_login_attempts WHERE who = ? AND ok = 1", (who,)).fetchone()[0]
    fails = [_parse(r[0]) for r in conn.execute(
        "SELECT at FROM _gb_login_attempts WHERE who = ? AND ok = 0 AND at > ? ORDER BY at DESC LIMIT ?",
        (who, last_ok or "", LOCK_LIMIT)).fetchall()]
    if len(fails) < LOCK_LIMIT or fails[0] - fails[-1] > LOCK_WINDOW:
        return 0
    remaining = fails[0] + LOCK_WINDOW - ws.now()
    return max(0, math.ceil(remaining.total_seconds() / 60))


def _find_person(request: Request, username: str) -> tuple[str, str | None, int] | None:
    row = get_ws(request).storage.conn.execute(
        "SELECT key, password_hash, disabled FROM _gb_people WHERE key = ? OR (email IS NOT NULL AND lower(email) = lower(?)) "
        "ORDER BY key = ? DESC LIMIT 1", (username, username, username)).fetchone()
    return (row[0], row[1], int(row[2])) if row else None


def start_session(request: Request, person: str, response: Response) -> None:
    """A new session for `person`: row in `_gb_sessions`, signed id in the cookie."""
    ws = get_ws(request)
    sid = new_secret()
    now = ws.now()
    old = session(request)
    with ws.storage.transaction():
        conn = ws.storage.conn
        if old is not None:
            conn.execute("DELETE FROM _gb_sessions WHERE id_hash = ?", (old["id_hash"],))
        conn.execute("DELETE FROM _gb_sessions WHERE expires_at <= ?", (now_text(ws),))
        conn.execute("INSERT INTO _gb_sessions (id_hash, person, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                     (digest(sid), person, new_secret(), now_text(ws),
                      (now + timedelta(hours=SESSION_HOURS)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")))
    response.set_cookie(SESSION_COOKIE, signer(ws).sign(sid).decode(), max_age=SESSION_HOURS * 3600,
                        httponly=True, samesite="lax", secure=is_secure(request), path="/")


async def login_page(request: Request) -> Response:
    if current_actor(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return render(request, "login.html", next=safe_next(request.query_params.get("next")), error=None, username="")


async def login(request: Request) -> Response:
    form = await request.form(max_files=0)
    check_csrf(request, form)
    ws = get_ws(request)
    _ = translator(request)
    username = str(form.get("username") or "").strip()[:200]
    password = str(form.get("password") or "")[:1000]
    target = safe_next(str(form.get("next") or ""))
    person = _find_person(request, username) if username else None
    # Count attempts against the person, whatever name or e-mail was typed for them.
    who = f"person:{person[0]}" if person else username.lower()
    minutes = locked_minutes(request, who) if who else 0
    if minutes:
        return render(request, "login.html", status_code=429, next=target, username=username,
                      error=_("Too many attempts, try again in {minutes} minutes", minutes=minutes))
    verified = verify_password(person[1] if person else None, password)
    ok = bool(person and verified and not person[2])
    with ws.storage.transaction():
        ws.storage.conn.execute("INSERT INTO _gb_login_attempts (who, at, ok) VALUES (?, ?, ?)",
                                (who, now_text(ws), int(ok)))
    if not ok or person is None:
        minutes = locked_minutes(request, who)
        error = (_("Too many attempts, try again in {minutes} minutes", minutes=minutes) if minutes
                 else _("Wrong username or password"))
        return render(request, "login.html", status_code=401, next=target, username=username, error=error)
    response = RedirectResponse(target, status_code=303)
    start_session(request, person[0], response)
    return response


async def logout(request: Request) -> Response:
    form = await request.form(max_files=0)
    check_csrf(request, form)
    sess = session(request)
    ws = get_ws(request)
    if sess is not None:
        with ws.storage.transaction():
            ws.storage.conn.execute("DELETE FROM _gb_sessions WHERE id_hash = ?", (sess["id_hash"],))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_secure(request))
    return response


async def set_language(request: Request) -> Response:
    form = await request.form(max_files=0)
    check_csrf(request, form)
    locale = str(form.get("locale") or "")
    target = safe_next(str(form.get("next") or ""))
    response = RedirectResponse(target, status_code=303)
    if locale not in LOCALES:
        return response
    actor = current_actor(request)
    if actor is not None:
        ws = get_ws(request)
        with ws.storage.transaction():
            ws.storage.conn.execute("UPDATE _gb_people SET locale = ? WHERE key = ?", (locale, actor.key))
    response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax", secure=is_secure(request), path="/")
    return response


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/lang", set_language, methods=["POST"]),
]
