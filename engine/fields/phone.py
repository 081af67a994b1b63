"""Field type `phone`: a telephone number (digits, spaces, +, -, parentheses)."""

from __future__ import annotations

import re
from typing import Any

from engine.fields.base import Editor, FieldType, Invalid

_PHONE = re.compile(r"^\+?[\d\s\-()]{5,24}$")


class PhoneField(FieldType):
    type = "phone"
    kind = "text"
    description = "A telephone number such as 13800001234 or +86 411 8888 0000."
    good = [({}, "138 0000 1234", "138 0000 1234"), ({}, 13800001234, "13800001234")]
    bad = [({}, "call me"), ({}, "12")]

    airtable_type = "phoneNumber"

    def editor(self) -> Editor:
        return Editor("tel", "tel", attrs={"inputmode": "tel"})

    def parse(self, value: Any) -> Any:
        text = str(value).strip()
        if not _PHONE.match(text) or sum(c.isdigit() for c in text) < 5:
            raise Invalid(code="phone_expected")
        return text
