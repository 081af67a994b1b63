"""Bearer tokens and the per-token rate limit of the REST API.

`Authorization: Bearer <token>`: the token's SHA-256 (`engine.auth.digest`) is looked up in
`_gb_tokens`; it must not be revoked or expired, and its person must exist and not be
disabled. The actor is `ws.actor(person)`, so the API has exactly the engine's permissions.

The rate limit is a token bucket per API token: by default 5 requests a second with bursts
of 10, as Airtable. `app.state.api_rate` changes it: a number (requests a second; burst is
twice that), a `(rate, burst)` pair, or `None`/`0` to switch it off.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from engine.auth import digest
from engine.errors import NotFoundError
from engine.permissions import Actor
from engine.workspace import Workspace
from views.api_errors import ApiError

DEFAULT_RATE = (5.0, 10.0)
LAST_USED_EVERY = 60.0  # seconds between writes of _gb_tokens.last_used_at for one token


def _auth_error(message: str = "Authentication required") -> ApiError:
    return ApiError(401, "AUTHENTICATION_REQUIRED", message, {"WWW-Authenticate": 'Bearer realm="gridbase"'})


class RateLimiter:
    """Token buckets keyed by API-token digest; thread-safe."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """0 if a request may pass now, else the seconds to wait before the next one."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate if self.rate > 0 else 30.0


def _rate_setting(state: Any) -> tuple[float, float] | None:
    value = getattr(state, "api_rate", DEFAULT_RATE)
    if not value:
        return None
    if isinstance(value, (int, float)):
        return float(value), float(value) * 2
    rate, burst = value
    return float(rate), float(burst)


def limiter_for(request: Request) -> RateLimiter | None:
    """The app's limiter, rebuilt when `app.state.api_rate` changes."""
    state = request.app.state
    setting = _rate_setting(state)
    if setting is None:
        return None
    current: RateLimiter | None = getattr(state, "api_limiter", None)
    if current is None or (current.rate, current.burst) != (setting[0], max(setting[1], 1.0)):
        current = RateLimiter(*setting)
        state.api_limiter = current
    return current


@dataclass
class TokenInfo:
    id: int
    person: str
    actor: Actor


_last_used: dict[str, float] = {}
_last_used_lock = threading.Lock()


def _expired(expires_at: str | None, now: datetime) -> bool:
    if not expires_at:
        return False
    try:
        moment = datetime.fromisoformat(str(expires_at).replace("Z", "+00:00"))
    except ValueError:
        return True
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment <= now


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


def authenticate(ws: Workspace, secret: str) -> TokenInfo:
    """The token's person as an actor; 401 for unknown, revoked or expired tokens and disabled people."""
    conn = ws.storage.conn
    with ws.storage.reading():
        row = conn.execute("SELECT id, person, expires_at, revoked_at FROM _gb_tokens WHERE token_hash = ?",
                           (digest(secret),)).fetchone()
        if row is None or row[3] or _expired(row[2], ws.now()):
            raise _auth_error("Invalid authentication token")
        person = conn.execute("SELECT disabled FROM _gb_people WHERE key = ?", (row[1],)).fetchone()
    if person is None or person[0]:
        raise _auth_error("Invalid authentication token")
    try:
        actor = ws.actor(str(row[1]))
    except NotFoundError:
        raise _auth_error("Invalid authentication token") from None
    _touch(ws, int(row[0]), digest(secret))
    return TokenInfo(int(row[0]), str(row[1]), actor)


def _touch(ws: Workspace, token_id: int, key: str) -> None:
    """Record when a token was last used (at most once a minute per token)."""
    now = time.monotonic()
    with _last_used_lock:
        if key in _last_used and now - _last_used[key] < LAST_USED_EVERY:
            return
        _last_used[key] = now
    stamp = ws.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with ws.storage.transaction():
        ws.storage.conn.execute("UPDATE _gb_tokens SET last_used_at = ? WHERE id = ?", (stamp, token_id))
