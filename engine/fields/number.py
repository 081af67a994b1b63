"""Field type `number`: a number with a fixed precision (decimal places)."""

from __future__ import annotations

from typing import Any

from engine.fields.base import Editor, FieldType, Invalid, number_text, step_of


def read_number(value: Any, strip: str = "") -> float:
    """A float from a number or text such as '1,234.5'; raise Invalid otherwise."""
    if isinstance(value, bool):
        raise Invalid(code="number_expected")
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            raise Invalid(code="number_size") from None
    else:
        text = str(value).strip().replace(",", "").replace("，", "").replace(" ", "")
        for ch in strip:
            text = text.replace(ch, "")
        try:
            number = float(text)
        except (ValueError, OverflowError):
            raise Invalid(code="number_example") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise Invalid(code="number_finite")
    return number


def shape(number: float, precision: int) -> int | float:
    rounded = round(number, precision)
    return int(rounded) if precision == 0 else rounded


class NumberField(FieldType):
    type = "number"
    kind = "number"
    sql_type = "REAL"
    description = "A number; `precision` decimal places (default 0)."
    good = [({}, "1,234", 1234), ({"precision": 2}, 3.14159, 3.14), ({"precision": 1}, "-0.25", -0.2)]
    bad = [({}, "abc"), ({}, True), ({"min": 0}, -1), ({"max": 10}, "11")]

    airtable_type = "number"

    def editor(self) -> Editor:
        return Editor("number", "number", attrs={"step": step_of(int(self.options.get("precision", 0))),
                                                 "min": self.options.get("min"), "max": self.options.get("max")})

    def input_value(self, stored: Any) -> Any:
        return "" if stored is None or stored == "" else number_text(float(stored))

    def parse(self, value: Any) -> Any:
        number = shape(read_number(value), int(self.options.get("precision", 0)))
        low, high = self.options.get("min"), self.options.get("max")
        if low is not None and number < low:
            raise Invalid(code="number_min", params={"low": low})
        if high is not None and number > high:
            raise Invalid(code="number_max", params={"high": high})
        return number

    def load(self, stored: Any) -> Any:
        if stored is None:
            return None
        return shape(float(stored), int(self.options.get("precision", 0)))

    def display(self, stored: Any) -> str:
        value = self.load(stored)
        if value is None:
            return ""
        precision = int(self.options.get("precision", 0))
        return f"{value:,.{precision}f}"
