"""Cells: one field of one record as the grid and the record page show and edit it.

A *cell* is a small dict the `_cell.html` fragment renders: the display text (already
masked by the engine where a mask applies), option badges, links to linked records or
attachments, and, when the actor may change it, the `data-*` attributes app.js needs to
edit it in place (`edit_url`, `kind`, `value`, `options`). Whether a row may be edited is
decided for a whole page at once (`editable_ids`) with the table's edit rule.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup
from starlette.responses import Response

from engine import Actor, Workspace, attachments, editable, org
from engine import people as people_db
from engine.fields.base import Editor, load_json_list
from engine.permissions import TableAccess
from engine.records import Table

MAX_PEOPLE_RESULTS = 20
# Input attributes a cell editor or a form input may carry (Editor.attrs); others are ignored.
INPUT_ATTRS = ("maxlength", "pattern", "placeholder", "inputmode", "autocomplete", "step", "min", "max")

# -- option colours ----------------------------------------------------------------------------
# Named colours with an `.opt-NAME` rule in app.css. Airtable's spellings (blueBright,
# tealLight2, redDark1) fold to their hue; a hex colour (#22aa66, #2a6) becomes `x22aa66`,
# whose rule is made from the workspace's options by `options_css` (the CSP allows no inline
# style attributes); anything else is gray.
NAMED_COLOURS = ("red", "orange", "yellow", "green", "teal", "cyan", "blue", "purple", "pink", "gray")
COLOUR_ALIASES = {"grey": "gray", "brown": "orange", "amber": "yellow", "lime": "green", "indigo": "blue",
                  "violet": "purple", "magenta": "pink", "black": "gray", "white": "gray", "silver": "gray"}
HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
SHADE_SUFFIX = re.compile(r"(?:light[12]?|bright|dark[12]?)$")


def colour_class(raw: Any) -> str:
    """The `opt-…` class suffix of an option colour: a named hue, `x` + 6 hex digits, or gray."""
    text = str(raw or "").strip()
    if HEX_COLOUR.match(text):
        digits = text[1:].lower()
        return "x" + (digits if len(digits) == 6 else "".join(c * 2 for c in digits))
    name = SHADE_SUFFIX.sub("", re.sub(r"[\s_-]", "", text.lower()))
    name = COLOUR_ALIASES.get(name, name)
    return name if name in NAMED_COLOURS else "gray"


def hex_colours(ws: Workspace) -> list[str]:
    """Every hex colour class (`x22aa66`) used by an option in the workspace."""
    found = set()
    for bdef in ws.config.bases.values():
        for tdef in bdef.tables.values():
            for fdef in tdef.fields.values():
                for opt in fdef.options.get("options", []) if isinstance(fdef.options.get("options"), list) else []:
                    if isinstance(opt, dict):
                        token = colour_class(opt.get("color"))
                        if token.startswith("x"):
                            found.add(token)
    return sorted(found)


def luminance(rgb: list[int]) -> float:
    """WCAG 2.1 relative luminance of an sRGB colour (0–255 channels)."""
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: list[int], b: list[int]) -> float:
    """WCAG 2.1 contrast ratio of two colours (1 to 21)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


TEXT_CONTRAST = 4.5  # WCAG 2.1 AA for the text of an option's tag


def options_css(ws: Workspace) -> str:
    """CSS rules for the hex option colours: a light tint as background, and as text a shade of
    the colour dark enough to meet 4.5:1 on that tint (WCAG 2.1 AA), however light the colour."""
    rules = []
    for token in hex_colours(ws):
        rgb = [int(token[i:i + 2], 16) for i in (1, 3, 5)]
        tint_rgb = [round(c * 0.22 + 255 * 0.78) for c in rgb]
        factor = 0.5
        shade_rgb = [round(c * factor) for c in rgb]
        while contrast(shade_rgb, tint_rgb) < TEXT_CONTRAST and factor > 0:
            factor = round(factor - 0.05, 2)
            shade_rgb = [round(c * factor) for c in rgb]
        tint = "".join(f"{c:02x}" for c in tint_rgb)
        shade = "".join(f"{c:02x}" for c in shade_rgb)
        rules.append(f".opt-{token} {{ background: #{tint}; color: #{shade}; }}\n"
                     f".opt-{token}.swatch, .opt-{token} .swatch {{ background: #{token[1:]}; }}")
    return "\n".join(rules) + ("\n" if rules else "")


def options_etag(css: str) -> str:
    return '"' + hashlib.sha256(css.encode()).hexdigest()[:16] + '"'


_option_lists: dict[int, tuple[Any, tuple[tuple[str, str], ...], dict[str, str]]] = {}


def _options_of(fdef_options: dict[str, Any]) -> tuple[Any, tuple[tuple[str, str], ...], dict[str, str]]:
    """(the options, (name, colour class) of each, name → colour class), worked out once per
    field definition (a grid page asks for every cell), as permissions._formula_deps: the cache
    holds the options list itself and is asked by its identity."""
    options = fdef_options.get("options", [])
    cached = _option_lists.get(id(options))
    if cached is None or cached[0] is not options:
        pairs = []
        for opt in options:
            if isinstance(opt, dict):
                pairs.append((str(opt.get("name", "")), colour_class(opt.get("color", "gray"))))
            else:
                pairs.append((str(opt), "gray"))
        if len(_option_lists) > 10_000:  # definitions of workspaces reloaded many times
            _option_lists.clear()
        cached = _option_lists[id(options)] = (options, tuple(pairs), dict(pairs))
    return cached


def option_list(fdef_options: dict[str, Any]) -> list[dict[str, str]]:
    """A select's options as {name, color} (a new list each call, to change at will)."""
    return [{"name": name, "color": color} for name, color in _options_of(fdef_options)[1]]


def editable_ids(table: Table, actor: Actor, ids: list[str]) -> set[str]:
    """The ids among `ids` whose row the actor may edit (table's edit rule)."""
    return editable.editable_ids(table, actor, ids)


def attr_json(value: Any) -> Markup:
    """`value` as JSON for an HTML attribute, exactly as Jinja's `tojson` filter writes it."""
    return htmlsafe_json_dumps(value, sort_keys=True)


class LinkTitles:
    """What the cells of one page share, worked out once per page (request): the actor's access,
    primary-field titles of linked records the actor may read, and `columns`, what a column's
    cells all carry alike (their editor's options and settings, as JSON)."""

    def __init__(self, table: Table, actor: Actor) -> None:
        self.table = table
        self.actor = actor
        self._access: TableAccess | None = None
        self.cache: dict[tuple[str, str], str | None] = {}
        self._people: list[dict[str, str]] | None = None
        self.columns: dict[str, dict[str, Any]] = {}
        self._columns: dict[str, Column] = {}
        self.read_only: dict[tuple[Any, ...], dict[str, Any]] = {}  # read_only_cell's, by field and value

    @property
    def access(self) -> TableAccess:
        """The actor's access to the table, worked out once."""
        if self._access is None:
            self._access = self.table.access(self.actor)
        return self._access

    def column(self, key: str) -> Column:
        """What the cells of field `key` share (Column), worked out once per page."""
        found = self._columns.get(key)
        if found is None:
            found = self._columns[key] = Column(self.table, key, self.access)
        return found

    def people(self) -> list[dict[str, str]]:
        """`active_people`, read once per request."""
        if self._people is None:
            self._people = active_people(self.table.ws)
        return self._people

    def prefetch(self, records: list[dict[str, Any]], keys: list[str]) -> None:
        """Name every record the `keys` columns of `records` link to, a linked table at a time
        (Reader.titles_of: one read and one access-log entry per table, not one per link)."""
        wanted: dict[str, list[str]] = {}
        for key in keys:
            field = self.table.fields.get(key)
            if field is None or field.shown_as != "links" or self.access.mask(key) or not self.access.readable(key):
                continue
            other = field.fdef.options.get("table", "")
            for rec in records:
                value = rec["fields"].get(key)
                if value:
                    wanted.setdefault(other, []).extend(r for r in load_json_list(value) if (other, r) not in self.cache)
        for other, ids in wanted.items():
            for rid, title in self.table.base.table(other).titles_of(ids, self.actor).items():
                self.cache[(other, rid)] = title

    def title(self, other_key: str, record_id: str) -> str | None:
        key = (other_key, record_id)
        if key not in self.cache:
            self.cache[key] = self.table.base.table(other_key).title_of(record_id, self.actor)
        return self.cache[key]


def record_url(table: Table, record_id: str) -> str:
    return f"/b/{table.base.key}/t/{table.key}/r/{record_id}"


class Column:
    """What every cell of one field shares on one page for one actor, worked out once (a grid
    page builds a cell for every field of every row): the field, its editor, whether the actor
    sees it masked, and whether they may edit it at all (the row's edit rule is the cell's)."""

    __slots__ = ("key", "field", "fdef", "label", "masked", "shown_as", "editor", "kind", "widget", "editable",
                 "uploads", "colors", "other", "primary")

    def __init__(self, table: Table, key: str, access: TableAccess) -> None:
        field = table.fields[key]
        self.key, self.field, self.fdef = key, field, field.fdef
        self.label = field.fdef.name
        self.masked = bool(access.mask(key))
        self.shown_as = field.shown_as
        self.editor = field.editor()
        self.kind = self.editor.cell
        self.widget = self.editor.widget
        level_edit = access.level(key) == "edit"
        self.editable = bool(self.kind) and not self.masked and not field.computed and level_edit
        self.uploads = self.widget == "file" and not self.masked and level_edit
        self.colors = _options_of(field.fdef.options)[2] if self.shown_as == "badges" else {}  # read only
        self.other = field.fdef.options.get("table", "")
        self.primary = key == table.tdef.primary


def build(table: Table, rec: dict[str, Any], key: str, actor: Actor, *, editable: bool,
          links: LinkTitles | None = None) -> dict[str, Any]:
    """The cell of field `key` of presented record `rec`."""
    access = links.access if links is not None else table.access(actor)  # worked out once per page
    col = links.column(key) if links is not None else Column(table, key, access)
    value = rec["fields"].get(key)
    masked = col.masked
    cell: dict[str, Any] = {"key": key, "label": col.label, "type": col.fdef.type, "text": "", "badges": [],
                            "links": [], "edit_url": None, "kind": None, "value": "", "options": None,
                            "record": rec["id"], "editor": None, "upload_url": None,
                            "primary": col.primary}  # drawn first and large on a phone's card
    if value is not None:
        cell["text"] = table.display(rec, key, access)
    if not masked and col.shown_as == "badges" and value is not None:
        colors = col.colors
        cell["badges"] = [{"name": v, "color": colors.get(v, "gray")} for v in (value if isinstance(value, list) else [value])]
    elif not masked and col.shown_as == "links" and value:
        other = col.other
        for rid in load_json_list(value):
            title = links.title(other, rid) if links else None
            cell["links"].append({"id": rid, "text": title or rid,
                                  "url": f"/b/{table.base.key}/t/{other}/r/{rid}" if title else None})
    elif not masked and col.shown_as == "files" and value:
        cell["links"] = [{"text": a.get("name") or a.get("id"), "url": f"/att/{a.get('id')}"} for a in value if isinstance(a, dict)]
    editor = col.editor
    kind = col.kind
    cell["widget"] = col.widget
    if editable and col.editable and kind:
        cell["edit_url"] = f"{record_url(table, rec['id'])}/cell/{key}"
        cell["kind"] = kind
        cell["value"] = editor_value(table, rec, key, kind, text=cell["text"], editor=editor)
        # What every cell of the column carries alike, with its JSON, once per page; the people
        # editor's settings name the cell's own people, so they are the cell's.
        column = links.columns.get(key) if links is not None else None
        if column is None:
            column = {"attrs": input_attrs(editor.attrs)}
            column["attrs_json"] = attr_json(column["attrs"])
            if editor.choices != "people":
                column["editor"] = editor_config(table, key, actor, None, editor, links)
                column["editor_json"] = attr_json(column["editor"])
            if editor.choices == "options":
                column["options"] = [o["name"] for o in option_list(col.field.options)]
                column["options_json"] = attr_json(column["options"])
            if links is not None:
                links.columns[key] = column
        cell["attrs"], cell["attrs_json"] = column["attrs"], column["attrs_json"]
        if editor.choices == "people":  # the same people in many rows (a doctor, a nurse): once each
            named = column.setdefault("people", {})
            if repr(value) not in named:
                config = editor_config(table, key, actor, value, editor, links)
                named[repr(value)] = (config, attr_json(config))
            cell["editor"], cell["editor_json"] = named[repr(value)]
        else:
            cell["editor"], cell["editor_json"] = column["editor"], column["editor_json"]
        if editor.choices == "options":
            cell["options"], cell["options_json"] = column["options"], column["options_json"]
        elif editor.choices == "records":
            if "link" not in column:  # the picker's settings: the column's, worked out once
                column["link"] = link_picker(table, key, actor)
            cell["link"] = column["link"]
            if cell["link"] is None:  # the linked table is out of the actor's sight: nothing to pick
                cell.update(edit_url=None, kind=None, value="", editor=None)
        elif editor.choices == "people":
            cell["value"] = ",".join(str(v) for v in value) if isinstance(value, list) else str(value or "")
    if editable and col.uploads:
        cell["upload_url"] = f"{record_url(table, rec['id'])}/attach/{key}"  # files dropped on the cell (views.pages.files)
    return cell


def editor_config(table: Table, key: str, actor: Actor, value: Any, editor: Editor,
                  links: LinkTitles | None = None) -> dict[str, Any]:
    """What the page's editor (editors.js, `Gridbase.editors[widget]`) needs beyond the value:
    the options with their colours, where to search people, the people already chosen (by
    name), the workspace's timezone for "today", a plugin editor's script."""
    config: dict[str, Any] = {}  # only what an editor needs: a grid page carries one per cell
    if table.fields[key].kind in ("date", "datetime"):
        config["tz"] = table.ws.config.timezone
    if editor.several and editor.choices in ("options", "people"):
        config["multiple"] = True
    if editor.choices == "options":  # an option's label is its name
        config["choices"] = [{"value": o["name"], "color": o["color"]} for o in option_list(table.fields[key].options)]
    elif editor.choices == "people":
        config["search_url"] = people_search_url(table, key)
        named = [str(v) for v in value] if isinstance(value, list) else [str(value)] if value else []
        config["chosen"] = [{"value": p["key"], "label": p["name"]} for p in person_choices(table.ws, [], named)]
    if editor.script:
        config.update(widget=editor.widget, script=editor_script_url(editor.widget))
    return config


def people_search_url(table: Table, key: str) -> str:
    return f"/b/{table.base.key}/t/{table.key}/people/{key}"


def editor_script_url(widget: str) -> str:
    """Where a plugin editor's script is served (views.pages.record `editor_script`)."""
    return f"/editors/{widget}.js"


def editor_scripts(ws: Workspace) -> dict[str, str]:
    """widget -> the file of a plugin editor's script, for every field of the workspace whose
    editor ships one (only these files are ever served)."""
    found: dict[str, str] = {}
    for base in ws.bases():
        for table in base.tables():
            for field in table.fields.values():
                editor = field.editor()
                if editor.script:
                    found.setdefault(editor.widget, editor.script)
    return found


def input_attrs(attrs: dict[str, Any]) -> dict[str, str]:
    """The attributes of an editor that an input may carry, as text (None left out)."""
    return {k: str(attrs[k]) for k in INPUT_ATTRS if attrs.get(k) is not None}


def build_row(table: Table, rec: dict[str, Any], keys: list[str], actor: Actor) -> list[dict[str, Any]]:
    """The cells of fields `keys` of one presented record (its edit rule and links read once)."""
    editable = rec["id"] in editable_ids(table, actor, [rec["id"]])
    links = LinkTitles(table, actor)
    return [build(table, rec, k, actor, editable=editable, links=links) for k in keys]


def editor_value(table: Table, rec: dict[str, Any], key: str, kind: str, text: str | None = None,
                 editor: Editor | None = None) -> str:
    """The value an editor starts from, in a form the field type reads back. `text`: the
    field's display text of `rec` if the caller has it (the same as `table.display(rec, key)`
    for a field shown unmasked) and `editor` the field's, if the caller has them, not worked out again."""
    value = rec["fields"].get(key)
    if value is None:
        return "false" if kind == "checkbox" else ""
    if kind == "checkbox":
        return "true" if value else "false"
    if kind == "link":
        return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
    if kind == "datetime-local":
        return (table.display(rec, key) if text is None else text).replace(" ", "T")
    if kind == "number" and isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else str(value)
    if (editor or table.fields[key].editor()).choices == "people" and not isinstance(value, list):
        return str(value)
    return table.display(rec, key) if text is None else text


def columns_for(table: Table, actor: Actor, wanted: list[str] | None) -> list[str]:
    """Readable fields in view order (or table order)."""
    access = table.access(actor)
    keys = wanted or list(table.fields)
    return [k for k in keys if k in table.fields and access.readable(k)]


# -- inputs: one field of a record being made (the new-record page, forms) --------------------
# The widget `field_input` in _macros.html draws is the field type's Editor.widget.
MAX_LINK_RESULTS = 20


def is_list_input(table: Table, key: str) -> bool:
    """Whether the field's input posts several values (checkboxes, a picker, several people)."""
    return table.fields[key].editor().several


def active_people(ws: Workspace) -> list[dict[str, str]]:
    """People a person field may name (the workspace's, less the disabled), with department."""
    disabled = people_db.disabled(ws.storage)
    out = []
    for person in ws.config.people.values():
        if person.key in disabled:
            continue
        out.append({"key": person.key, "name": person.name, "dept": department_path(ws, person.department)})
    return out


def department_path(ws: Workspace, key: str | None) -> str:
    """A person's primary department as people tell two campuses' centres apart: its path
    (开发区院区 / 口腔综合中心); a key the tree does not hold as it is."""
    return org.tree_of(ws.config).path(key) if key else ""


def people_answer(ws: Workspace, term: str) -> Response:
    """The people search's answer (views.pages.record, views.pages.forms): enabled people whose
    name, account or e-mail holds `term`, with their department, at most MAX_PEOPLE_RESULTS."""
    found = people_db.search(ws.storage, term[:100], limit=MAX_PEOPLE_RESULTS + 1)
    people = []
    for row in found[:MAX_PEOPLE_RESULTS]:
        people.append({"value": row["key"], "label": row["name"], "note": department_path(ws, row["department"])})
    body = json.dumps({"people": people, "more": len(found) > MAX_PEOPLE_RESULTS}, ensure_ascii=False)
    # Names are people's own text: no <, > or & leaves as such, whatever reads the answer.
    body = body.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


def person_choices(ws: Workspace, active: list[dict[str, str]], chosen: list[str]) -> list[dict[str, str]]:
    """The active people, then anyone `chosen` names who is no longer active: a record still
    shows (and keeps) the person it names."""
    known = {p["key"] for p in active}
    named = ws.config.people
    return active + [{"key": k, "name": named[k].name if k in named else k, "dept": ""} for k in chosen if k not in known]


def input_value(table: Table, key: str, stored: Any) -> Any:
    """A stored value as its input holds it: text, True/False for a checkbox, or a list."""
    return table.fields[key].input_value(stored)


def link_picker(table: Table, key: str, actor: Actor) -> dict[str, Any] | None:
    """What a linked-record picker needs, or None if the actor may not read the linked table."""
    fdef = table.tdef.fields[key]
    other = table.base.table(fdef.options.get("table", ""))
    if not other.access(actor).can_read:
        return None
    return {"multiple": fdef.options.get("multiple", True) is not False, "table_name": other.tdef.name,
            "search_url": f"/b/{table.base.key}/t/{table.key}/link/{key}"}


def link_pickers(table: Table, keys: list[str], actor: Actor) -> list[dict[str, Any]]:
    """The linked-record picker of each link column of `keys` the actor may edit, drawn once per
    page (`link_picker_templates` in _macros.html): a grid's link cells show their chips only and
    editors.js builds a cell's picker from its column's when the cell is edited. None for a
    column whose linked table the actor may not read (as link_picker)."""
    access = table.access(actor)
    found: list[dict[str, Any]] = []
    for key in keys:
        field = table.fields.get(key)
        if field is None or field.computed or field.editor().choices != "records":
            continue
        if access.mask(key) or access.level(key) != "edit":
            continue
        picker = link_picker(table, key, actor)
        if picker is not None:
            found.append({"key": key, "label": field.fdef.name, "link": picker})
    return found


def field_input(table: Table, key: str, actor: Actor, value: Any, *, error: str | None = None,
                links: LinkTitles | None = None, people: list[dict[str, str]] | None = None,
                label: str | None = None, required: bool | None = None,
                people_url: str | None = None) -> dict[str, Any]:
    """The input of field `key` holding `value` (see input_value), for `field_input` in _macros.html.
    `people_url` is where its people editor searches (a form's own search; else the table's)."""
    fdef = table.tdef.fields[key]
    editor = table.fields[key].editor()
    attrs = editor.attrs
    spec: dict[str, Any] = {"key": key, "type": fdef.type, "widget": editor.widget,
                            "label": label or fdef.name, "help": fdef.description,
                            "required": fdef.required if required is None else required, "error": error,
                            "value": value, "options": None, "people": None, "link": None, "chosen": [],
                            "step": attrs.get("step"), "min": attrs.get("min"), "max": attrs.get("max"),
                            "prefix": attrs.get("prefix", ""), "suffix": attrs.get("suffix", ""),
                            "attrs": input_attrs({k: v for k, v in attrs.items() if k not in ("step", "min", "max")})}
    spec["editor"] = editor_config(table, key, actor, value, editor)
    if editor.choices == "options":
        spec["options"] = option_list(table.fields[key].options)
    elif editor.choices == "people":
        listed = people if people is not None else active_people(table.ws)
        chosen = value if isinstance(value, list) else [value] if value else []
        spec["people"] = person_choices(table.ws, listed, chosen)
        spec["editor"] = editor_config(table, key, actor, value, editor)
        spec["editor"]["search_url"] = people_url or people_search_url(table, key)
    elif editor.choices == "records":
        spec["link"] = link_picker(table, key, actor)
        if spec["link"] is None:  # the linked table is out of sight (a public form): record ids typed in
            spec["widget"] = "text"
            spec["value"] = ",".join(value) if isinstance(value, list) else value
            return spec
        other = fdef.options.get("table", "")
        titles = links or LinkTitles(table, actor)
        for rid in value if isinstance(value, list) else []:
            title = titles.title(other, rid)
            spec["chosen"].append({"id": rid, "text": title or rid,
                                   "url": f"/b/{table.base.key}/t/{other}/r/{rid}" if title else None})
    if editor.widget == "file":
        spec["multiple"] = bool(attrs.get("multiple", True))
        spec["accept"] = str(attrs.get("accept", ""))
        spec["kept"] = kept_attachments(table, key, value if isinstance(value, list) else [], actor)
    return spec


def kept_attachments(table: Table, key: str, ids: list[str], actor: Actor) -> list[dict[str, Any]]:
    """Files this actor uploaded for field `key` (by id), as field values: what a form that
    failed validation keeps, so they need not be chosen again."""
    return attachments.uploads_of(table.ws, ids, uploader=actor.key, base=table.base.key, table=table.key, field=key)
