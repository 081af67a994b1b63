"""The environment of an evaluation: the record a formula is evaluated for.

Words: `values` maps each reference name (as written inside `{braces}`) to its Python value;
`tz` is the workspace timezone used for date parts and formatting; `now` fixes the current
time (tests, scheduled recomputes); the record's id and timestamps feed RECORD_ID(),
CREATED_TIME() and LAST_MODIFIED_TIME().
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class Env:
    """What a formula sees of the record it is evaluated for."""

    values: Mapping[str, Any] = field(default_factory=dict)
    tz: str = "Asia/Shanghai"
    now: datetime | None = None
    record_id: str | None = None
    created_time: datetime | None = None
    modified_time: datetime | None = None

    def current_time(self) -> datetime:
        """`now` if given (as UTC), else the real current time."""
        return (self.now or datetime.now(UTC)).astimezone(UTC)
