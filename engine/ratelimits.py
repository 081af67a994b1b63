"""Rate limits: a token bucket per key, and the `_gb_rate_buckets` table that shares them.

A key is whatever is limited: an API token's digest (5 requests a second, bursts of 10, as
Airtable), a client address filling public forms (10 a minute), an inbound hook. Each bucket
holds up to `burst` tokens and gains `rate` a second; a request takes one, or is told how long
to wait.

One process (SQLite, the embedded default: one server on one file) keeps its buckets in memory
(`RateLimiter`). Several processes may share a PostgreSQL database (always so: the store's
`several_processes`), or one SQLite file (`gridbase serve --workers N` sets the storage's
`several_processes`), and a request may reach any of them: there the buckets live in the
database (`SharedRateLimiter`), each take one `INSERT ... ON CONFLICT DO UPDATE` in a short
transaction of its own (`storage.write_apart`, beside the writer, so it never waits for a
write), so every process counts against the same bucket. `for_store` picks the one the store
needs. Times are wall-clock seconds (time.time), the same on every machine of a site kept in
step by NTP.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

MAX_KEYS = 10_000  # past this many keys, full (idle) buckets are forgotten so the map stays bounded
PRUNE_EVERY = 1000  # takes of one shared limiter between deletions of its idle (full) buckets


class Limiter(Protocol):
    rate: float
    burst: float

    def take(self, key: str, now: float | None = None) -> float: ...


class RateLimiter:
    """Token buckets by key in this process's memory; thread-safe."""

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
                wait = _wait(tokens, self.rate)
            if len(self._buckets) > MAX_KEYS:
                for idle in [k for k, (t, at) in self._buckets.items()
                             if min(self.burst, t + (now - at) * self.rate) >= self.burst]:
                    del self._buckets[idle]
            return wait


class SharedRateLimiter:
    """Token buckets by key in `_gb_rate_buckets`, shared by every process on the database;
    `name` keeps apart the limiters of one workspace (api, form, a hook's)."""

    def __init__(self, storage: Any, name: str, rate: float, burst: float) -> None:
        self.storage = storage
        self.name = name
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._takes = 0
        old = '"_gb_rate_buckets".'  # the row as it was (PostgreSQL asks for the table's name)
        level = storage.dialect.least("?", f'{old}"tokens" + (? - {old}"at") * ?')
        passes = f"CASE WHEN {level} >= 1 THEN 1 ELSE 0 END"
        # The bucket as it is now (full for a new key), less one token when there is one; the
        # old row's values on the right of SET, as both databases read them.
        self._sql = ('INSERT INTO "_gb_rate_buckets" ("name", "key", "tokens", "at", "taken") VALUES (?, ?, ?, ?, 1) '
                     f'ON CONFLICT ("name", "key") DO UPDATE SET "taken" = {passes}, '
                     f'"tokens" = {level} - {passes}, "at" = ? RETURNING "taken", "tokens"')

    def take(self, key: str, now: float | None = None) -> float:
        """0 if a request may pass now, else the seconds to wait before the next one."""
        now = time.time() if now is None else float(now)
        level = [self.burst, now, self.rate]
        row = self.storage.write_apart(self._sql, [self.name, key, self.burst - 1.0, now, *level, *level, *level, now])
        self._takes += 1
        if self._takes % PRUNE_EVERY == 0:
            self.prune(now)
        taken, tokens = row
        return 0.0 if taken else _wait(float(tokens), self.rate)

    def prune(self, now: float | None = None) -> None:
        """Forget the buckets that have filled up again (as good as new), so the table stays small."""
        now = time.time() if now is None else float(now)
        full_after = self.burst / self.rate if self.rate > 0 else 3600.0
        self.storage.write_apart('DELETE FROM "_gb_rate_buckets" WHERE "name" = ? AND "at" < ?',
                                 [self.name, now - full_after])


def _wait(tokens: float, rate: float) -> float:
    return (1.0 - tokens) / rate if rate > 0 else 30.0


def for_store(storage: Any, name: str, rate: float, burst: float) -> Limiter:
    """The limiter `name` for a workspace on `storage`: shared through the database when several
    processes may serve it, else in this process's memory."""
    if storage.several_processes:
        return SharedRateLimiter(storage, name, rate, burst)
    return RateLimiter(rate, burst)
