"""Field type `duration`: a length of time, stored as whole seconds, shown as h:mm."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Any

from engine.fields.base import Editor, FieldType, Invalid

_UNITS = re.compile(r"(\d+(?:\.\d+)?)\s*(h|hr|hours?|小时|m|min|minutes?|分钟?|s|sec|seconds?|秒)", re.I)


class DurationField(FieldType):
    type = "duration"
    kind = "number"
    sql_type = "INTEGER"
    description = "A length of time; accepts 1:30, 1:30:15, 90m, 2h, 1h30m or seconds."
    good = [({}, "1:30", 5400), ({}, "90m", 5400), ({}, "1h 15m", 4500), ({}, 60, 60)]
    bad = [({}, "soon"), ({}, "1:75")]

    airtable_type = "duration"

    def editor(self) -> Editor:
        return Editor("text", "text", attrs={"placeholder": "1:30"})

    def input_value(self, stored: Any) -> Any:
        return "" if stored is None or stored == "" else self.display(stored)

    def import_value(self, cell: Any) -> Any:
        """An XLSX duration cell (a time of day or a timedelta) as seconds."""
        if isinstance(cell, timedelta):
            return int(round(cell.total_seconds()))
        if isinstance(cell, time):
            return cell.hour * 3600 + cell.minute * 60 + cell.second
        return super().import_value(cell)

    def parse(self, value: Any) -> Any:
        if isinstance(value, bool):
            raise Invalid(code="duration_expected")
        if isinstance(value, (int, float)):
            return int(round(value))
        text = str(value).strip().lower()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return int(round(float(text)))
        if re.fullmatch(r"\d+:\d{1,2}(:\d{1,2})?", text):
            parts = [int(p) for p in text.split(":")]
            if any(p >= 60 for p in parts[1:]):
                raise Invalid(code="duration_below_60")
            hours, minutes = parts[0], parts[1]
            seconds = parts[2] if len(parts) == 3 else 0
            return hours * 3600 + minutes * 60 + seconds
        matches = _UNITS.findall(text)
        if matches and _UNITS.sub("", text).strip() == "":
            total = 0.0
            for amount, unit in matches:
                scale = 3600 if unit[0] in "h小" else 60 if unit[0] in "m分" else 1
                total += float(amount) * scale
            return int(round(total))
        raise Invalid(code="duration_expected_h")

    def display(self, stored: Any) -> str:
        if stored is None:
            return ""
        seconds = int(stored)
        text = f"{seconds // 3600}:{seconds % 3600 // 60:02d}"
        return text + (f":{seconds % 60:02d}" if seconds % 60 else "")
