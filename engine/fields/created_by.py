"""Field type `created_by`: who created the record (kept by the engine)."""

from __future__ import annotations

from typing import Any

from engine.fields.base import Invalid
from engine.fields.person import PersonField


class CreatedByField(PersonField):
    type = "created_by"
    computed = True
    description = "Who created the record; set by the engine."
    good: list[tuple[dict[str, Any], Any, Any]] = []
    bad = [({}, "admin")]

    def coerce(self, value: Any) -> Any:
        raise Invalid("is set by the engine and cannot be changed")
