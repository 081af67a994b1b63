"""Field type `text`: one line of plain text."""

from __future__ import annotations

from typing import Any

from engine.fields.base import FieldType, Invalid, read_text


class TextField(FieldType):
    type = "text"
    kind = "text"
    description = "One line of text."
    good = [({}, "张三", "张三"), ({}, 42, "42"), ({"max_length": 3}, "abc", "abc")]
    bad = [({"max_length": 3}, "abcd"), ({}, {"a": 1})]

    def parse(self, value: Any) -> Any:
        value = read_text(value)
        text = str(value).strip() if not isinstance(value, str) else value.strip()
        if "\n" in text:
            text = " ".join(text.split("\n"))
        limit = self.options.get("max_length")
        if limit and len(text) > limit:
            raise Invalid(f"expected at most {limit} characters, got {len(text)}")
        return text
