"""Bearer tokens, their scopes and bases, and the per-token rate limit of the REST API.

`Authorization: Bearer <token>`: the token (engine.tokens) must not be revoked or expired,
and its person must exist and not be disabled. The actor is `ws.actor(person)`, so the API
has exactly the engine's permissions. `check_scope` then asks, as Airtable does, whether the
token carries the endpoint's scope and reaches the path's base; if not the answer is 403
INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND, the same as for a base that does not exist.

The rate limit (views.ratelimit, the same limiter as public forms) is a token bucket per API token: by default 5 requests a second with bursts
of 10, as Airtable. `app.state.api_rate` changes it: a number (requests a second; burst is
twice that), a `(rate, burst)` pair, or `None`/`0` to switch it off.

In a hospital group (views.pages.group.ApiRouter) a token of one workspace reaches a base of
another only for a person of the group directory who belongs to both: the router finds the token
in its home workspace and puts it in the request's scope under `VOUCHED`; the base's workspace
then takes it as its own, with the person's roles there (never a client's header: only the
router writes the scope).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from engine import people, tokens
from engine.auth import digest
from engine.errors import NotFoundError
from engine.permissions import Actor
from engine.tokens import Token
from engine.workspace import Workspace
from views.api.errors import ApiError, model_not_found
from views.ratelimit import Limiter, limiter

DEFAULT_RATE = (5.0, 10.0)
VOUCHED = "gridbase.group_token"  # ASGI scope key: a token another workspace of the group found
LAST_USED_EVERY = 60.0  # seconds between writes of a token's last use (engine.tokens) for one token


def _auth_error(message: str = "Authentication required") -> ApiError:
    return ApiError(401, "AUTHENTICATION_REQUIRED", message, {"WWW-Authenticate": 'Bearer realm="gridbase"'})


def _rate_setting(state: Any) -> tuple[float, float] | None:
    value = getattr(state, "api_rate", DEFAULT_RATE)
    if not value:
        return None
    if isinstance(value, (int, float)):
        return float(value), float(value) * 2
    rate, burst = value
    return float(rate), float(burst)


def limiter_for(request: Request) -> Limiter | None:
    """The app's API limiter, rebuilt when `app.state.api_rate` changes."""
    return limiter(request.app.state, "api", _rate_setting(request.app.state))


@dataclass
class TokenInfo:
    id: int
    person: str
    actor: Actor
    token: Token


_last_used: dict[str, float] = {}
_last_used_lock = threading.Lock()


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise _auth_error()
    return secret.strip()


def check_rate(request: Request, secret: str) -> None:
    limiter = limiter_for(request)
    if limiter is None:
        return
    wait = limiter.take(digest(secret))
    if wait > 0:
        raise ApiError(429, "RATE_LIMIT_REACHED", "Rate limit exceeded. Please try again later",
                       {"Retry-After": str(max(1, math.ceil(wait)))})


def authenticate(ws: Workspace, secret: str, vouched: Token | None = None) -> TokenInfo:
    """The token's person as an actor; 401 for unknown, revoked or expired tokens and disabled people.
    `vouched`: the token as the group router found it in the person's home workspace (see above)."""
    if vouched is not None:
        token: Token | None = vouched
        person = people.get(ws.storage, vouched.person)
        place = None if person is None or person["disabled"] else (person["department"], person["departments"])
    else:  # the token and its person's row in one statement
        found = tokens.find_with_place(ws, secret)
        token, place = found if found is not None else (None, None)
    if token is None or not tokens.usable(token, ws.now()) or place is None:
        raise _auth_error("Invalid authentication token")
    try:  # the row just read places the person in the organisation tree: not read again
        actor = ws.actor(token.person, enabled_row=place)
    except NotFoundError:
        raise _auth_error("Invalid authentication token") from None
    if vouched is None:  # its home workspace keeps its last use
        _touch(ws, token.id, digest(secret))
    return TokenInfo(token.id, token.person, actor, token)


def check_scope(token: Token, scope: str | None, base: str | None) -> None:
    """403 in Airtable's shape unless the token has `scope` (None: no scope needed) and reaches `base`."""
    if scope is not None and not token.allows(scope):
        raise model_not_found(f"this token lacks the scope {scope}")
    if base is not None and not token.reaches(base):
        raise model_not_found()


def _touch(ws: Workspace, token_id: int, key: str) -> None:
    """Record when a token was last used (at most once a minute per token)."""
    now = time.monotonic()
    with _last_used_lock:
        if key in _last_used and now - _last_used[key] < LAST_USED_EVERY:
            return
        _last_used[key] = now
    tokens.touch(ws, token_id)
