"""Field type `rating`: a whole number of stars from 1 to `max` (default 5)."""

from __future__ import annotations

from typing import Any

from engine.fields.base import Editor, FieldType, Invalid, number_text


class RatingField(FieldType):
    type = "rating"
    repeats = True
    kind = "number"
    sql_type = "INTEGER"
    description = "Stars from 1 to `max` (default 5); accepts 3 or ★★★."
    good = [({}, "4", 4), ({}, "★★★", 3), ({"max": 10}, 9, 9)]
    bad = [({}, 6), ({}, "good"), ({}, 2.5)]

    airtable_type = "rating"

    def editor(self) -> Editor:
        return Editor("rating", "number", attrs={"step": "1", "min": 1, "max": int(self.options.get("max", 5))})

    def input_value(self, stored: Any) -> Any:
        return "" if stored is None or stored == "" else number_text(float(stored))

    def parse(self, value: Any) -> Any:
        top = int(self.options.get("max", 5))
        if isinstance(value, str) and value.strip() and set(value.strip()) <= {"★", "⭐"}:
            value = len(value.strip())
        try:
            if isinstance(value, bool) or float(value) != int(float(value)):
                raise ValueError
            stars = int(float(value))
        except (TypeError, ValueError, OverflowError):
            raise Invalid(code="rating_expected", params={"top": top}) from None
        if not 0 <= stars <= top:
            raise Invalid(code="rating_expected", params={"top": top})
        return stars or None

    def display(self, stored: Any) -> str:
        return "" if not stored else "★" * int(stored)
