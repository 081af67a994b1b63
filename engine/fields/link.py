"""Field type `link`: records of another table of the same base.

Stored twice on purpose: a JSON list of record ids in the row (fast to show) and rows of a
junction table (fast to join and to keep the inverse side in step). The record service keeps
both, and the inverse field on the other table, up to date. Filters on a link go through the
junction's indexes, so the JSON column itself has no index.
"""

from __future__ import annotations

import re
from typing import Any

from engine.fields.base import (
    Editor,
    FieldContext,
    FieldType,
    Invalid,
    dump_json_list,
    load_json_list,
    split_list,
)
from engine.model import FieldDef

RECORD_ID = re.compile(r"^rec[0-9A-Za-z]{14}$")


class LinkField(FieldType):
    type = "link"
    repeats = True
    kind = "array"
    description = "Links to records of `table` (same base); `multiple: false` for one; `inverse` names the field on the other side."
    good = [({"table": "t"}, "recAAAAAAAAAAAAAA", ["recAAAAAAAAAAAAAA"]),
            ({"table": "t"}, ["recAAAAAAAAAAAAAA", "recBBBBBBBBBBBBBB"], ["recAAAAAAAAAAAAAA", "recBBBBBBBBBBBBBB"])]
    bad = [({"table": "t"}, "not-an-id"), ({"table": "t", "multiple": False}, ["recAAAAAAAAAAAAAA", "recBBBBBBBBBBBBBB"])]

    airtable_type = "multipleRecordLinks"
    links = True
    shown_as = "links"

    def editor(self) -> Editor:
        return Editor("link", "link", choices="records", several=True)

    def json_schema(self) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "string", "pattern": "^rec[0-9A-Za-z]{14}$"}}

    def __init__(self, fdef: FieldDef, ctx: FieldContext | None = None) -> None:
        super().__init__(fdef, ctx)
        self.multiple = bool(self.options.get("multiple", True))

    def parse(self, value: Any) -> Any:
        ids: list[str] = []
        for item in split_list(value):
            if isinstance(item, dict) and "id" in item:
                item = item["id"]
            text = str(item).strip()
            if not RECORD_ID.match(text):
                raise Invalid(code="link_ids_expected")
            if text not in ids:
                ids.append(text)
        if not self.multiple and len(ids) > 1:
            raise Invalid(code="link_one")
        return dump_json_list(ids)

    def load(self, stored: Any) -> Any:
        return load_json_list(stored)
