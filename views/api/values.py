"""Cell values between Airtable's JSON and the engine's values, in both directions.

Out: people (in person fields and in lookups of them) become collaborators `{id, email, name}`,
attachments `[{id, url, filename, size, type}]`, links stay record-id lists; empty values (null,
"", [], an unchecked box) are left out and a formula's true/false is 1/0 (as Airtable does);
`cellFormat=string` gives every value as the text a person sees (links by the linked
records' primary text). In: field names (or ids,
or keys) become keys; collaborators and attachments become what the engine stores. Without
`typecast`, values must already have the field's JSON type (a number for a number, an exact
option name for a select, a list for a link); with it, the engine's lenient parsing applies.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine import attachments
from engine import people as people_db
from engine.fields.base import load_json_list
from engine.fields.single_select import option_names
from engine.workspace import Workspace
from views.api.errors import INVALID_VALUE, ApiError, invalid_request
from views.api.ids import TableRef


class People:
    """Name and e-mail of people by key, read once per request."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._cache: dict[str, dict[str, Any]] = {}
        self.titles: dict[tuple[str, str], str | None] = {}  # (table, record) -> a linked record's title

    def collaborator(self, key: str) -> dict[str, Any]:
        if key not in self._cache:
            self._cache[key] = self._info(key, people_db.get(self.ws.storage, key))
        return self._cache[key]

    def prefetch(self, ref: TableRef, records: list[dict[str, Any]]) -> None:
        """Read at once every person named in the records' readable person cells: one query
        for a page of records rather than one per person."""
        keys: set[str] = set()
        for key, field in ref.table.fields.items():
            if key in ref.readable and not ref.masked(key) and field.shows_people():
                for record in records:
                    value = record["fields"].get(key)
                    keys.update(str(k) for k in (value if isinstance(value, list) else [value]) if k not in (None, ""))
        missing = sorted(keys - self._cache.keys())
        if missing:
            rows = people_db.some(self.ws.storage, missing)
            for key in missing:
                self._cache[key] = self._info(key, rows.get(key))

    def _info(self, key: str, row: dict[str, Any] | None) -> dict[str, Any]:
        person = self.ws.config.people.get(key)
        name = row["name"] if row else (person.name if person else key)
        email = (row["email"] if row else None) or (person.email if person else None)
        info: dict[str, Any] = {"id": key, "name": name}
        if email:
            info["email"] = email
        return info

    def exists(self, key: str) -> bool:
        """Whether `key` is a person of the workspace."""
        return key in self.ws.config.people or people_db.get(self.ws.storage, key) is not None

    def key_for(self, item: Any) -> Any:
        """A person key (or text for the engine to resolve) from a collaborator object."""
        if isinstance(item, dict):
            found = item.get("id") or item.get("email") or item.get("name")
            if not isinstance(found, str):
                raise invalid_request("a collaborator needs an id or an email")
            return found
        return item


def _att_url(base_url: str, att_id: str) -> str:
    return f"{base_url.rstrip('/')}/att/{att_id}"


def cell_json(ref: TableRef, key: str, value: Any, people: People, base_url: str) -> Any:
    """One readable, unmasked engine value as Airtable's JSON value."""
    field = ref.table.fields[key]
    if field.shows_people():  # a person field, or a lookup of one: collaborators, as Airtable gives them
        if isinstance(value, list):
            return [people.collaborator(str(k)) for k in value]
        return people.collaborator(str(value))
    if field.files:
        return [{"id": a.get("id"), "url": _att_url(base_url, str(a.get("id"))), "filename": a.get("name", ""),
                 "size": a.get("size", 0), "type": a.get("type", "")} for a in value if isinstance(a, dict)]
    return value


def cell_text(ref: TableRef, record: dict[str, Any], key: str, people: People, tz: ZoneInfo) -> str:
    """One value as display text (cellFormat=string), datetimes in the requested zone."""
    value = record["fields"][key]
    if ref.masked(key):
        return str(value)
    field = ref.table.fields[key]
    if value is True and field.airtable_name() == "checkbox":
        return "checked"  # as Airtable writes a checked box
    if field.kind == "datetime" and isinstance(value, str) and value[:1].isdigit():  # not a formula's #ERROR!
        moment = datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if field.people:
        keys = value if isinstance(value, list) else [value]
        return ", ".join(str(people.collaborator(str(k))["name"]) for k in keys)
    if field.links:  # as the web app names them: the primary text of records one may read, else the id
        other = str(ref.table.tdef.fields[key].options.get("table", ""))
        names = []
        for rid in (value if isinstance(value, list) else [value]):
            if (other, str(rid)) not in people.titles:
                people.titles[(other, str(rid))] = ref.table.base.table(other).title_of(str(rid), ref.actor)
            names.append(people.titles[(other, str(rid))] or str(rid))
        return ", ".join(names)
    return ref.table.display(record, key, ref.access)


def is_empty(value: Any) -> bool:
    """What Airtable leaves out of a record's `fields`: null, "", [], false."""
    return value is None or value is False or value == "" or value == []


def logical(ref: TableRef, key: str, value: Any) -> Any:
    """A true/false that is not a checkbox's (a formula's or rollup's comparison, AND, TRUE()...)
    as the 1/0 Airtable gives."""
    if isinstance(value, bool) and ref.table.fields[key].airtable_name() != "checkbox":
        return int(value)
    return value


def record_out(ref: TableRef, record: dict[str, Any], *, by_id: bool = False, string: bool = False,
               tz: ZoneInfo | None = None, people: People, base_url: str,
               comment_count: int | None = None) -> dict[str, Any]:
    """An engine record (as the actor sees it) in Airtable's shape: empty values left out, as
    Airtable does; logical results as 1/0 (a 0 is a value, kept)."""
    fields: dict[str, Any] = {}
    for key, raw in record["fields"].items():
        if key not in ref.readable:
            continue
        value = logical(ref, key, raw)
        if is_empty(value):
            continue  # as Airtable does
        name = ref.out_name(key, by_id)
        if string:
            fields[name] = str(value) if value is not raw else cell_text(ref, record, key, people, tz or ref.table.ws.tz)
        elif ref.masked(key):
            fields[name] = value
        else:
            fields[name] = cell_json(ref, key, value, people, base_url)
    out: dict[str, Any] = {"id": record["id"], "createdTime": record["createdTime"], "fields": fields}
    if comment_count is not None:
        out["commentCount"] = comment_count
    return out


# -- writing ---------------------------------------------------------------------------
MAX_INT = 2**53


def _too_big(value: Any) -> bool:
    """Numbers past 2**53 (integers that large overflow the engine's float conversion)."""
    if isinstance(value, list):
        return any(_too_big(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > MAX_INT


def _bad(ref: TableRef, key: str, expected: str) -> ApiError:
    name = ref.table.tdef.fields[key].name
    return ApiError(422, INVALID_VALUE, f'Field "{name}" cannot accept the provided value: expected {expected}')


def _iso(text: str, *, date_only: bool) -> bool:
    """True for ISO dates (YYYY-MM-DD) or ISO date-times with a time, years 1000–9999."""
    try:
        if date_only:
            return len(text) == 10 and date.fromisoformat(text).year >= 1000
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return "T" in text.upper() and moment.year >= 1000


def _strict(ref: TableRef, key: str, value: Any) -> None:
    """Without typecast: refuse values that would need converting, by what the field's type is
    (its kind, its options, whether it holds people, records or files)."""
    field = ref.table.fields[key]
    if value is None or field.computed:
        return
    editor = field.editor()
    if field.people:
        if field.kind == "array" and not isinstance(value, list):
            raise _bad(ref, key, "an array of collaborators")
        if field.kind != "array" and not isinstance(value, (dict, str)):
            raise _bad(ref, key, "a collaborator {id} or {email}")
    elif field.links:
        if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
            raise _bad(ref, key, "an array of record ids")
    elif field.files:
        if not isinstance(value, list) or any(not isinstance(v, dict) for v in value):
            raise _bad(ref, key, "an array of attachment objects")
    elif editor.choices == "options":
        names = option_names(field.options)
        shown = ", ".join(json.dumps(n, ensure_ascii=False) for n in names)
        if editor.several and (not isinstance(value, list) or any(not isinstance(v, str) or v not in names for v in value)):
            raise _bad(ref, key, "a list of the options " + shown)
        if not editor.several and (not isinstance(value, str) or value not in names):
            raise _bad(ref, key, "one of the options " + shown)
    elif field.kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _bad(ref, key, "a number")
    elif field.kind == "boolean":
        if not isinstance(value, bool):
            raise _bad(ref, key, "true or false")
    elif not isinstance(value, str):
        raise _bad(ref, key, "a string")
    elif field.kind == "date" and not _iso(value, date_only=True):
        raise _bad(ref, key, "an ISO date such as 2026-11-25")
    elif field.kind == "datetime" and not _iso(value, date_only=False):
        raise _bad(ref, key, "an ISO 8601 date and time such as 2026-11-25T06:30:00.000Z")


def _attachments(ref: TableRef, key: str, value: Any, current: list[Any]) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    known = {str(a.get("id")): a for a in current if isinstance(a, dict)}
    out = []
    ws = ref.table.ws
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise _bad(ref, key, "uploaded files given as {id}; Gridbase does not fetch files by url, upload them first")
        att_id = item["id"]
        if att_id in known:
            out.append(known[att_id])
            continue
        with ws.storage.reading():
            found = attachments.find(ws, att_id)
        if found is None:
            raise _bad(ref, key, f"uploaded files; no upload has the id {att_id}")
        out.append({"id": att_id, "name": str(item.get("filename") or found["name"]), "size": int(found["size"]),
                    "type": str(found["type"])})
    return out


def fields_in(ref: TableRef, raw: Any, *, typecast: bool, people: People,
              current: dict[str, Any] | None = None) -> dict[str, Any]:
    """A write's `fields` object as engine values by field key."""
    if not isinstance(raw, dict):
        raise invalid_request("Invalid request: 'fields' must be an object")
    out: dict[str, Any] = {}
    for name, value in raw.items():
        key = ref.field_key(str(name))
        field = ref.table.fields[key]
        if _too_big(value):
            raise _bad(ref, key, f"numbers between -{MAX_INT} and {MAX_INT}")
        if not typecast:
            _strict(ref, key, value)
        if value is None:
            out[key] = None
        elif field.people:
            try:
                out[key] = [people.key_for(v) for v in value] if isinstance(value, list) else people.key_for(value)
            except ApiError:
                raise _bad(ref, key, "collaborators given as {id} or {email}") from None
        elif field.files:
            out[key] = _attachments(ref, key, value, load_json_list((current or {}).get(key)))
        elif field.links and isinstance(value, list):
            out[key] = [v.get("id") if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out
