"""Signing in and out, the language switch, and the security headers on every response.

A sign-in makes a brand-new session (no fixation): 32 random bytes sent in the signed
`gb_session` cookie (HttpOnly, SameSite=Lax, Secure behind https) and stored only as their
SHA-256 (engine.sessions), with the session's CSRF token and an expiry 12 hours out.
Signing out deletes it. A person who is disabled loses every session at once.

Each password check is first put to the throttle (engine.signins: growing delays per
account and address, and a global ceiling); a refused try gets 429, `Retry-After` and "try
again in N seconds" at once, never a held request. The client address is the connection's
(uvicorn puts the proxy's X-Forwarded-For there only for trusted proxies). Someone with a
second factor, or whom the workspace requires to have one, gets a *pending* sign-in
(`gb_pending` cookie) and goes on to views.pages.second_factor for the code. The login page
also shows a button for each provider of workspace.yaml `sign_in: providers:` (Feishu, OpenID
Connect), whose flow is views.pages.sso.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine import people, second_factor, sessions, signins, sso
from engine.auth import verify_password
from engine.errors import NotFoundError
from views.pages.web import (
    LANG_COOKIE,
    LOCALES,
    SESSION_COOKIE,
    check_csrf,
    current_actor,
    get_ws,
    is_secure,
    render,
    safe_next,
    session,
    signer,
    translator,
)

SESSION_HOURS = sessions.SESSION_HOURS
PENDING_COOKIE = "gb_pending"

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


def client_address(request: Request) -> str:
    """The address the throttle counts: the client's IPv4 address, or its IPv6 /64 (one
    machine may use any address of its /64)."""
    host = request.client.host if request.client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def limits(request: Request) -> signins.Limits:
    """The throttle's numbers: `app.state.signin_limits`, else engine.signins' defaults."""
    found = getattr(request.app.state, "signin_limits", None)
    return found if isinstance(found, signins.Limits) else signins.DEFAULT_LIMITS


def wait_message(request: Request, seconds: int) -> str:
    _ = translator(request)
    if seconds >= 120:
        return str(_("Too many attempts, try again in {minutes} minutes", minutes=(seconds + 59) // 60))
    return str(_("Too many attempts, try again in {seconds} seconds", seconds=seconds))


def too_many(request: Request, template: str, seconds: int, **ctx: object) -> Response:
    """429 with Retry-After and a message in the reader's language; nothing was checked."""
    response = render(request, template, status_code=429, error=wait_message(request, seconds), **ctx)
    response.headers["Retry-After"] = str(seconds)
    return response


def start_session(request: Request, person: str, response: Response) -> None:
    """A new session for `person` (replacing this browser's old one), its signed id in the cookie."""
    ws = get_ws(request)
    old = session(request)
    sid = sessions.start(ws, person, replacing=old["id_hash"] if old is not None else None)
    response.set_cookie(SESSION_COOKIE, signer(ws).sign(sid).decode(), max_age=SESSION_HOURS * 3600,
                        httponly=True, samesite="lax", secure=is_secure(request), path="/")


def needs_second_factor(request: Request, person: str) -> bool:
    ws = get_ws(request)
    if second_factor.enrolled(ws, person):
        return True
    try:
        return second_factor.required(ws, ws.actor(person))
    except NotFoundError:
        return False


def start_pending(request: Request, person: str, target: str) -> Response:
    """Password right, code still due: a pending sign-in and on to the code (or set-up) page."""
    ws = get_ws(request)
    secret = sessions.begin_pending(ws, person)
    page = "/login/code" if second_factor.enrolled(ws, person) else "/login/enrol"
    response = RedirectResponse(f"{page}?next={quote(target, safe='/')}", status_code=303)
    response.set_cookie(PENDING_COOKIE, signer(ws).sign(secret).decode(), max_age=sessions.PENDING_MINUTES * 60,
                        httponly=True, samesite="lax", secure=is_secure(request), path="/")
    return response


def buttons(request: Request) -> list[dict[str, str]]:
    """The login page's provider buttons: {key, label} in the reader's language."""
    _ = translator(request)
    out = []
    for key, provider in get_ws(request).config.sign_in_providers.items():
        if provider.type not in sso.PROTOCOLS:
            continue
        template = sso.PROTOCOLS[provider.type].label
        out.append({"key": key, "label": str(_(template, name=provider.name or key))})
    return out


async def login_page(request: Request) -> Response:
    if current_actor(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return render(request, "login.html", next=safe_next(request.query_params.get("next")), error=None, username="",
                  providers=buttons(request))


async def login(request: Request) -> Response:
    form = await request.form(max_files=0)
    check_csrf(request, form)
    ws = get_ws(request)
    _ = translator(request)
    username = str(form.get("username") or "").strip()[:200]
    password = str(form.get("password") or "")[:1000]
    target = safe_next(str(form.get("next") or ""))
    person = signins.find_person(ws, username) if username else None
    # Count attempts against the person, whatever name or e-mail was typed for them.
    who = signins.account_of(person[0] if person else None, username)
    address = client_address(request)
    with signins.one_at_a_time(who, address):
        verdict = signins.begin(ws, who, address, limits(request))
        if verdict.refused:
            return too_many(request, "login.html", verdict.wait, next=target, username=username,
                            providers=buttons(request))
        ok = bool(person and verify_password(person[1], password) and not person[2])
        pending = ok and person is not None and needs_second_factor(request, person[0])
        if ok and verdict.attempt is not None:
            signins.finish(ws, verdict.attempt, signed_in=not pending)
    if not ok or person is None:
        return render(request, "login.html", status_code=401, next=target, username=username,
                      error=_("Wrong username or password"), providers=buttons(request))
    if pending:
        return start_pending(request, person[0], target)
    response = RedirectResponse(target, status_code=303)
    start_session(request, person[0], response)
    return response


async def logout(request: Request) -> Response:
    form = await request.form(max_files=0)
    check_csrf(request, form)
    sess = session(request)
    if sess is not None:
        sessions.end(get_ws(request), sess["id_hash"])
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
            people.set_locale(ws.storage, actor.key, locale)
    response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax", secure=is_secure(request), path="/")
    return response


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/lang", set_language, methods=["POST"]),
]
