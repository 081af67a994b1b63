"""Record ids: `rec` + 9 time-ordered characters (microseconds) + 5 random ones; and the
text of a moment as the engine stores it (`utcnow_text`: UTC, to the second).

Ids made one after another sort one after another, so the unique index on `_id` and the
audit index grow at their end instead of splitting pages all over a big table. Every id of
a process gets its own microsecond, so ids of one process never collide; the random tail
keeps ids of different processes apart.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
ORDERED = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # sorts like its values
_RANDOM_CHARS = bytes(ord(ALPHABET[b % 62]) for b in range(256))
_PAIRS = [a + b for a in ORDERED for b in ORDERED]  # the last two time digits at once
_last_stamp = 0
_stamp_lock = threading.Lock()


def _reserve(n: int) -> int:
    """The first of `n` consecutive microsecond stamps that no earlier id of this process used."""
    global _last_stamp
    with _stamp_lock:
        stamp = max(time.time_ns() // 1000, _last_stamp + 1)
        _last_stamp = stamp + n - 1
    return stamp


def _digits(number: int, width: int) -> str:
    out = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        out.append(ORDERED[digit])
    return "".join(reversed(out))


def new_record_ids(n: int) -> list[str]:
    """`n` new record ids, in the order they sort (one clock reading, one read of the random source)."""
    if n <= 0:
        return []
    start = _reserve(n)
    tails = os.urandom(5 * n).translate(_RANDOM_CHARS).decode("ascii")
    out = []
    high, head = -1, ""
    for i in range(n):
        top, low = divmod(start + i, 3844)
        if top != high:
            high, head = top, "rec" + _digits(top, 7)
        out.append(head + _PAIRS[low] + tails[5 * i:5 * i + 5])
    return out


def new_record_id() -> str:
    return new_record_ids(1)[0]


def utcnow_text(moment: datetime) -> str:
    """A moment as stored in system columns and tables: `2026-11-25T01:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
