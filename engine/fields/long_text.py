"""Field type `long_text`: several lines of text (plain; shown escaped, never as HTML)."""

from __future__ import annotations

from typing import Any

from engine.fields.base import Editor, FieldType
from engine.fields.text import free_text


class LongTextField(FieldType):
    type = "long_text"
    kind = "text"
    description = "Several lines of text."
    good = [({}, "第一行\n第二行", "第一行\n第二行"), ({}, "<b>x</b>", "<b>x</b>")]
    bad = [({}, ["a"]), ({}, "a\x01b"), ({}, "page\x0cbreak")]

    airtable_type = "multilineText"

    def editor(self) -> Editor:
        return Editor("textarea", "textarea")

    def parse(self, value: Any) -> Any:
        return free_text(value).replace("\r\n", "\n").strip()
