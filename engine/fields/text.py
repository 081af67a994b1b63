"""Field type `text`: one line of plain text.

`free_text` is the reading shared with `long_text`: text as typed, refused if it holds a
control character other than tab, line feed and carriage return (U+0000 to U+001F): such a
character cannot be seen, cannot be written to an XLSX file, and is never meant.
"""

from __future__ import annotations

import re
from typing import Any

from engine.fields.base import Editor, FieldType, Invalid, read_text

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def free_text(value: Any) -> str:
    """`value` as text; Invalid for lists/mappings, broken characters and control characters."""
    value = read_text(value)
    text = value if isinstance(value, str) else str(value)
    found = CONTROL.search(text)
    if found:
        raise Invalid(code="text_control", params={"char": f"U+{ord(found.group()):04X}",
                                                  "position": found.start() + 1})
    return text


class TextField(FieldType):
    type = "text"
    holds_names = True
    kind = "text"
    description = "One line of text."
    good = [({}, "张三", "张三"), ({}, 42, "42"), ({"max_length": 3}, "abc", "abc")]
    bad = [({"max_length": 3}, "abcd"), ({}, {"a": 1}), ({}, "a\x0bb"), ({}, "nul\x00")]

    airtable_type = "singleLineText"

    def editor(self) -> Editor:
        return Editor("text", "text")

    def parse(self, value: Any) -> Any:
        text = free_text(value).strip()
        if "\n" in text:
            text = " ".join(text.split("\n"))
        limit = self.options.get("max_length")
        if limit and len(text) > limit:
            raise Invalid(code="text_too_long", params={"limit": limit, "length": len(text)})
        return text
