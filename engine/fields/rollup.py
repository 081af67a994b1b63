"""Field type `rollup`: one value summarising a field over the linked records."""

from __future__ import annotations

from typing import Any

from engine.fields.base import FieldContext, FieldType, Invalid
from engine.model import FieldDef

FUNCTIONS = ("sum", "count", "min", "max", "avg", "concat")


class RollupField(FieldType):
    type = "rollup"
    airtable_type = "rollup"
    computed = True
    through_link = True
    description = "sum, count, min, max, avg or concat of `field` over the records linked by `link`."
    good = []  # computed: nothing to type in
    bad = [({"link": "l", "field": "f", "function": "sum"}, 3)]

    def __init__(self, fdef: FieldDef, ctx: FieldContext | None = None) -> None:
        super().__init__(fdef, ctx)
        numeric = self.options.get("function") != "concat"
        self.kind = "number" if numeric else "text"
        self.sql_type = "REAL" if numeric else "TEXT"

    def coerce(self, value: Any) -> Any:
        raise Invalid(code="computed_set")

    def display(self, stored: Any) -> str:
        if stored is None:
            return ""
        if isinstance(stored, float) and stored.is_integer():
            return str(int(stored))
        if isinstance(stored, float):
            return f"{stored:.2f}"
        return str(stored)
