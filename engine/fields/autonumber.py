"""Field type `autonumber`: 1, 2, 3… given by the engine at creation, never reused."""

from __future__ import annotations

from typing import Any

from engine.fields.base import FieldType, Invalid


class AutonumberField(FieldType):
    type = "autonumber"
    engine_kept = "counter"
    airtable_type = "autoNumber"
    kind = "number"
    sql_type = "INTEGER"
    computed = True
    indexed = True
    description = "A number given at creation; `prefix` and `digits` (zero padding) shape its display."
    good = []  # computed: nothing to type in
    bad = [({}, 7)]

    def coerce(self, value: Any) -> Any:
        raise Invalid(code="autonumber_set")

    def display(self, stored: Any) -> str:
        if stored is None:
            return ""
        return f"{self.options.get('prefix', '')}{int(stored):0{int(self.options.get('digits', 0))}d}"

    def search_sql(self, column: str, pattern: str) -> tuple[str, list[Any]] | None:
        """Stored 7, shown P000007: a search matches the text it shows."""
        prefix, digits = str(self.options.get("prefix", "")), int(self.options.get("digits", 0))
        return f"({column} IS NOT NULL AND (? || printf('%0*d', ?, {column})) LIKE ? ESCAPE '\\')", [prefix, digits, pattern]
