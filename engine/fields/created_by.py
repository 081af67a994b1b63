"""Field type `created_by`: who created the record (kept by the engine)."""

from __future__ import annotations

from typing import Any, ClassVar

from engine.fields.base import Invalid
from engine.fields.person import PersonField


class CreatedByField(PersonField):
    type = "created_by"
    engine_kept = "actor"
    airtable_type = "createdBy"
    computed = True
    default_variables: ClassVar[tuple[str, ...]] = ()
    description = "Who created the record; set by the engine."
    good = []  # computed: nothing to type in
    bad = [({}, "admin")]

    def coerce(self, value: Any) -> Any:
        raise Invalid(code="set_by_engine")
