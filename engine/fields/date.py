"""Field type `date`: a calendar day, stored as YYYY-MM-DD text."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, ClassVar

from engine.fields.base import Editor, FieldType, Invalid

_FORMS = [r"(\d{4})-(\d{1,2})-(\d{1,2})", r"(\d{4})/(\d{1,2})/(\d{1,2})", r"(\d{4})\.(\d{1,2})\.(\d{1,2})",
          r"(\d{4})年(\d{1,2})月(\d{1,2})日?", r"(\d{4})(\d{2})(\d{2})"]


def read_date(value: Any, tz: Any) -> date:
    if isinstance(value, datetime):
        return (value.astimezone(tz) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for form in _FORMS:
        match = re.fullmatch(form, text)
        if match:
            try:
                return date(*(int(g) for g in match.groups()))
            except ValueError:
                break
    if "T" in text or " " in text:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return (moment.astimezone(tz) if moment.tzinfo else moment).date()
    raise Invalid(code="date_expected")


class DateField(FieldType):
    type = "date"
    repeats = True
    kind = "date"
    indexed = True
    default_variables: ClassVar[tuple[str, ...]] = ("$today", "$now")
    description = "A day; accepts 2026-11-25, 2026/11/25, 2026年11月25日 or 20261125."
    good = [({}, "2026-11-25", "2026-11-25"), ({}, "2026年1月5日", "2026-01-05"), ({}, "2026/2/28", "2026-02-28")]
    bad = [({}, "2026-02-30"), ({}, "tomorrow"), ({}, 12)]

    airtable_type = "date"

    def editor(self) -> Editor:
        return Editor("date", "date")

    def parse(self, value: Any) -> Any:
        if isinstance(value, (int, float, bool)):
            raise Invalid(code="date_expected")
        return read_date(value, self.ctx.tz).isoformat()

    def formula_value(self, stored: Any) -> Any:
        return None if not stored else date.fromisoformat(stored)
