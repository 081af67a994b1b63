"""Field type `percent`: stored as a fraction (0.25 is 25%).

Text is read as a percentage ("25" or "25%" is 0.25); a JSON number is already a fraction,
as in Airtable's API.
"""

from __future__ import annotations

from typing import Any

from engine.fields.base import Editor, FieldType, number_text, step_of
from engine.fields.number import read_number


class PercentField(FieldType):
    type = "percent"
    kind = "number"
    sql_type = "REAL"
    description = "A percentage, stored as a fraction; `precision` decimal places of the percentage."
    good = [({}, "25%", 0.25), ({}, "12.5", 0.125), ({}, 0.5, 0.5)]
    bad = [({}, "lots"), ({}, True)]

    airtable_type = "percent"

    def editor(self) -> Editor:
        # In a cell it is typed as text ("12%" or "0.12"); a form's number box holds the percentage.
        return Editor("number", "text", attrs={"step": step_of(int(self.options.get("precision", 0))), "suffix": "%"})

    def input_value(self, stored: Any) -> Any:
        return "" if stored is None or stored == "" else number_text(float(stored) * 100)

    def parse(self, value: Any) -> Any:
        if isinstance(value, str):
            return round(read_number(value, strip="%％") / 100, 10)
        return read_number(value)

    def load(self, stored: Any) -> Any:
        return None if stored is None else float(stored)

    def export_text(self, stored: Any) -> str:
        """Every decimal kept (the display rounds to `precision`)."""
        if stored is None:
            return ""
        return f"{float(stored) * 100:.10f}".rstrip("0").rstrip(".") + "%"

    def display(self, stored: Any) -> str:
        if stored is None:
            return ""
        precision = int(self.options.get("precision", 0))
        return f"{float(stored) * 100:.{precision}f}%"
