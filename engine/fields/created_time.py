"""Field type `created_time`: when the record was created (kept by the engine)."""

from __future__ import annotations

from typing import Any, ClassVar

from engine.fields.base import Invalid
from engine.fields.datetime import DateTimeField


class CreatedTimeField(DateTimeField):
    type = "created_time"
    engine_kept = "time"
    airtable_type = "createdTime"
    computed = True
    default_variables: ClassVar[tuple[str, ...]] = ()
    description = "When the record was created; set by the engine."
    good = []  # computed: nothing to type in
    bad = [({}, "2026-01-01")]

    def coerce(self, value: Any) -> Any:
        raise Invalid(code="set_by_engine")
