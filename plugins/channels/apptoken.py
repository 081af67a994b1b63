"""The access-token cache the app channels share (Feishu, WeCom, DingTalk apps).

Each platform hands an app a token that lives about two hours and limits how often it may be
asked for one. `TokenCache` keeps one token per key (the API origin and the app's id) for the
whole process, gives it out while it has more than `margin` seconds left, and otherwise calls
`fetch()` for a new one; `forget()` drops a token the platform called invalid or expired, so
the next `get()` fetches again. One lock per cache: two workers never fetch at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

clock = time.monotonic  # tests move time forward by replacing this


class TokenCache:
    """Tokens by key, each with the moment (on `clock`) it stops being valid."""

    def __init__(self, margin: float) -> None:
        self.margin = margin
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...], fetch: Callable[[], tuple[str, float]], *, fresh: bool = False) -> str:
        """The cached token for `key`, or a new one from `fetch()` → (token, seconds it lives)."""
        with self._lock:
            cached = self._tokens.get(key)
            if cached and not fresh and clock() < cached[1] - self.margin:
                return cached[0]
            token, lives = fetch()
            self._tokens[key] = (token, clock() + lives)
            return token

    def forget(self, key: tuple[str, ...], token: str) -> None:
        """Drop `token` if it is still the one cached for `key`."""
        with self._lock:
            if self._tokens.get(key, ("", 0.0))[0] == token:
                del self._tokens[key]
