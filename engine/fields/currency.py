"""Field type `currency`: an amount of money shown with a symbol (default ¥)."""

from __future__ import annotations

from typing import Any

from engine.fields.base import Editor, FieldType, number_text, step_of
from engine.fields.number import read_number, shape


class CurrencyField(FieldType):
    type = "currency"
    kind = "number"
    sql_type = "REAL"
    description = "Money; `symbol` (default ¥) and `precision` (default 2)."
    good = [({}, "¥1,280.50", 1280.5), ({"symbol": "$"}, "$12", 12.0), ({}, 99, 99.0)]
    bad = [({}, "十块"), ({}, False)]

    airtable_type = "currency"

    def editor(self) -> Editor:
        return Editor("number", "number", attrs={"step": step_of(int(self.options.get("precision", 2))),
                                                 "prefix": str(self.options.get("symbol", "¥"))})

    def input_value(self, stored: Any) -> Any:
        return "" if stored is None or stored == "" else number_text(float(stored))

    def parse(self, value: Any) -> Any:
        symbol = self.options.get("symbol", "¥")
        return float(shape(read_number(value, strip=symbol + "¥$€£元"), int(self.options.get("precision", 2))))

    def load(self, stored: Any) -> Any:
        return None if stored is None else float(stored)

    def display(self, stored: Any) -> str:
        if stored is None:
            return ""
        precision = int(self.options.get("precision", 2))
        return f"{self.options.get('symbol', '¥')}{float(stored):,.{precision}f}"
