"""Second factors in the browser: the code step of a sign-in, setting a factor up, and the
person's own security page (second factor, recovery codes, password).

Words: a *pending* sign-in (engine.sessions) is someone whose password was right and who
still owes a code; its signed secret rides in the `gb_pending` cookie. `/login/code` takes a
6-digit code or a recovery code; `/login/enrol` makes someone whom the workspace requires to
have a factor set one up before their first session. `/account/security` is the signed-in
person's page. Every code check goes through the same throttle as passwords
(engine.signins), so codes cannot be guessed faster than passwords.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import segno
from itsdangerous import BadSignature
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine import second_factor, sessions, signins
from engine.auth import hash_password, password_problem, verify_password
from engine.errors import NotFoundError
from views.pages.auth import PENDING_COOKIE, client_address, limits, start_session, too_many
from views.pages.web import (
    check_csrf,
    get_ws,
    is_secure,
    render,
    require_actor,
    safe_next,
    signer,
    translator,
)


def _pending(request: Request) -> tuple[str, str] | None:
    """(secret, person) of this browser's live pending sign-in, or None."""
    raw = request.cookies.get(PENDING_COOKIE)
    if not raw:
        return None
    ws = get_ws(request)
    try:
        secret = signer(ws).unsign(raw).decode()
    except (BadSignature, UnicodeDecodeError):
        return None
    person = sessions.pending_person(ws, secret)
    return (secret, person) if person else None


def _qr(request: Request, secret: str, person: str) -> dict[str, str]:
    uri = second_factor.provisioning_uri(secret, person, get_ws(request).config.name)
    return {"secret": secret, "qr": segno.make(uri, error="m").svg_data_uri(scale=4), "uri": uri}


def _signed_in(request: Request, person: str, pending_secret: str, target: str, response: Response) -> Response:
    ws = get_ws(request)
    sessions.end_pending(ws, pending_secret)
    start_session(request, person, response)
    response.delete_cookie(PENDING_COOKIE, path="/", httponly=True, samesite="lax", secure=is_secure(request))
    return response


def _throttled(request: Request, person: str) -> signins.Verdict:
    return signins.begin(get_ws(request), signins.account_of(person, person), client_address(request), limits(request))


# -- the code step of a sign-in ----------------------------------------------------------------
async def code_page(request: Request) -> Response:
    pending = _pending(request)
    target = safe_next(request.query_params.get("next"))
    if pending is None:
        return RedirectResponse("/login", status_code=303)
    if not second_factor.enrolled(get_ws(request), pending[1]):
        return RedirectResponse(f"/login/enrol?next={quote(target, safe='/')}", status_code=303)
    return render(request, "login_code.html", next=target, error=None)


async def code_submit(request: Request) -> Response:
    form = await request.form(max_files=0)
    check_csrf(request, form)
    ws = get_ws(request)
    _ = translator(request)
    target = safe_next(str(form.get("next") or ""))
    pending = _pending(request)
    if pending is None:
        return RedirectResponse("/login", status_code=303)
    secret, person = pending
    if not second_factor.enrolled(ws, person):  # a factor still being set up is not asked for here
        return RedirectResponse(f"/login/enrol?next={quote(target, safe='/')}", status_code=303)
    code = str(form.get("code") or "")[:100]
    digits = "".join(code.split())
    with signins.one_at_a_time(signins.account_of(person, person), client_address(request)):
        verdict = _throttled(request, person)
        if verdict.refused:
            return too_many(request, "login_code.html", verdict.wait, next=target)
        ok = (second_factor.check_code(ws, person, digits) if len(digits) == 6 and digits.isdigit()
              else second_factor.use_recovery_code(ws, person, code))
        if ok and verdict.attempt is not None:
            signins.finish(ws, verdict.attempt)
    if not ok:
        return render(request, "login_code.html", status_code=401, next=target,
                      error=_("Wrong or used code; enter the 6 digits your app shows now, or a recovery code"))
    return _signed_in(request, person, secret, target, RedirectResponse(target, status_code=303))


async def enrol_page(request: Request) -> Response:
    pending = _pending(request)
    target = safe_next(request.query_params.get("next"))
    if pending is None:
        return RedirectResponse("/login", status_code=303)
    ws = get_ws(request)
    if second_factor.enrolled(ws, pending[1]):
        return RedirectResponse(f"/login/code?next={quote(target, safe='/')}", status_code=303)
    key = second_factor.enrol(ws, pending[1])
    return render(request, "second_factor_setup.html", action="/login/enrol", next=target, error=None, required=True,
                  **_qr(request, key, pending[1]))


async def enrol_submit(request: Request) -> Response:
    form = await request.form(max_files=0)
    check_csrf(request, form)
    ws = get_ws(request)
    _ = translator(request)
    target = safe_next(str(form.get("next") or ""))
    pending = _pending(request)
    if pending is None:
        return RedirectResponse("/login", status_code=303)
    secret, person = pending
    found = second_factor.factor(ws, person)
    if found is None or found.confirmed:
        return RedirectResponse(f"/login/code?next={quote(target, safe='/')}", status_code=303)
    page = {"action": "/login/enrol", "next": target, "required": True, **_qr(request, found.secret, person)}
    with signins.one_at_a_time(signins.account_of(person, person), client_address(request)):
        verdict = _throttled(request, person)
        if verdict.refused:
            return too_many(request, "second_factor_setup.html", verdict.wait, **page)
        codes = second_factor.confirm(ws, person, str(form.get("code") or "")[:100])
        if codes is not None and verdict.attempt is not None:
            signins.finish(ws, verdict.attempt)
    if codes is None:
        return render(request, "second_factor_setup.html", status_code=401, error=_("Wrong code; try the one your app shows now"),
                      **page)
    response = render(request, "recovery_codes.html", codes=codes, next=target)
    return _signed_in(request, person, secret, target, response)


# -- the person's own security page ------------------------------------------------------------
def _security(request: Request, person: str, status_code: int = 200, **ctx: Any) -> Response:
    ws = get_ws(request)
    found = second_factor.factor(ws, person)
    try:
        required = second_factor.required(ws, ws.actor(person))
    except NotFoundError:
        required = False
    context: dict[str, Any] = {"enrolled": bool(found and found.confirmed), "required": required,
                               "codes_left": second_factor.recovery_codes_left(ws, person), "error": None,
                               "message": None}
    context.update(ctx)
    return render(request, "account_security.html", status_code=status_code, **context)


async def security_page(request: Request) -> Response:
    actor = require_actor(request)
    return _security(request, actor.key)


async def security_enrol(request: Request) -> Response:
    actor = require_actor(request)
    form = await request.form(max_files=0)
    check_csrf(request, form)
    ws = get_ws(request)
    if second_factor.enrolled(ws, actor.key):
        return RedirectResponse("/account/security", status_code=303)
    key = second_factor.enrol(ws, actor.key)
    return render(request, "second_factor_setup.html", action="/account/security/confirm", next="/account/security",
                  error=None, required=False, **_qr(request, key, actor.key))


async def security_confirm(request: Request) -> Response:
    actor = require_actor(request)
    form = await request.form(max_files=0)
    check_csrf(request, form)
    ws = get_ws(request)
    _ = translator(request)
    found = second_factor.factor(ws, actor.key)
    if found is None or found.confirmed:
        return RedirectResponse("/account/security", status_code=303)
    page = {"action": "/account/security/confirm", "next": "/account/security", "required": False,
            **_qr(request, found.secret, actor.key)}
    verdict = _throttled(request, actor.key)
    if verdict.refused:
        return too_many(request, "second_factor_setup.html", verdict.wait, **page)
    codes = second_factor.confirm(ws, actor.key, str(form.get("code") or "")[:100])
    if codes is None or verdict.attempt is None:
        return render(request, "second_factor_setup.html", status_code=401, error=_("Wrong code; try the one your app shows now"),
                      **page)
    signins.finish(ws, verdict.attempt)
    return render(request, "recovery_codes.html", codes=codes, next="/account/security")


async def security_change(request: Request) -> Response:
    """New recovery codes, or turning the second factor off: both need a current code."""
    actor = require_actor(request)
    form = await request.form(max_files=0)
    check_csrf(request, form)
    ws = get_ws(request)
    _ = translator(request)
    action = request.url.path.rsplit("/", 1)[-1]
    verdict = _throttled(request, actor.key)
    if verdict.refused:
        return _security(request, actor.key, status_code=429, error=_("Too many attempts, try again in {seconds} seconds",
                                                                       seconds=verdict.wait))
    if action == "off" and second_factor.required(ws, actor):
        return _security(request, actor.key, status_code=403,
                         error=_("This workspace requires a second factor for you; it cannot be turned off"))
    if not second_factor.enrolled(ws, actor.key) or not second_factor.check_code(ws, actor.key, str(form.get("code") or "")):
        return _security(request, actor.key, status_code=401, error=_("Wrong code; try the one your app shows now"))
    assert verdict.attempt is not None
    signins.finish(ws, verdict.attempt)
    if action == "off":
        second_factor.reset(ws, actor.key)
        return _security(request, actor.key, message=_("Two-step sign-in is off"))
    return render(request, "recovery_codes.html", codes=second_factor.new_recovery_codes(ws, actor.key),
                  next="/account/security")


async def change_password(request: Request) -> Response:
    actor = require_actor(request)
    form = await request.form(max_files=0)
    check_csrf(request, form)
    ws = get_ws(request)
    _ = translator(request)
    current, new, again = (str(form.get(k) or "")[:1000] for k in ("current", "new", "again"))
    verdict = _throttled(request, actor.key)
    if verdict.refused:
        return _security(request, actor.key, status_code=429, error=_("Too many attempts, try again in {seconds} seconds",
                                                                       seconds=verdict.wait))
    person = signins.find_person(ws, actor.key)
    if person is None or not verify_password(person[1], current) or verdict.attempt is None:
        return _security(request, actor.key, status_code=401, error=_("Your current password is not right"))
    signins.finish(ws, verdict.attempt)
    if new != again:
        return _security(request, actor.key, status_code=422, error=_("The two new passwords differ"))
    email = signins.email_of(ws, actor.key)
    problem = password_problem(new, person=actor.key, email=email)
    if problem:
        return _security(request, actor.key, status_code=422, error=_(problem))
    signins.set_password(ws, actor.key, hash_password(new))
    response = RedirectResponse("/account/security?changed=1", status_code=303)
    start_session(request, actor.key, response)  # every other session ended with the old password
    return response


routes = [
    Route("/login/code", code_page, methods=["GET"]),
    Route("/login/code", code_submit, methods=["POST"]),
    Route("/login/enrol", enrol_page, methods=["GET"]),
    Route("/login/enrol", enrol_submit, methods=["POST"]),
    Route("/account/security", security_page, methods=["GET"]),
    Route("/account/security/enrol", security_enrol, methods=["POST"]),
    Route("/account/security/confirm", security_confirm, methods=["POST"]),
    Route("/account/security/recovery", security_change, methods=["POST"]),
    Route("/account/security/off", security_change, methods=["POST"]),
    Route("/account/password", change_password, methods=["POST"]),
]
