"""JSON Schemas of the values a write accepts without `typecast`, per table, for OpenAPI.

Only fields the caller may write appear (edit level, or create level when creating);
computed fields never do. The schemas are as strict as the API without `typecast`: a number
for a number, an exact option for a select, a collaborator `{id}` for a person.
"""

from __future__ import annotations

from typing import Any

from engine.fields.single_select import option_names
from views.api.ids import TableRef

PHONE = "^\\+?[0-9]{5,15}$"
URL = "^https?://[a-z0-9]+(\\.[a-z0-9]+)*\\.[a-z]{2,6}(/[A-Za-z0-9_.-]*)*$"
EMAIL = "^[a-z0-9._-]{1,20}@[a-z0-9]+(\\.[a-z0-9]+)*\\.[a-z]{2,6}$"
YEAR = "^[1-9][0-9]{3}-"
TEXT_CHAR = "[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]"
VISIBLE_CHAR = "[^\\s\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]"
BIG = 2**53


def _people(ref: TableRef) -> list[str]:
    return sorted(ref.table.ws.config.people)


def write_value(ref: TableRef, key: str) -> dict[str, Any] | None:
    """The schema of one writable field's value, or None for types the API cannot take as JSON."""
    fdef = ref.table.tdef.fields[key]
    opts = fdef.options
    required = fdef.required
    t = fdef.type
    schema: dict[str, Any]
    if t in ("text", "long_text"):
        # No control characters but tab, line feed and carriage return (the engine refuses them).
        schema = {"type": "string", "pattern": f"^{TEXT_CHAR}*$"}
        if required:
            schema["pattern"] = f"^{TEXT_CHAR}*{VISIBLE_CHAR}{TEXT_CHAR}*$"
        if opts.get("max_length"):
            schema["maxLength"] = int(opts["max_length"])
    elif t in ("number", "currency", "percent"):
        schema = {"type": "number", "minimum": opts.get("min", -BIG), "maximum": opts.get("max", BIG)}
    elif t == "duration":
        schema = {"type": "integer", "minimum": 0, "maximum": 10**9}
    elif t == "rating":
        schema = {"type": "integer", "minimum": 1, "maximum": int(opts.get("max", 5))}
    elif t == "checkbox":
        schema = {"type": "boolean"}
    elif t == "single_select":
        schema = {"type": "string", "enum": option_names(opts)}
    elif t == "multi_select":
        schema = {"type": "array", "items": {"type": "string", "enum": option_names(opts)}}
        if required:
            schema["minItems"] = 1
    elif t == "date":
        schema = {"type": "string", "format": "date", "pattern": YEAR}
    elif t == "datetime":
        schema = {"type": "string", "format": "date-time", "pattern": YEAR}
    elif t == "email":
        schema = {"type": "string", "pattern": EMAIL}
    elif t == "phone":
        schema = {"type": "string", "pattern": PHONE}
    elif t == "url":
        schema = {"type": "string", "pattern": URL}
    elif t == "person":
        person = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "enum": _people(ref)}}}
        schema = {"type": "array", "items": person} if opts.get("multiple") else person
    elif t == "link":
        schema = {"type": "array", "maxItems": 10 if opts.get("multiple", True) else 1,
                  "items": {"type": "string", "pattern": "^rec[0-9A-Za-z]{14}$"}}
    else:
        return None
    schema["description"] = f"{fdef.name} ({t})"
    return schema


def write_fields(ref: TableRef) -> tuple[dict[str, Any], dict[str, Any]]:
    """(fields accepted on create, fields accepted on update) as object schemas."""
    create: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
    update: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
    required = []
    for key in ref.readable:
        if ref.table.fields[key].computed or ref.masked(key):
            continue
        schema = write_value(ref, key)
        if schema is None:
            continue
        fdef = ref.table.tdef.fields[key]
        level = ref.access.level(key)
        nullable = schema if fdef.required else {"anyOf": [schema, {"type": "null"}]}
        if level in ("edit", "create") and ref.access.can_create:
            create["properties"][fdef.name] = nullable
            if fdef.required and fdef.default is None:
                required.append(fdef.name)
        if level == "edit":
            update["properties"][fdef.name] = nullable
    if required:
        create["required"] = required
    return create, update
