"""Field type `email`: an e-mail address."""

from __future__ import annotations

import re
from typing import Any

from engine.fields.base import Editor, FieldType, Invalid

_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")


class EmailField(FieldType):
    type = "email"
    kind = "text"
    description = "An e-mail address such as name@example.org."
    good = [({}, " Li.Na@Example.org ", "Li.Na@Example.org")]
    bad = [({}, "not-an-email"), ({}, "a@b")]

    airtable_type = "email"
    recipient = True

    def editor(self) -> Editor:
        return Editor("email", "email", attrs={"inputmode": "email"})


    def parse(self, value: Any) -> Any:
        text = str(value).strip()
        if not _EMAIL.match(text):
            raise Invalid(code="email_expected")
        return text
