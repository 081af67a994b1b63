"""Field type `datetime`: a moment, stored in UTC, shown in the workspace timezone.

Text without an offset is read in the workspace timezone (Asia/Shanghai by default).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any, ClassVar

from engine.fields.base import Editor, FieldType, Invalid
from engine.fields.date import read_date

STORE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


_STORED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", re.ASCII)


def read_stored(text: str) -> datetime:
    """A stored moment (STORE_FORMAT, UTC) as an aware datetime. A page shows thousands: the
    exact form is read by fromisoformat (a twentieth of strptime's time), anything else by
    strptime as before, with its errors."""
    if len(text) == 20 and _STORED.fullmatch(text):
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    return datetime.strptime(text, STORE_FORMAT).replace(tzinfo=UTC)


def read_datetime(value: Any, tz: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        text = str(value).strip().replace("年", "-").replace("月", "-").replace("日", " ").replace("/", "-")
        text = re.sub(r"\s+", " ", text).strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                moment = datetime.combine(read_date(text, tz), time())
            except Invalid:
                raise Invalid(code="datetime_expected") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


class DateTimeField(FieldType):
    type = "datetime"
    repeats = True
    kind = "datetime"
    indexed = True
    default_variables: ClassVar[tuple[str, ...]] = ("$now", "$today")
    description = "A date and time; stored in UTC, shown in the workspace timezone."
    good = [({}, "2026-11-25 14:30", "2026-11-25T06:30:00.000Z"), ({}, "2026-11-25T06:30:00Z", "2026-11-25T06:30:00.000Z"),
            ({}, "2026-11-25T14:30:00+08:00", "2026-11-25T06:30:00.000Z")]
    bad = [({}, "25/11/2026 2pm"), ({}, True)]

    airtable_type = "dateTime"

    def editor(self) -> Editor:
        return Editor("datetime-local", "datetime-local")

    def input_value(self, stored: Any) -> Any:
        return "" if stored is None or stored == "" else self.display(stored).replace(" ", "T")

    def parse(self, value: Any) -> Any:
        if isinstance(value, (bool, int, float)):
            raise Invalid(code="datetime_expected")
        moment = read_datetime(value, self.ctx.tz)
        if moment.year < 1000:
            raise Invalid(code="year_expected")
        return moment.strftime(STORE_FORMAT)

    def load(self, stored: Any) -> Any:
        return None if not stored else stored[:-1] + ".000Z"

    def display(self, stored: Any) -> str:
        moment = self.formula_value(stored)
        return "" if moment is None else moment.astimezone(self.ctx.tz).strftime("%Y-%m-%d %H:%M")

    def unload(self, value: Any) -> Any:
        return value[:-5] + "Z" if isinstance(value, str) and value.endswith(".000Z") else value

    def export_text(self, stored: Any) -> str:
        """In the workspace's timezone, to the second (the display drops the seconds)."""
        moment = self.formula_value(stored)
        return "" if moment is None else moment.astimezone(self.ctx.tz).strftime("%Y-%m-%d %H:%M:%S")

    def formula_value(self, stored: Any) -> Any:
        if not stored:
            return None
        return read_stored(stored)
