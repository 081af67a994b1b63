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

    def _item(self, value: Any) -> str:
        """One looked-up value as its source field shows it (as it is, if that cannot read it)."""
        assert self.source is not None
        if isinstance(value, list):
            stored: Any = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, str) and value.endswith(".000Z"):
            stored = value[:-5] + "Z"  # a time as the API writes it, as stored
        else:
            stored = value
        try:
            return self.source.display(stored)
        except (ValueError, TypeError):
            return str(value)
