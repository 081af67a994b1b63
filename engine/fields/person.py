"""Field type `person`: one or (with `multiple: true`) several people of the workspace.

Accepts a person's key, display name or e-mail. Stores keys: one key as text, or a JSON list.
"""

from __future__ import annotations

from typing import Any, ClassVar

from engine.fields.base import (
    Editor,
    FieldContext,
    FieldType,
    Invalid,
    dump_json_list,
    load_json_list,
    split_list,
)
from engine.fields.single_select import in_order
from engine.model import FieldDef, Person


class PersonField(FieldType):
    type = "person"
    repeats = True
    indexed = True
    people = True
    recipient = True
    default_variables: ClassVar[tuple[str, ...]] = ("$me",)
    description = "People of the workspace; `multiple: true` for several. Accepts key, name or e-mail."
    good = [({}, "admin", "admin"), ({"multiple": True}, "admin, 管理员", ["admin"])]
    bad = [({}, "nobody"), ({}, ["admin", "admin2"])]

    def airtable_name(self) -> str:
        if self.airtable_type:  # created_by, modified_by
            return self.airtable_type
        return "multipleCollaborators" if self.options.get("multiple") else "singleCollaborator"

    def editor(self) -> Editor:
        if self.options.get("multiple"):
            return Editor("people", "text", choices="people", several=True)
        return Editor("person", "select", choices="people")

    def __init__(self, fdef: FieldDef, ctx: FieldContext | None = None) -> None:
        super().__init__(fdef, ctx)
        self.multiple = bool(self.options.get("multiple", False))
        self.kind = "array" if self.multiple else "text"

    def _resolve(self, item: Any) -> str:
        text = str(item).strip()
        people = self.ctx.people
        if text in people:
            return text
        for person in people.values():
            if text in (person.name, person.email):
                return person.key
        raise Invalid(code="person_expected", params={"name": text})

    def parse(self, value: Any) -> Any:
        items = split_list(value)
        keys: list[str] = []
        for item in items:
            key = self._resolve(item)
            if key not in keys:
                keys.append(key)
        if not self.multiple:
            if len(keys) > 1:
                raise Invalid(code="person_one")
            return keys[0] if keys else None
        return dump_json_list(keys)

    def load(self, stored: Any) -> Any:
        if self.multiple:
            return load_json_list(stored)
        return stored or None

    def display(self, stored: Any) -> str:
        keys = load_json_list(stored) if self.multiple else ([stored] if stored else [])
        return ", ".join(self._name(k) for k in keys)

    def sort_sql(self, column: str) -> str:
        """By name (the first person's, of several), as people read the list; people the
        workspace does not declare come after."""
        people = self.ctx.people
        keys = sorted(people, key=lambda k: (people[k].name, k))
        return in_order(f"json_extract({column}, '$[0]')" if self.multiple else column, keys)

    def _name(self, key: str) -> str:
        person: Person | None = self.ctx.people.get(key)
        return person.name if person else key
