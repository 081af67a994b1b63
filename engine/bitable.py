"""Feishu Bitable (飞书多维表格) schemas as Gridbase base YAML: the mapping, pure (no network, no database).

Owns how a Bitable app's tables, fields and views (as Feishu's bitable v1 OpenAPI lists them:
`fields` items `{field_id, field_name, type, ui_type, is_primary, property}`, `views` items
`{view_id, view_name, view_type, property}`) become one Gridbase base: `plan_base` gives a
`BasePlan` whose `yaml()` is the base YAML and whose `notes` say what was approximated or left
out and why. Values of records are converted by engine.bitable_values; reading a dump is
engine.bitable_dump's; the import itself engine.bitable_import's.

Words: a *code* is Bitable's field type number (1 text, 2 number, …, 1005 auto number); its
`ui_type` refines it (Currency, Progress, Rating, Barcode, Email). A field's *key* is made from
its name (any language), stable (the same name gives the same key; `known` keys from an
earlier import win) and unique in its table. The primary field becomes the table's `primary`.
Each table gets a hidden `bitable_record_id` text field (kept out of views and forms) that
holds the Bitable record id, so a second import updates instead of duplicating.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from engine.bitable_filters import view_filter
from engine.bitable_formula import translate_formula

TEXT, NUMBER, SINGLE, MULTI, DATE, CHECKBOX, PERSON, PHONE, URL, ATTACHMENT = 1, 2, 3, 4, 5, 7, 11, 13, 15, 17
LINK, LOOKUP, FORMULA, DUPLEX, LOCATION, GROUP = 18, 19, 20, 21, 22, 23
CREATED_TIME, MODIFIED_TIME, CREATED_BY, MODIFIED_BY, AUTONUMBER = 1001, 1002, 1003, 1004, 1005

COMPUTED_CODES = (LOOKUP, FORMULA, CREATED_TIME, MODIFIED_TIME, CREATED_BY, MODIFIED_BY, AUTONUMBER)
RECORD_ID_KEY = "bitable_record_id"
# Bitable's option colours are numbers (0–54, ten hues in light and dark shades): each to the
# named colour of Gridbase's accessible palette with the nearest hue.
PALETTE = ("blue", "cyan", "teal", "green", "yellow", "orange", "red", "pink", "purple", "gray")
CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "HKD": "HK$", "KRW": "₩"}
# Codes whose values are not carried into a field of their own kind: kept as text (approximated).
AS_TEXT = {LOCATION: "location (kept as its address text)", GROUP: "group chat (kept as the group names)"}
PLAIN = {CHECKBOX: "checkbox", PHONE: "phone", URL: "url", ATTACHMENT: "attachment", CREATED_TIME: "created_time",
         MODIFIED_TIME: "modified_time", CREATED_BY: "created_by", MODIFIED_BY: "modified_by"}


@dataclass
class FieldPlan:
    """One Bitable field and what it becomes: `spec` is its YAML (None: not carried over)."""

    field_id: str
    name: str
    key: str
    code: int
    spec: dict[str, Any] | None
    link_table: str | None = None  # Bitable table id a link field points to
    inverse_side: bool = False  # the second side of a two-way link: written through the first
    back: str | None = None  # the first side of a two-way link: the field id of its second side
    options: dict[str, str] = field(default_factory=dict)  # select option id → name


@dataclass
class TablePlan:
    table_id: str
    name: str
    key: str
    fields: list[FieldPlan] = field(default_factory=list)
    primary: str | None = None
    views: dict[str, Any] = field(default_factory=dict)
    forms: dict[str, Any] = field(default_factory=dict)

    def by_id(self) -> dict[str, FieldPlan]:
        return {f.field_id: f for f in self.fields}


@dataclass
class BasePlan:
    key: str
    name: str
    tz: str = "Asia/Shanghai"  # the workspace's: a day in a filter is a day there
    tables: list[TablePlan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # approximations and what was left out, with why

    def yaml(self) -> dict[str, Any]:
        """The base YAML (a dict: dump it with yaml.safe_dump(allow_unicode=True, sort_keys=False))."""
        tables: dict[str, Any] = {}
        for t in self.tables:
            fields = {f.key: f.spec for f in t.fields if f.spec is not None and not f.inverse_side}
            fields[RECORD_ID_KEY] = {"type": "text", "name": RECORD_ID_KEY, "index": True,
                                     "description": "Bitable record id (多维表格记录 ID): a later import updates by it"}
            body: dict[str, Any] = {"name": t.name}
            if t.primary:
                body["primary"] = t.primary
            body["fields"] = fields
            if t.views:
                body["views"] = t.views
            if t.forms:
                body["forms"] = t.forms
            tables[t.key] = body
        return {"base": self.key, "name": self.name, "description": "Imported from Feishu Bitable (从飞书多维表格导入)",
                "tables": tables}

    def ids(self) -> dict[str, str]:
        """Bitable table and field ids → their keys (kept beside the YAML so a later import keeps them)."""
        out = {t.table_id: t.key for t in self.tables}
        out.update({f"{t.table_id}.{f.field_id}": f.key for t in self.tables for f in t.fields})
        return out


def make_key(name: str, taken: set[str], known: str | None = None) -> str:
    """A key from `name`: letters (any language), digits and _, starting with a letter; unique in `taken`."""
    if known and known not in taken:
        taken.add(known)
        return known
    key = re.sub(r"\W+", "_", name.strip()).strip("_").lower() or "field"
    if not (key[0].isalpha() or not key[0].isascii()):
        key = "f_" + key
    key = key[:60]
    candidate, n = key, 2
    while candidate in taken:
        candidate, n = f"{key}_{n}", n + 1
    taken.add(candidate)
    return candidate


def colour(value: Any) -> str:
    """A Bitable option colour (a number, or a name) as a named colour of the palette."""
    if isinstance(value, int) and not isinstance(value, bool):
        return PALETTE[value % len(PALETTE)]
    return str(value) if isinstance(value, str) and value in PALETTE else "gray"


def _decimals(formatter: Any) -> int:
    text = str(formatter or "0")
    return len(text.split(".", 1)[1].rstrip("%")) if "." in text else 0


def _options(prop: dict[str, Any]) -> list[Any]:
    out, seen = [], set()
    for opt in prop.get("options") or []:
        name = str(opt.get("name") or "").strip()
        if name and name not in seen:
            seen.add(name)
            out.append({"name": name, "color": colour(opt.get("color"))} if "color" in opt else name)
    return out


def _number(ui: str, prop: dict[str, Any]) -> dict[str, Any]:
    if ui == "Currency":
        code = str(prop.get("currency_code") or "CNY")
        return {"type": "currency", "symbol": CURRENCY_SYMBOLS.get(code, code), "precision": _decimals(prop.get("formatter") or "0.00")}
    if ui == "Progress":
        return {"type": "percent", "precision": max(_decimals(prop.get("formatter")) - 2, 0)}
    if ui == "Rating":
        return {"type": "rating", "max": int(prop.get("max") or 5)}
    return {"type": "number", "precision": _decimals(prop.get("formatter"))}


def _autonumber(prop: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "autonumber"}
    serial = prop.get("auto_serial") or {}
    prefix = "".join(str(o.get("value") or "") for o in serial.get("options") or [] if o.get("type") == "fixed_text")
    digits = [o.get("value") for o in serial.get("options") or [] if o.get("type") == "system_number"]
    if prefix:
        spec["prefix"] = prefix
    if digits and str(digits[0]).isdigit():
        spec["digits"] = int(digits[0])
    return spec


def plan_base(key: str, name: str, tables: list[dict[str, Any]], known: dict[str, str] | None = None,
              tz: str = "Asia/Shanghai") -> BasePlan:
    """The base for a Bitable app. `tables`: [{table_id, name, fields: [...], views: [...]}] as the API lists them."""
    known = known or {}
    plan = BasePlan(key=key, name=name, tz=tz)
    taken: set[str] = set()
    for t in tables:
        tid = str(t["table_id"])
        plan.tables.append(TablePlan(table_id=tid, name=str(t.get("name") or tid),
                                     key=make_key(str(t.get("name") or tid), taken, known.get(tid))))
    by_table = {tp.table_id: tp for tp in plan.tables}
    for t, tp in zip(tables, plan.tables, strict=True):
        used = {RECORD_ID_KEY}
        for f in t.get("fields") or []:
            fid = str(f["field_id"])
            fname = str(f.get("field_name") or fid)
            tp.fields.append(FieldPlan(field_id=fid, name=fname, code=int(f.get("type") or 0), spec=None,
                                       key=make_key(fname, used, known.get(f"{tp.table_id}.{fid}"))))
    for t, tp in zip(tables, plan.tables, strict=True):
        keys = {f.field_id: f.key for f in tp.fields}
        pairs = list(zip(t.get("fields") or [], tp.fields, strict=True))
        # Lookups last: they follow link fields, which must be placed first.
        for f, fp in sorted(pairs, key=lambda pair: pair[1].code == LOOKUP):
            fp.options = {str(o.get("id")): str(o.get("name")) for o in (f.get("property") or {}).get("options") or []
                          if isinstance(o, dict) and o.get("id")}
            fp.spec = _field(plan, tp, fp, f, by_table, keys)
        for f, fp in pairs:
            if fp.spec is not None:
                fp.spec = {"type": fp.spec.pop("type"), "name": fp.name, **fp.spec}
                if f.get("is_primary"):
                    tp.primary = fp.key
    _pair_links(plan, by_table)
    for t, tp in zip(tables, plan.tables, strict=True):
        for v in t.get("views") or []:
            _view(plan, tp, v)
    return plan


def _field(plan: BasePlan, tp: TablePlan, fp: FieldPlan, f: dict[str, Any], by_table: dict[str, TablePlan],
           keys: dict[str, str]) -> dict[str, Any] | None:
    code, ui, prop = fp.code, str(f.get("ui_type") or ""), f.get("property") or {}
    where = f"{tp.name}.{fp.name}"
    if code == TEXT:
        if ui == "Email":
            return {"type": "email"}
        if ui == "Barcode":
            plan.notes.append(f"{where}: a barcode field is kept as text (scanning is not carried over)")
            return {"type": "text"}
        return {"type": "text"} if f.get("is_primary") else {"type": "long_text"}
    if code == NUMBER:
        return _number(ui, prop)
    if code in (SINGLE, MULTI):
        return {"type": "single_select" if code == SINGLE else "multi_select", "options": _options(prop)}
    if code == DATE:
        formatter = str(prop.get("date_formatter") or "yyyy/MM/dd")
        return {"type": "datetime" if "HH" in formatter or "hh" in formatter else "date"}
    if code in PLAIN:
        return {"type": PLAIN[code]}
    if code == PERSON:
        return {"type": "person", "multiple": bool(prop.get("multiple", True))}
    if code in (LINK, DUPLEX):
        target = by_table.get(str(prop.get("table_id") or ""))
        if target is None:
            plan.notes.append(f"{where}: links to a table that is not in this app; left out")
            return None
        fp.link_table = target.table_id
        return {"type": "link", "table": target.key, "multiple": bool(prop.get("multiple", True))}
    if code == LOOKUP:
        return _lookup(plan, tp, fp, prop, by_table, where)
    if code == FORMULA:
        text, why = translate_formula(str(prop.get("formula_expression") or ""), tp.table_id, keys)
        if text is not None:
            return {"type": "formula", "formula": text}
        plan.notes.append(f"{where}: the formula was not translated ({why}); its values are kept as text")
        return {"type": "text"}
    if code == AUTONUMBER:
        plan.notes.append(f"{where}: auto numbers are given again, in the order the records are imported")
        return _autonumber(prop)
    if code in AS_TEXT:
        plan.notes.append(f"{where}: {AS_TEXT[code]}")
        return {"type": "text"}
    plan.notes.append(f"{where}: Bitable field type {code} ({ui or 'unknown'}) has no Gridbase equivalent; left out")
    return None


def _lookup(plan: BasePlan, tp: TablePlan, fp: FieldPlan, prop: dict[str, Any], by_table: dict[str, TablePlan],
            where: str) -> dict[str, Any]:
    """A lookup through one of this table's link fields (by `link_field` or the only link to its table), else text."""
    target = by_table.get(str(prop.get("table_id") or ""))
    source = target.by_id().get(str(prop.get("target_field") or "")) if target else None
    links = [f for f in tp.fields if f.code in (LINK, DUPLEX) and target is not None and f.link_table == target.table_id
             and str(f.field_id) == str(prop.get("link_field") or f.field_id)]
    if target is not None and source is not None and len(links) == 1:
        return {"type": "lookup", "link": links[0].key, "field": source.key}
    plan.notes.append(f"{where}: the lookup does not follow one link field of this table; its values are kept as text")
    return {"type": "text"}


def _pair_links(plan: BasePlan, by_table: dict[str, TablePlan]) -> None:
    """Two-way links (code 21) declared on both sides name each other as `inverse`; lookups settle their links."""
    seen: set[tuple[str, str]] = set()
    for tp in plan.tables:
        for fp in tp.fields:
            if fp.code != DUPLEX or fp.spec is None or fp.link_table is None:
                continue
            other = by_table[fp.link_table]
            back = next((o for o in other.fields if o.code == DUPLEX and o.link_table == tp.table_id
                         and (o.field_id, other.table_id) not in seen and o is not fp), None)
            seen.add((fp.field_id, tp.table_id))
            if back is None or (back.field_id, other.table_id) in seen:
                continue
            seen.add((back.field_id, other.table_id))
            fp.spec["inverse"] = back.key
            fp.spec["inverse_name"] = back.name
            fp.back = back.field_id
            back.inverse_side = True


def _view(plan: BasePlan, tp: TablePlan, v: dict[str, Any]) -> None:
    vtype = str(v.get("view_type") or "grid")
    name = str(v.get("view_name") or v.get("view_id") or vtype)
    prop = v.get("property") or {}
    fields = tp.by_id()
    carried = {f.field_id: f for f in fields.values() if f.spec is not None}
    hidden = set(prop.get("hidden_fields") or [])
    shown = [f.key for f in carried.values() if f.field_id not in hidden]
    taken = set(tp.views) | set(tp.forms)
    key = make_key(name, taken)
    if vtype == "form":
        # What a person types in Bitable's form too: no computed or system-kept fields.
        writable = [f.key for f in carried.values() if f.code not in COMPUTED_CODES
                    and f.field_id not in hidden and not f.inverse_side]
        tp.forms[key] = {"name": name, "fields": writable}
        return
    view: dict[str, Any] = {"type": "grid", "name": name, "fields": shown}
    kinds = {f.key: f.spec["type"] for f in carried.values() if f.spec}
    groups = [fields[g["field_id"]].key for g in prop.get("group_info") or [] if g.get("field_id") in carried]
    if vtype == "kanban":
        column = next((g for g in groups if kinds.get(g) in ("single_select", "person")), None) or \
            next((k for k, t in kinds.items() if t == "single_select"), None)
        if column:
            view.update(type="kanban", group_by=column)
        else:
            plan.notes.append(f"{tp.name}: kanban view {name} has no single select to group by; kept as a grid")
    elif vtype == "calendar" or vtype == "gantt":
        day = next((fields[d].key for d in (prop.get("date_field"), prop.get("start_date_field"))
                    if d in carried), None) or next((k for k, t in kinds.items() if t in ("date", "datetime")), None)
        if day:
            view.update(type="calendar", date_field=day)
            if vtype == "gantt":
                plan.notes.append(f"{tp.name}: Gantt view {name} is a calendar of its start date")
        else:
            plan.notes.append(f"{tp.name}: {vtype} view {name} has no date field; kept as a grid")
    elif vtype == "gallery":
        view["type"] = "gallery"
        cover = next((k for k, t in kinds.items() if t == "attachment"), None)
        if cover:
            view["cover"] = cover
    elif vtype != "grid":
        plan.notes.append(f"{tp.name}: {vtype} view {name} is kept as a grid")
    if groups and view["type"] == "grid":
        view["group_by"] = groups[0]
    sort = [("-" if s.get("desc") else "") + fields[s["field_id"]].key for s in prop.get("sort_info") or []
            if s.get("field_id") in carried]
    if sort:
        view["sort"] = sort
    flt = _filter(plan, tp, name, prop.get("filter_info") or {}, carried)
    if flt:
        view["filter"] = flt
    tp.views[key] = view


def _filter(plan: BasePlan, tp: TablePlan, view: str, info: dict[str, Any], carried: dict[str, FieldPlan]) -> dict[str, Any] | None:
    """A view's filter_info as a Gridbase filter (engine.bitable_filters); conditions it cannot say are dropped with a note."""
    flt, left_out = view_filter(info, carried, plan.tz, (DATE, CREATED_TIME, MODIFIED_TIME))
    plan.notes += [f"{tp.name}: view {view}: the condition {text} was left out" for text in left_out]
    return flt
