"""Field type `long_text`: several lines of text (plain; shown escaped, never as HTML)."""

from __future__ import annotations

from typing import Any

from engine.fields.base import FieldType, read_text


class LongTextField(FieldType):
    type = "long_text"
    kind = "text"
    description = "Several lines of text."
    good = [({}, "第一行\n第二行", "第一行\n第二行"), ({}, "<b>x</b>", "<b>x</b>")]
    bad = [({}, ["a"])]

    def parse(self, value: Any) -> Any:
        value = read_text(value)
        return str(value).replace("\r\n", "\n").strip()
