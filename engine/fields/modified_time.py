"""Field type `modified_time`: when the record was last changed (kept by the engine)."""

from __future__ import annotations

from typing import Any, ClassVar

from engine.fields.base import Invalid
from engine.fields.datetime import DateTimeField


class ModifiedTimeField(DateTimeField):
    type = "modified_time"
    engine_kept = "time"
    kept_on_update = True
    airtable_type = "lastModifiedTime"
    computed = True
    default_variables: ClassVar[tuple[str, ...]] = ()
    description = "When the record was last changed; set by the engine."
    good = []  # computed: nothing to type in
    bad = [({}, "2026-01-01")]

    def coerce(self, value: Any) -> Any:
        raise Invalid(code="set_by_engine")
