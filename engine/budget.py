"""Time budgets: how long the engine may work on one query before it gives up.

Words: a *deadline* is a moment on `time.monotonic()`'s clock, one per thread. `within(seconds)`
sets it for a block (an inner block can only bring it closer); `expired()` says whether it has
passed, and `check()` raises `QueryTimeout` once it has. The store opens a budget around each
read (`Storage.reading`), its connections' progress handler stops a statement past the
deadline, and the formula evaluator checks it between function calls, so a query that is slow
in SQL or in Python-side formula evaluation ends with `QueryTimeout` instead of holding a
worker thread, or the interpreter, for as long as it likes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from engine.errors import QueryTimeout

_local = threading.local()  # .deadline (monotonic seconds or None), .seconds (the budget, for messages)


@contextmanager
def within(seconds: float | None) -> Iterator[None]:
    """Run the block with a deadline `seconds` from now (None or 0: no budget of its own)."""
    outer, outer_seconds = deadline(), getattr(_local, "seconds", 0.0)
    if seconds and seconds > 0:
        mine = time.monotonic() + seconds
        if outer is None or mine < outer:
            _local.deadline, _local.seconds = mine, seconds
    try:
        yield
    finally:
        _local.deadline, _local.seconds = outer, outer_seconds


def deadline() -> float | None:
    """This thread's deadline, or None when it has no budget."""
    return getattr(_local, "deadline", None)


def expired(now: float | None = None) -> bool:
    """Whether this thread's deadline has passed."""
    limit = getattr(_local, "deadline", None)
    return limit is not None and (time.monotonic() if now is None else now) > limit


def timeout() -> QueryTimeout:
    """The error for this thread's budget running out."""
    return QueryTimeout(getattr(_local, "seconds", 0.0))


def check(now: float | None = None) -> None:
    """Raise QueryTimeout if this thread's deadline has passed."""
    if expired(now):
        raise timeout()
