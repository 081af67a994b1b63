"""The one rate limiter of the web app and the REST API: a token bucket per key.

A key is whatever is limited: an API token's digest (5 requests a second, bursts of 10, as
Airtable), a client address filling public forms (10 a minute). Each bucket holds up to
`burst` tokens and gains `rate` a second; a request takes one, or is told how long to wait.
The limiters of an app live on its `app.state`, one per name, rebuilt when their setting changes.
"""

from __future__ import annotations

import threading
import time
from typing import Any

MAX_KEYS = 10_000  # past this many keys, full (idle) buckets are forgotten so the map stays bounded


class RateLimiter:
    """Token buckets by key; thread-safe."""

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
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate if self.rate > 0 else 30.0
            if len(self._buckets) > MAX_KEYS:
                for idle in [k for k, (t, at) in self._buckets.items()
                             if min(self.burst, t + (now - at) * self.rate) >= self.burst]:
                    del self._buckets[idle]
            return wait


def limiter(state: Any, name: str, setting: tuple[float, float] | None) -> RateLimiter | None:
    """The app's limiter called `name` for `setting` (rate a second, burst); None switches it off."""
    if setting is None:
        return None
    attr = f"rate_limiter_{name}"
    current: RateLimiter | None = getattr(state, attr, None)
    if current is None or (current.rate, current.burst) != (setting[0], max(setting[1], 1.0)):
        current = RateLimiter(*setting)
        setattr(state, attr, current)
    return current
