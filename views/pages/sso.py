"""The pages of signing in with Feishu or an OpenID Connect provider (engine.sso runs the protocol).

`GET /login/sso/{provider}?next=…` starts the authorization-code flow: a fresh state, nonce and
PKCE verifier go, with the page to return to, into the signed `gb_sso` cookie (HttpOnly,
SameSite=Lax, ten minutes, path /login/sso) and the browser to the provider. The provider sends
it back to `GET /login/sso/{provider}/callback` — the exact redirect URI registered with the
provider — with `code` and `state`: the cookie is spent at once (one flow, one callback), the
state must be the cookie's and one the server issued and has not taken before (engine.sso
`take`: a replayed callback is refused even by a browser that kept the cookie), the code is exchanged (a code is good once, the provider refuses a
replay) and the ID token's nonce must be the cookie's. Then it is a password sign-in without
the password: the attempt is throttled and logged by engine.signins (as `person:<key>`, or
`<provider>:<subject>` for someone unknown), a disabled or unknown person gets a clear page
(403) in the reader's language, a person with a second factor (or who must have one) goes on
to the code page with a pending sign-in, and everyone else gets a brand-new session cookie.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from itsdangerous import BadSignature
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine import people, signins, sso
from engine.errors import GridbaseError
from views.pages.auth import (
    client_address,
    limits,
    needs_second_factor,
    start_pending,
    start_session,
    too_many,
)
from views.pages.web import current_actor, get_ws, is_secure, render, safe_next, signer

FLOW_COOKIE = "gb_sso"
FLOW_PATH = "/login/sso"
FLOW_SECONDS = 600


def redirect_uri(request: Request, key: str) -> str:
    base = str(request.base_url).rstrip("/")
    if is_secure(request) and base.startswith("http://"):
        base = "https://" + base[len("http://"):]
    return f"{base}{FLOW_PATH}/{key}/callback"


def refused(request: Request, error: Any, status_code: int = 403) -> Response:
    response = render(request, "sso_refused.html", status_code=status_code, error=error)
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH, httponly=True, samesite="lax", secure=is_secure(request))
    return response


async def start(request: Request) -> Response:
    key = request.path_params["provider"]
    target = safe_next(request.query_params.get("next"))
    if current_actor(request) is not None:
        return RedirectResponse(target, status_code=303)
    ws = get_ws(request)
    try:
        url, pending = sso.begin(ws, key, redirect_uri(request, key), target, seconds=FLOW_SECONDS)
    except GridbaseError as e:
        return refused(request, e.message, 404 if e.code == "sso_unknown_provider" else 502)
    flow = {"p": pending.provider, "s": pending.state, "n": pending.nonce, "v": pending.verifier, "t": pending.target,
            "e": int(time.time()) + FLOW_SECONDS}
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(FLOW_COOKIE, signer(ws).sign(json.dumps(flow, separators=(",", ":"))).decode(),
                        max_age=FLOW_SECONDS, httponly=True, samesite="lax", secure=is_secure(request), path=FLOW_PATH)
    return response


def flow_of(request: Request, key: str) -> sso.Pending | None:
    """The flow this browser started with `key`, if its cookie is intact, fresh and its state is the one sent back."""
    raw = request.cookies.get(FLOW_COOKIE)
    if not raw:
        return None
    try:
        flow = json.loads(signer(get_ws(request)).unsign(raw))
    except (BadSignature, ValueError):
        return None
    state = request.query_params.get("state") or ""
    if (not isinstance(flow, dict) or flow.get("p") != key or int(flow.get("e", 0)) < time.time()
            or not secrets.compare_digest(str(flow.get("s", "")).encode(), state.encode())):
        return None
    return sso.Pending(key, str(flow["s"]), str(flow["n"]), str(flow["v"]), safe_next(str(flow.get("t") or "")))


async def callback(request: Request) -> Response:
    key = request.path_params["provider"]
    ws = get_ws(request)
    pending = flow_of(request, key)
    if pending is None or not sso.take(ws, pending):
        return refused(request, GridbaseError(code="sso_bad_state").message, 400)
    if request.query_params.get("error") or not request.query_params.get("code"):
        problem = str(request.query_params.get("error_description") or request.query_params.get("error") or "no code")
        return refused(request, sso.provider_error(problem).message, 502)
    try:
        who = sso.identity(ws, pending, redirect_uri(request, key), str(request.query_params["code"]))
    except GridbaseError as e:
        return refused(request, e.message, 502)
    person = sso.match_person(ws, key, who)
    account = signins.account_of(person, f"{key}:{who.subject}")
    address = client_address(request)
    with signins.one_at_a_time(account, address):
        verdict = signins.begin(ws, account, address, limits(request))
        if verdict.refused:
            response = too_many(request, "sso_refused.html", verdict.wait)
            response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH, httponly=True, samesite="lax", secure=is_secure(request))
            return response
        row = people.get(ws.storage, person) if person else None
        if row is None:
            return refused(request, GridbaseError(code="sso_unknown_person", params={"name": who.name or who.subject}).message)
        if row["disabled"]:
            return refused(request, GridbaseError(code="sso_disabled_person", params={"name": row["name"]}).message)
        pending_code = needs_second_factor(request, row["key"])
        if verdict.attempt is not None:
            signins.finish(ws, verdict.attempt, signed_in=not pending_code)
    if pending_code:
        response = start_pending(request, row["key"], pending.target)
    else:
        response = RedirectResponse(pending.target, status_code=303)
        start_session(request, row["key"], response)
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH, httponly=True, samesite="lax", secure=is_secure(request))
    return response


routes = [
    Route("/login/sso/{provider:str}", start, methods=["GET"]),
    Route("/login/sso/{provider:str}/callback", callback, methods=["GET"]),
]
