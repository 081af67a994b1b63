"""Field type `url`: a web address (http or https only)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from engine.fields.base import Editor, FieldType, Invalid

_HOSTLIKE = re.compile(r"^[\w.-]+\.[a-zA-Z]{2,}(/.*)?$")


class UrlField(FieldType):
    type = "url"
    kind = "text"
    description = "A web address; text without a scheme gets https://."
    good = [({}, "https://example.org/a?b=1", "https://example.org/a?b=1"), ({}, "example.org", "https://example.org")]
    bad = [({}, "javascript:alert(1)"), ({}, "not a url")]

    airtable_type = "url"

    def editor(self) -> Editor:
        return Editor("url", "url", attrs={"inputmode": "url"})


    def parse(self, value: Any) -> Any:
        text = str(value).strip()
        parts = urlsplit(text)
        if not parts.scheme and _HOSTLIKE.match(text):
            return "https://" + text
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in text:
            raise Invalid(code="url_expected")
        return text
