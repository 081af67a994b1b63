"""Limits of one formula evaluation: how long it may take and how long a text it may make.

Words: an evaluation has EVAL_SECONDS at most and, when it runs for a query, no more than
what is left of the query's time budget (engine.budget). `tick()` is called between steps
(each function call and operator, each match of REGEX_REPLACE): past the query's deadline it
raises QueryTimeout, which ends the whole query; past the evaluation's own limit it fails, so
this record's value is an error value. A text that a formula builds has at most MAX_TEXT
characters: `room()` refuses a longer one before it is built, so no single step copies
gigabytes while holding the interpreter.
"""

from __future__ import annotations

import threading
import time

from engine import budget
from engine.formula.errors import Fail

MAX_TEXT = 1_000_000  # characters of a text a formula builds (REPT, &, SUBSTITUTE, ...)
EVAL_SECONDS = 1.0  # one evaluation, for one record

_local = threading.local()  # .until: the running evaluation's own deadline (monotonic seconds)


def start() -> float | None:
    """Begin an evaluation; returns what `stop` needs to restore (evaluations may nest)."""
    outer: float | None = getattr(_local, "until", None)
    mine = time.monotonic() + EVAL_SECONDS
    _local.until = mine if outer is None else min(mine, outer)
    return outer


def stop(outer: float | None) -> None:
    """End the evaluation begun by the `start` that returned `outer`."""
    _local.until = outer


def tick() -> None:
    """Stop here if the query's budget or this evaluation's time is spent."""
    now = time.monotonic()
    budget.check(now)
    until = getattr(_local, "until", None)
    if until is not None and now > until:
        raise Fail(f"the formula took longer than {EVAL_SECONDS:g} s for this record and was stopped;"
                   " simplify it (a regular expression over a long text, say)")


def room(length: int, what: str = "the text") -> None:
    """Fail unless a text of `length` characters may be built."""
    if length > MAX_TEXT:
        raise Fail(f"{what} would be {length:,} characters long; a formula may make texts of at most"
                   f" {MAX_TEXT:,} characters")
