"""Field type `checkbox`: yes or no, stored as 1 or 0."""

from __future__ import annotations

from typing import Any

from engine.fields.base import Editor, FieldType, Invalid

TRUE_WORDS = {"1", "true", "yes", "y", "on", "checked", "x", "✓", "✔", "是", "对", "真", "已", "有"}
FALSE_WORDS = {"0", "false", "no", "n", "off", "unchecked", "否", "不", "假", "未", "无"}


class CheckboxField(FieldType):
    type = "checkbox"
    repeats = True
    kind = "boolean"
    sql_type = "INTEGER"
    description = "Yes or no; accepts true/false, 1/0, 是/否, yes/no."
    good = [({}, "是", True), ({}, "true", True), ({}, "0", False), ({}, False, False), ({}, 1, True)]
    bad = [({}, "maybe"), ({}, 2)]

    airtable_type = "checkbox"

    def editor(self) -> Editor:
        return Editor("checkbox", "checkbox")

    def input_value(self, stored: Any) -> Any:
        return bool(stored)

    def coerce(self, value: Any) -> Any:
        if value is None or value == "":
            return 0
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (int, float)) and value in (0, 1):
            return int(value)
        text = str(value).strip().lower()
        if text in TRUE_WORDS:
            return 1
        if text in FALSE_WORDS:
            return 0
        raise Invalid(code="checkbox_expected")

    def load(self, stored: Any) -> Any:
        return bool(stored)

    def display(self, stored: Any) -> str:
        return "✓" if stored else ""

    def empty_sql(self, column: str) -> str:
        return f"(COALESCE({column}, 0) = 0)"
