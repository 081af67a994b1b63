"""The rate limiters of the web app and the REST API, one per name on the app's `app.state`.

The buckets themselves are the engine's (`engine.ratelimits`: in this process's memory on
SQLite, in the database when several processes share a PostgreSQL database, so a client is
counted the same whichever process its request reaches). Each limiter is rebuilt when its
setting changes. `take` may ask the database: call it through `views.threads.on_worker`.
"""

from __future__ import annotations

from typing import Any

from engine.ratelimits import Limiter, RateLimiter, for_store

__all__ = ["Limiter", "RateLimiter", "limiter"]


def limiter(state: Any, name: str, setting: tuple[float, float] | None) -> Limiter | None:
    """The app's limiter called `name` for `setting` (rate a second, burst); None switches it off."""
    if setting is None:
        return None
    attr = f"rate_limiter_{name}"
    current: Limiter | None = getattr(state, attr, None)
    if current is None or (current.rate, current.burst) != (setting[0], max(setting[1], 1.0)):
        current = for_store(state.ws.storage, name, *setting)
        setattr(state, attr, current)
    return current
