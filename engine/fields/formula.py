"""Field type `formula`: a value computed by a formula (see engine.formula).

The loader infers the result kind (number, text, date, datetime, boolean, array) and stores
it in `options["result"]`, so the column can be filtered and sorted like a stored field.
Values that fail are stored as text `#ERROR!` so a bad formula never blocks a write.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from engine.fields.base import FieldContext, FieldType, Invalid
from engine.fields.datetime import read_stored
from engine.model import FieldDef

SQL_TYPES = {"number": "REAL", "boolean": "INTEGER"}
#: result kinds holding one value: a list of one (a lookup through a one-record link) is that value.
SCALAR = ("number", "date", "datetime", "boolean")


class FormulaField(FieldType):
    type = "formula"
    airtable_type = "formula"
    computed = True
    from_formula = True
    holds_names = True
    description = "A value computed from other fields with an Airtable-style `formula`."
    good = []  # computed: nothing to type in
    bad = [({"formula": "1+1"}, 3)]

    def __init__(self, fdef: FieldDef, ctx: FieldContext | None = None) -> None:
        super().__init__(fdef, ctx)
        self.kind = str(self.options.get("result", "text"))
        self.sql_type = SQL_TYPES.get(self.kind, "TEXT")

    def coerce(self, value: Any) -> Any:
        raise Invalid(code="computed_set")

    def store(self, value: Any) -> Any:
        """The stored SQL value of a formula result."""
        if value is None:
            return None
        if type(value).__name__ == "FormulaError":
            return "#ERROR!"
        if isinstance(value, list) and self.kind in SCALAR:  # `{deadline}`, a lookup through one link
            if len(value) > 1:
                return "#ERROR!"  # several values for one: MIN() or MAX() chooses
            return self.store(value[0] if value else None)
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=self.ctx.tz)
            text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return text[:10] if self.kind == "date" else text
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, list):
            return json.dumps(value, ensure_ascii=False, default=str)
        if self.kind == "number" and isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return value
        return value

    def load(self, stored: Any) -> Any:
        if stored is None:
            return None
        if self.kind == "boolean":
            return bool(stored) if stored != "#ERROR!" else {"error": "#ERROR!"}
        if self.kind == "array" and isinstance(stored, str) and stored.startswith("["):
            return json.loads(stored)
        if self.kind == "datetime" and isinstance(stored, str) and stored.endswith("Z"):
            return stored[:-1] + ".000Z"
        if isinstance(stored, float) and stored.is_integer():
            return int(stored)
        return stored

    def unload(self, value: Any) -> Any:
        if isinstance(value, dict) and "error" in value:
            return value["error"]
        if self.kind == "datetime" and isinstance(value, str) and value.endswith(".000Z"):
            return value[:-5] + "Z"
        return super().unload(value)

    def display(self, stored: Any) -> str:
        value = self.formula_value(stored)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "✓" if value else ""
        if isinstance(value, datetime):
            return value.astimezone(self.ctx.tz).strftime("%Y-%m-%d %H:%M")
        if isinstance(value, float):
            return f"{value:.2f}".rstrip("0").rstrip(".")
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value)

    def formula_value(self, stored: Any) -> Any:
        if stored is None:
            return None
        if self.kind == "datetime" and isinstance(stored, str) and stored.endswith("Z"):
            return read_stored(stored)
        if self.kind == "date" and isinstance(stored, str) and len(stored) == 10:
            return date.fromisoformat(stored)
        if self.kind == "boolean":
            return bool(stored)
        if self.kind == "array" and isinstance(stored, str) and stored.startswith("["):
            return json.loads(stored)
        return stored
