"""Field type `lookup`: the values of a field of the records linked through `link`."""

from __future__ import annotations

from typing import Any

from engine.fields.base import FieldType, Invalid, load_json_list


class LookupField(FieldType):
    type = "lookup"
    kind = "array"
    computed = True
    description = "Values of `field` in the records linked by `link`; kept up to date."
    good = []  # computed: nothing to type in
    bad = [({"link": "l", "field": "f"}, "x")]

    def coerce(self, value: Any) -> Any:
        raise Invalid("is computed and cannot be set")

    def load(self, stored: Any) -> Any:
        return load_json_list(stored)
