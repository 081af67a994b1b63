"""Bitable record values as Gridbase input values, pure (owner of the value shapes of Feishu's API).

The bitable v1 API gives each record `{record_id, fields: {field name: value}, created_time,
created_by, last_modified_time, last_modified_by}`; a value's shape depends on the field's
code (engine.bitable): text as a list of segments `[{type, text}]`, numbers, a select's
option name(s), dates and times as milliseconds since 1970 (UTC), people as
`[{id, name, en_name, email}]`, a URL as `{link, text}`, attachments as
`[{file_token, name, size, type, url}]`, links as `{link_record_ids: [...]}` (or
`[{record_ids: [...]}]`), lookups and formulas as `{type, value: [...]}`, a location as
`{location, pname, cityname, adname, address, name, full_address}`, groups as `[{id, name}]`.

`value_for` turns one into what the Gridbase field of its plan accepts; people go through a
`People` index (e-mail, then mobile, then name: the unmatched are counted for the report),
links come back as Bitable record ids (the import resolves them once every table is in),
attachments as their items for the import to download and store.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine import bitable as bt

SKIP = object()  # the field is not written: computed, engine-kept, or the other side of a link


class People:
    """Workspace people found by e-mail, mobile or name, in that order; `unmatched` counts the rest."""

    def __init__(self, people: list[dict[str, Any]]) -> None:
        self.by_email = {str(p["email"]).strip().lower(): p["key"] for p in people if p.get("email")}
        self.by_mobile = {_digits(p["phone"]): p["key"] for p in people if p.get("phone") and _digits(p["phone"])}
        self.by_name = {str(p["name"]).strip(): p["key"] for p in people if p.get("name")}
        self.unmatched: Counter[str] = Counter()

    def key(self, who: Any) -> str | None:
        if not isinstance(who, dict):
            return None
        email = str(who.get("email") or "").strip().lower()
        mobile = _digits(str(who.get("mobile") or who.get("phone") or ""))
        name = str(who.get("name") or "").strip()
        found = self.by_email.get(email) if email else None
        found = found or (self.by_mobile.get(mobile) if mobile else None)
        found = found or self.by_name.get(name) or (self.by_name.get(str(who.get("en_name") or "").strip()))
        if found is None:
            self.unmatched[name or email or str(who.get("id") or "?")] += 1
        return found


def _digits(text: Any) -> str:
    digits = re.sub(r"\D", "", str(text))
    return digits[-11:] if len(digits) >= 11 else digits  # +86 138… and 138… are the same mobile


def text_of(value: Any) -> str:
    """Any Bitable value as plain text (segments joined, names listed, a location's address)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        segments = all(isinstance(v, dict) and "text" in v and "name" not in v for v in value)
        return ("" if segments else ", ").join(t for t in (text_of(v) for v in value) if t)
    if isinstance(value, dict):
        for key in ("full_address", "text", "link", "name", "value"):
            if value.get(key) not in (None, ""):
                return text_of(value[key])
    return ""


def moment(value: Any) -> datetime | None:
    """Milliseconds since 1970 (a number or its text) as an aware UTC moment."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        return datetime.fromtimestamp(float(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def link_ids(value: Any) -> list[str]:
    """The Bitable record ids a link value names, in order."""
    if isinstance(value, dict):
        return [str(i) for i in value.get("link_record_ids") or value.get("record_ids") or []]
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            out.extend(link_ids(item) if isinstance(item, dict) else [str(item)])
        return out
    return []


def value_for(fp: bt.FieldPlan, raw: Any, people: People, tz: str) -> Any:
    """What Gridbase's field of `fp` is given for the Bitable value `raw` (SKIP: nothing)."""
    spec = fp.spec or {}
    if fp.spec is None or fp.inverse_side or fp.code in (bt.CREATED_TIME, bt.MODIFIED_TIME, bt.CREATED_BY,
                                                          bt.MODIFIED_BY, bt.AUTONUMBER):
        return SKIP
    if spec.get("formula") is not None or spec.get("link") is not None:  # computed again by Gridbase
        return SKIP
    code = fp.code
    if raw is None:
        return False if code == bt.CHECKBOX else None  # Bitable leaves an unticked box out
    if code == bt.NUMBER:
        return raw if isinstance(raw, (int, float)) and not isinstance(raw, bool) else text_of(raw) or None
    if code == bt.SINGLE:
        return text_of(raw) or None
    if code == bt.MULTI:
        return [text_of(v) for v in raw] if isinstance(raw, list) else text_of(raw) or None
    if code == bt.DATE:
        when = moment(raw)
        if when is None:
            return None
        return when.astimezone(ZoneInfo(tz)).date().isoformat() if spec.get("type") == "date" else \
            when.strftime("%Y-%m-%dT%H:%M:%SZ")
    if code == bt.CHECKBOX:
        return bool(raw)
    if code == bt.PERSON:
        keys = [k for k in (people.key(p) for p in (raw if isinstance(raw, list) else [raw])) if k]
        if spec.get("multiple"):
            return list(dict.fromkeys(keys)) or None
        return keys[0] if keys else None
    if code == bt.URL:
        return (raw.get("link") or raw.get("text")) if isinstance(raw, dict) else text_of(raw) or None
    if code in (bt.LINK, bt.DUPLEX):
        return link_ids(raw)
    if code == bt.ATTACHMENT:
        return [a for a in raw if isinstance(a, dict) and a.get("file_token")] if isinstance(raw, list) else []
    return text_of(raw) or None
