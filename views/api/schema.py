"""Gridbase field types as Airtable's field types: names, options and JSON Schemas of values.

`field_meta` gives a field as the meta API shows it (`{id, name, type, options}`, with the
options Airtable clients such as pyairtable expect); `value_schema` gives the JSON Schema of
its values for the OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from engine.fields.single_select import option_names
from engine.model import FieldDef
from views.api.ids import TableRef, choice_id, field_id, table_id

BY_KIND = {"number": "number", "boolean": "checkbox", "date": "date", "datetime": "dateTime",
           "array": "multipleLookupValues", "text": "singleLineText"}
DATE_FORMAT = {"format": "YYYY-MM-DD", "name": "iso"}
TIME_FORMAT = {"format": "HH:mm", "name": "24hour"}

COLLABORATOR = {"type": "object", "properties": {"id": {"type": "string"}, "email": {"type": "string"},
                                                 "name": {"type": "string"}}}
ATTACHMENT = {"type": "object", "properties": {"id": {"type": "string"}, "url": {"type": "string"},
                                               "filename": {"type": "string"}, "size": {"type": "integer"},
                                               "type": {"type": "string"}}}


def airtable_type(ref: TableRef, fdef: FieldDef) -> str:
    """The field's type as Airtable names it: its field type's own name, else by the kind of its values."""
    field = ref.table.fields[fdef.key]
    return field.airtable_name() or BY_KIND.get(field.kind, "singleLineText")


def _result(kind: str, tz: str) -> dict[str, Any] | None:
    if kind == "number":
        return {"type": "number", "options": {"precision": 2}}
    if kind == "boolean":  # a formula's true/false is 1/0 in Airtable, a number
        return {"type": "number", "options": {"precision": 0}}
    if kind == "date":
        return {"type": "date", "options": {"dateFormat": DATE_FORMAT}}
    if kind == "datetime":
        return {"type": "dateTime", "options": {"timeZone": tz, "dateFormat": DATE_FORMAT, "timeFormat": TIME_FORMAT}}
    if kind == "text":
        return {"type": "singleLineText"}
    return None


def _options(ref: TableRef, fdef: FieldDef, atype: str) -> dict[str, Any] | None:
    base, table, opts = ref.base_key, ref.table.key, fdef.options
    tz = ref.table.ws.config.timezone
    if atype in ("singleSelect", "multipleSelects"):  # the type's options (a department field offers the tree)
        choices = option_names(ref.table.fields[fdef.key].options if fdef.key in ref.table.fields else opts)
        return {"choices": [{"id": choice_id(base, table, fdef.key, n), "name": n} for n in choices]}
    if atype in ("number", "percent"):
        return {"precision": int(opts.get("precision", 0))}
    if atype == "currency":
        return {"precision": int(opts.get("precision", 2)), "symbol": str(opts.get("symbol", "¥"))}
    if atype == "checkbox":
        return {"color": "greenBright", "icon": "check"}
    if atype == "rating":
        return {"max": int(opts.get("max", 5)), "icon": "star", "color": "yellowBright"}
    if atype == "date":
        return {"dateFormat": DATE_FORMAT}
    if atype in ("dateTime", "createdTime"):
        result = _result("datetime", tz)
        return result["options"] if atype == "dateTime" and result else {"result": result}
    if atype == "lastModifiedTime":
        return {"isValid": True, "referencedFieldIds": [], "result": _result("datetime", tz)}
    if atype == "duration":
        return {"durationFormat": "h:mm"}
    if atype == "multipleAttachments":
        return {"isReversed": False}
    if atype == "multipleRecordLinks":
        other = str(opts.get("table", ""))
        inverse = fdef.inverse_of.split(".", 1)[1] if fdef.inverse_of else opts.get("inverse")
        out: dict[str, Any] = {"linkedTableId": table_id(base, other), "isReversed": False,
                               "prefersSingleRecordLink": opts.get("multiple", True) is False}
        if inverse:
            out["inverseLinkFieldId"] = field_id(base, other, str(inverse))
        return out
    if atype in ("multipleLookupValues", "rollup") and ref.table.fields[fdef.key].through_link:
        link = ref.table.tdef.fields.get(str(opts.get("link", "")))
        other = str(link.options.get("table", "")) if link else ""
        kind = ref.table.fields[fdef.key].kind
        return {"isValid": link is not None, "recordLinkFieldId": field_id(base, table, str(opts.get("link", ""))),
                "fieldIdInLinkedTable": field_id(base, other, str(opts.get("field", ""))),
                "referencedFieldIds": [], "result": _result(kind, tz)}
    if atype == "formula":
        return {"formula": str(opts.get("formula", "")), "isValid": not opts.get("broken"),
                "referencedFieldIds": [], "result": _result(ref.table.fields[fdef.key].kind, tz)}
    return None


def field_meta(ref: TableRef, key: str) -> dict[str, Any]:
    fdef = ref.table.tdef.fields[key]
    atype = airtable_type(ref, fdef)
    out: dict[str, Any] = {"id": ref.fid(key), "name": fdef.name, "type": atype}
    if fdef.description:
        out["description"] = fdef.description
    options = _options(ref, fdef, atype)
    if options is not None:
        out["options"] = options
    return out


def value_schema(ref: TableRef, key: str, *, write: bool = False) -> dict[str, Any]:
    """JSON Schema of a field's value (as returned, or as accepted when `write`)."""
    fdef = ref.table.tdef.fields[key]
    atype = airtable_type(ref, fdef)
    desc = {"description": f"{fdef.name} ({atype})"}
    if ref.masked(key):
        return {"type": "string", **desc}
    if atype in ("number", "currency", "percent", "duration", "rating", "autoNumber"):
        schema: dict[str, Any] = {"type": "number"}
    elif atype == "checkbox":
        schema = {"type": "boolean"}
    elif atype in ("singleSelect", "multipleSelects"):
        names = option_names(ref.table.fields[key].options if key in ref.table.fields else fdef.options)
        item = {"type": "string", "enum": names} if names else {"type": "string"}
        schema = {"type": "array", "items": item} if atype == "multipleSelects" else item
    elif atype in ("singleCollaborator", "createdBy", "lastModifiedBy"):
        schema = COLLABORATOR
    elif atype == "multipleCollaborators":
        schema = {"type": "array", "items": COLLABORATOR}
    elif atype == "multipleRecordLinks":
        schema = {"type": "array", "items": {"type": "string", "pattern": "^rec[0-9A-Za-z]{14}$"}}
    elif atype == "multipleAttachments":
        schema = {"type": "array", "items": ATTACHMENT}
    elif atype in ("multipleLookupValues",):
        schema = {"type": "array"}
    elif atype in ("formula", "rollup"):
        schema = {}
    else:  # text, dates and times, and a plugin's own type: the field type's own schema
        schema = ref.table.fields[key].json_schema()
    if write and atype in ("singleSelect", "singleCollaborator"):
        return {"anyOf": [schema, {"type": "null"}], **desc}
    return {**schema, **desc}
