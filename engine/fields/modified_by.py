"""Field type `modified_by`: who last changed the record (kept by the engine)."""

from __future__ import annotations

from typing import Any, ClassVar

from engine.fields.base import Invalid
from engine.fields.person import PersonField


class ModifiedByField(PersonField):
    type = "modified_by"
    engine_kept = "actor"
    kept_on_update = True
    airtable_type = "lastModifiedBy"
    computed = True
    default_variables: ClassVar[tuple[str, ...]] = ()
    description = "Who last changed the record; set by the engine."
    good = []  # computed: nothing to type in
    bad = [({}, "admin")]

    def coerce(self, value: Any) -> Any:
        raise Invalid(code="set_by_engine")
