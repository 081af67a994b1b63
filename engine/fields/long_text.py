"""Field type `long_text`: several lines of text (plain; shown escaped, never as HTML)."""

from __future__ import annotations

from typing import Any

from engine.fields.base import FieldType, Invalid


class LongTextField(FieldType):
    type = "long_text"
    kind = "text"
    description = "Several lines of text."
    good = [({}, "第一行\n第二行", "第一行\n第二行"), ({}, "<b>x</b>", "<b>x</b>")]
    bad = [({}, ["a"])]

    def parse(self, value: Any) -> Any:
        if isinstance(value, (dict, list)):
            raise Invalid("expected text")
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise Invalid("expected valid text (it holds a broken character)") from None
        return str(value).replace("\r\n", "\n").strip()
