"""Field type `multi_select`: any number of options out of a declared list."""

from __future__ import annotations

from typing import Any

from engine.fields.base import (
    Editor,
    FieldType,
    Invalid,
    dump_json_list,
    load_json_list,
    split_list,
)
from engine.fields.single_select import in_order, match_option, option_names


class MultiSelectField(FieldType):
    type = "multi_select"
    holds_names = True
    repeats = True
    kind = "array"
    description = "Options out of `options`; accepts a list or text separated by commas or 、."
    good = [({"options": ["种植", "正畸", "洁治"]}, "种植、洁治", ["种植", "洁治"]), ({"options": ["a", "b"]}, ["b", "a", "b"], ["b", "a"])]
    bad = [({"options": ["a", "b"]}, "c"), ({"options": ["a"]}, {"x": 1})]

    airtable_type = "multipleSelects"
    shown_as = "badges"

    def editor(self) -> Editor:
        return Editor("multi", "text", choices="options", several=True)

    def json_schema(self) -> dict[str, Any]:
        names = option_names(self.options)
        return {"type": "array", "items": {"type": "string", "enum": names} if names else {"type": "string"}}

    def parse(self, value: Any) -> Any:
        if isinstance(value, dict):
            raise Invalid(code="options_expected", params={"options": ", ".join(option_names(self.options))})
        names = option_names(self.options)
        chosen: list[str] = []
        for item in split_list(value):
            name = match_option(names, item)
            if name not in chosen:
                chosen.append(name)
        return dump_json_list(chosen)

    def load(self, stored: Any) -> Any:
        return load_json_list(stored)

    def sort_sql(self, column: str) -> str:
        """By the first option chosen, in the declared order (as Airtable does)."""
        return in_order(f"json_extract({column}, '$[0]')", option_names(self.options))
