"""Field type `lookup`: the values of a field of the records linked through `link`.

The stored value is the list of the source field's stored values; `source` (the source
field's type, set by the table) shows each of them as that field would (a person's name, a
date in the workspace's timezone), not as the key or text it is stored as.
"""

from __future__ import annotations

import json
from typing import Any

from engine.fields.base import FieldType, Invalid, load_json_list


class LookupField(FieldType):
    type = "lookup"
    airtable_type = "multipleLookupValues"
    kind = "array"
    computed = True
    through_link = True
    shows_linked_values = True
    recipient = True
    holds_names = True
    description = "Values of `field` in the records linked by `link`; kept up to date."
    good = []  # computed: nothing to type in
    bad = [({"link": "l", "field": "f"}, "x")]

    def coerce(self, value: Any) -> Any:
        raise Invalid(code="computed_set")

    source: FieldType | None = None

    def load(self, stored: Any) -> Any:
        return load_json_list(stored)

    def display(self, stored: Any) -> str:
        values = self.load(stored)
        if self.source is None or not values:
            return super().display(stored)
        return ", ".join(t for t in (self._item(v) for v in values) if t)

    def shows_people(self) -> bool:
        """A lookup of people (through lookups of lookups too) holds their keys."""
        return self.source is not None and self.source.shows_people()

    def numbers_sql(self, column: str) -> tuple[str, str] | None:
        """Each looked-up number counts: a sum adds them all, an average is over all of them."""
        each = f"FROM json_each(COALESCE({column}, '[]')) WHERE type IN ('integer', 'real')"
        return f"(SELECT total(value) {each})", f"(SELECT count(*) {each})"

    def formula_value(self, stored: Any) -> Any:
        """The looked-up values as formulas see each in its own field: dates as dates, so
        `MIN({deadlines})` is the earliest date and `DATEADD({deadline}, -1, 'days')` a date."""
        values = self.load(stored)
        if self.source is None or not values:
            return values
        out = []
        for value in values:
            try:
                out.append(self.source.formula_value(_as_stored(value)))
            except (ValueError, TypeError):
                out.append(value)
        return out

    def _item(self, value: Any) -> str:
        """One looked-up value as its source field shows it (as it is, if that cannot read it)."""
        assert self.source is not None
        try:
            return self.source.display(_as_stored(value))
        except (ValueError, TypeError):
            return str(value)


def _as_stored(value: Any) -> Any:
    """One looked-up value (as the API gives it) back in its source field's stored form."""
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.endswith(".000Z"):
        return value[:-5] + "Z"  # a time as the API writes it, as stored
    return value
