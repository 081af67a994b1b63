"""Cells: one field of one record as the grid and the record page show and edit it.

A *cell* is a small dict the `_cell.html` fragment renders: the display text (already
masked by the engine where a mask applies), option badges, links to linked records or
attachments, and, when the actor may change it, the `data-*` attributes app.js needs to
edit it in place (`edit_url`, `kind`, `value`, `options`). Whether a row may be edited is
decided for a whole page at once (`editable_ids`) with the table's edit rule.
"""

from __future__ import annotations

from typing import Any

from engine import Actor, NotFoundError
from engine.fields.base import load_json_list
from engine.records import Table

MAX_PERSON_OPTIONS = 20
# field type -> app.js editor kind; types missing here are not edited in place.
EDITOR_KINDS = {
    "text": "text", "email": "email", "url": "url", "phone": "tel", "long_text": "textarea",
    "number": "number", "currency": "number", "rating": "number", "percent": "text", "duration": "text",
    "date": "date", "datetime": "datetime-local", "checkbox": "checkbox", "single_select": "select",
    "multi_select": "text", "person": "select",
}


def option_list(fdef_options: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for opt in fdef_options.get("options", []):
        if isinstance(opt, dict):
            out.append({"name": str(opt.get("name", "")), "color": str(opt.get("color", "gray"))})
        else:
            out.append({"name": str(opt), "color": "gray"})
    return out


def editable_ids(table: Table, actor: Actor, ids: list[str]) -> set[str]:
    """The ids among `ids` whose row the actor may edit (table's edit rule)."""
    access = table.access(actor)
    if not access.can_edit or not ids:
        return set()
    if access.edit_filter is None:
        return set(ids)
    sql, params = table.compile_filter(access.edit_filter, actor)
    marks = ", ".join("?" for _ in ids)
    rows = table.ws.storage.conn.execute(
        f"SELECT _id FROM {table.sql} WHERE _id IN ({marks}) AND {sql}", list(ids) + params).fetchall()  # noqa: S608
    return {r[0] for r in rows}


class LinkTitles:
    """Primary-field titles of linked records the actor may read (cached per request)."""

    def __init__(self, table: Table, actor: Actor) -> None:
        self.table = table
        self.actor = actor
        self.cache: dict[tuple[str, str], str | None] = {}

    def title(self, other_key: str, record_id: str) -> str | None:
        key = (other_key, record_id)
        if key not in self.cache:
            other = self.table.base.table(other_key)
            access = other.access(self.actor)
            title: str | None = None
            if access.can_read and access.readable(other.tdef.primary):
                row = other.ws.storage.conn.execute(
                    f"SELECT _id FROM {other.sql} WHERE _id = ? AND _deleted_at IS NULL", (record_id,)).fetchone()
                if row is not None:
                    try:
                        rec = other.get(record_id, actor=self.actor)
                    except NotFoundError:
                        rec = None
                    if rec is not None:
                        title = other.display(rec, other.tdef.primary, access) or record_id
            self.cache[key] = title
        return self.cache[key]


def record_url(table: Table, record_id: str) -> str:
    return f"/b/{table.base.key}/t/{table.key}/r/{record_id}"


def build(table: Table, rec: dict[str, Any], key: str, actor: Actor, *, editable: bool,
          links: LinkTitles | None = None) -> dict[str, Any]:
    """The cell of field `key` of presented record `rec`."""
    access = table.access(actor)
    field = table.fields[key]
    fdef = field.fdef
    value = rec["fields"].get(key)
    masked = bool(access.mask(key))
    cell: dict[str, Any] = {"key": key, "label": fdef.name, "type": fdef.type, "text": "", "badges": [],
                            "links": [], "edit_url": None, "kind": None, "value": "", "options": None,
                            "record": rec["id"]}
    if value is not None:
        cell["text"] = table.display(rec, key, access)
    if not masked and fdef.type in ("single_select", "multi_select") and value is not None:
        colors = {o["name"]: o["color"] for o in option_list(fdef.options)}
        cell["badges"] = [{"name": v, "color": colors.get(v, "gray")} for v in (value if isinstance(value, list) else [value])]
    elif not masked and fdef.type == "link" and value:
        other = fdef.options.get("table", "")
        for rid in load_json_list(value):
            title = links.title(other, rid) if links else None
            cell["links"].append({"text": title or rid, "url": f"/b/{table.base.key}/t/{other}/r/{rid}" if title else None})
    elif not masked and fdef.type == "attachment" and value:
        cell["links"] = [{"text": a.get("name") or a.get("id"), "url": f"/att/{a.get('id')}"} for a in value if isinstance(a, dict)]
    kind = EDITOR_KINDS.get(fdef.type)
    if editable and kind and not masked and not field.computed and access.level(key) == "edit":
        cell["edit_url"] = f"{record_url(table, rec['id'])}/cell/{key}"
        cell["kind"] = kind
        cell["value"] = editor_value(table, rec, key, kind)
        if fdef.type == "single_select":
            cell["options"] = [o["name"] for o in option_list(fdef.options)]
        elif fdef.type == "person":
            people = table.ws.config.people
            if fdef.options.get("multiple") or len(people) > MAX_PERSON_OPTIONS:
                # Typed names (or keys, e-mails) are resolved by the field type; a long option
                # list repeated in every cell of a page would weigh more than the grid itself.
                cell["kind"] = "text"
                cell["value"] = table.display(rec, key)
            else:
                cell["options"] = [{"value": p.key, "label": p.name} for p in people.values()]
    return cell


def editor_value(table: Table, rec: dict[str, Any], key: str, kind: str) -> str:
    """The value an editor starts from, in a form the field type reads back."""
    value = rec["fields"].get(key)
    if value is None:
        return "false" if kind == "checkbox" else ""
    if kind == "checkbox":
        return "true" if value else "false"
    if kind == "datetime-local":
        return table.display(rec, key).replace(" ", "T")
    if kind == "number" and isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else str(value)
    if table.fields[key].type == "person" and not isinstance(value, list):
        return str(value)
    return table.display(rec, key)


def columns_for(table: Table, actor: Actor, wanted: list[str] | None) -> list[str]:
    """Readable fields in view order (or table order)."""
    access = table.access(actor)
    keys = wanted or list(table.fields)
    return [k for k in keys if k in table.fields and access.readable(k)]
