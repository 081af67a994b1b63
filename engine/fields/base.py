"""The field-type interface: a dozen methods, one small class per type.

A field type knows how to turn what a person typed into the value stored in its SQLite
column (`coerce`), how to read that back as the JSON value the API returns (`load`), how
to show it as text (`display`) and which Python value formulas see (`formula_value`).
Its `kind` (text, number, boolean, date, datetime, array) decides how formulas treat it and,
unless the type names its own `filter_ops`, which filter operators apply; the type compiles
each condition (`filter_sql`, engine.fields.filters), gives its sort key (`sort_sql`) and its
cell in an exported or imported file (`export_text`, `import_value`). Class attributes say
what the type is to the rest of the engine (`links`, `people`, `files`, ...), so no code
outside engine/fields/ names a type. `good` and `bad` hold examples that the registry-wide
contract tests run for every type, so a new type is tested the day it is added.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from engine.errors import Message
from engine.fields.filters import FilterEnv, OpsOfKind, compile_op
from engine.model import FieldDef, Person
from engine.org import OrgTree


@dataclass(frozen=True)
class Editor:
    """How a person enters a value of a field, wherever they do: forms, the new-record page, the
    record page and grid cells all draw what this says, so a type (a plugin's too) edits the same
    everywhere.

    `widget` is the input a page draws and the name of its editor in the browser's registry
    (`Gridbase.editors[widget]`, views/pages/static/editors.js): text, textarea, email, url,
    tel, number, rating (stars), date, datetime-local, checkbox, select (one option), multi
    (several options), person, people (searched by name or account), link (a record picker) or
    file (dropped or chosen); a plugin may name its own widget and ship its editor as `script`,
    the path of a JavaScript file that registers `Gridbase.editors[widget]` (an unknown widget
    is edited as text). `cell` is the grid's in-place editor (text, textarea, email,
    url, tel, number, date, datetime-local, checkbox, select, link), None where a value is not
    typed into a cell. `choices` is what a select offers: "options" (the field's own), "people"
    or "records"; `several` says the input posts several values. `attrs` are the input's
    attributes: step, min, max, prefix, suffix, maxlength, pattern, placeholder, inputmode.
    """

    widget: str = "text"
    cell: str | None = "text"
    choices: str = ""
    several: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)
    script: str = ""


class Invalid(ValueError):
    """A value cannot be read; the message (a catalog Message: `Invalid(code="number_min",
    params={"low": 0})`) says what form was expected."""

    def __init__(self, message: str = "", /, *, code: str = "", params: Mapping[str, Any] | None = None) -> None:
        self.message: str = Message(code, **(params or {})) if code else message
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


@dataclass
class FieldContext:
    """What a field type may need to know about its workspace."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    people: dict[str, Person] = field(default_factory=dict)
    org: OrgTree = field(default_factory=lambda: OrgTree({}))  # the organisation tree (engine.org)

    def now(self) -> datetime:
        return datetime.now(UTC)


class FieldType:
    """Base class. Subclasses set the class attributes and override what differs."""

    type: ClassVar[str] = ""
    kind: str = "text"
    sql_type: str = "TEXT"
    computed: ClassVar[bool] = False
    indexed: ClassVar[bool] = False
    # Values repeat (a few options, days, people, records): bulk imports coerce each distinct
    # raw value once. Only for types whose `coerce` depends on nothing but the value.
    repeats: ClassVar[bool] = False
    description: ClassVar[str] = ""
    #: how a cell shows a value: "text", "badges" (coloured options), "links" (linked records) or "files".
    shown_as: ClassVar[str] = "text"
    #: the type's name in Airtable's Web API; "" means: by its kind (a number is a number, ...).
    airtable_type: ClassVar[str] = ""
    # What the type is to the rest of the engine, so nothing outside engine/fields/ names a type:
    #: values are records of the table `options.table`, kept on both sides (a link)
    links: ClassVar[bool] = False
    #: computed from `options.field` of the records linked by `options.link` (a lookup, a rollup)
    through_link: ClassVar[bool] = False
    #: ... and shows those values themselves, so it carries their mask (a lookup, not a sum)
    shows_linked_values: ClassVar[bool] = False
    #: computed by the formula in `options.formula`
    from_formula: ClassVar[bool] = False
    #: values are keys of people of the workspace ($me fits its default)
    people: ClassVar[bool] = False
    #: a value can address a notification (people, an e-mail address, a lookup of them)
    recipient: ClassVar[bool] = False
    #: values may be names written or chosen as text (a department's, say)
    holds_names: ClassVar[bool] = False
    #: values are uploaded files (engine.attachments)
    files: ClassVar[bool] = False
    #: the variables a default may be (`$me`, `$today`, `$now`)
    default_variables: ClassVar[tuple[str, ...]] = ()
    # Examples for contract tests: (options, typed value, expected loaded value) and (options, bad value).
    good: ClassVar[list[tuple[dict[str, Any], Any, Any]]] = []
    bad: ClassVar[list[tuple[dict[str, Any], Any]]] = []

    def __init__(self, fdef: FieldDef, ctx: FieldContext | None = None) -> None:
        self.fdef = fdef
        self.options = fdef.options
        self.ctx = ctx or FieldContext()

    # -- writing -----------------------------------------------------------------------
    def coerce(self, value: Any) -> Any:
        """Turn a typed or API value into the stored SQL value; raise Invalid if it cannot.
        A stored text never holds a NUL character, whatever the type's `parse` let through (an
        e-mail, a web address): PostgreSQL's text cannot (psycopg.DataError), so no store does."""
        if is_blank(value):
            return None
        stored = self.parse(value)
        if isinstance(stored, str) and "\x00" in stored:
            raise Invalid(code="text_control", params={"char": "U+0000", "position": stored.index("\x00") + 1})
        return stored

    def parse(self, value: Any) -> Any:
        """Read a non-blank value (subclasses override)."""
        return str(value)

    # -- reading -----------------------------------------------------------------------
    def load(self, stored: Any) -> Any:
        """The stored SQL value as the JSON value the API returns."""
        return stored

    def display(self, stored: Any) -> str:
        """The stored value as text for a person (workspace timezone, no markup)."""
        value = self.load(stored)
        if value is None:
            return ""
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value)

    # -- entering ------------------------------------------------------------------------
    def editor(self) -> Editor:
        """How a value is entered (see Editor); computed types are not typed into a cell."""
        return Editor(cell=None if self.computed else "text")

    def input_value(self, stored: Any) -> Any:
        """A stored value as its input holds it: text, or a list of values when the input posts several."""
        if self.editor().several:
            return [str(v.get("id")) if isinstance(v, dict) else str(v) for v in load_json_list(stored)]
        if stored is None or stored == "":
            return ""
        return str(stored)

    def airtable_name(self) -> str:
        """The type's name in Airtable's Web API ("" means: by its kind)."""
        return self.airtable_type

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema of the values the API returns and accepts for this type."""
        return dict(KIND_SCHEMAS.get(self.kind, {"type": "string"}))

    def formula_value(self, stored: Any) -> Any:
        """The stored value as formulas see it."""
        return self.load(stored)

    # -- filtering, sorting, import and export ------------------------------------------
    #: the filter operators the type takes, in menu order (engine.fields.filters); by default
    #: those of its kind. A type may name its own as a tuple.
    filter_ops: Any = OpsOfKind()

    def filter_sql(self, op: str, column: str, arg: Any, env: FilterEnv) -> tuple[str, list[Any]]:
        """SQL condition and parameters for `op` with `arg` on `column` (quoted); QueryError
        naming the field, the operator and the ones it takes when the type does not take `op`."""
        return compile_op(self, op, column, arg, env)

    def filter_value(self, value: Any) -> Any:
        """A filter's value as stored, to compare with the column: read by the type, so "是"
        finds checked boxes and a person's name finds their key; one item of a list type. A value
        the type cannot read is compared as given, except where that means nothing (a number, a
        day, yes or no, a list or mapping): then Invalid."""
        if self.computed:
            return value
        try:
            stored = self.coerce(value)
        except (ValueError, OverflowError) as exc:
            if isinstance(value, (dict, list)) or self.kind in ("number", "date", "datetime", "boolean"):
                raise Invalid(str(exc)) from None
            # Compared with a text column as text, as SQLite compares it (its column's affinity);
            # PostgreSQL would refuse to compare text with a number or yes/no.
            return str(int(value)) if isinstance(value, bool) else value if isinstance(value, str) else str(value)
        if self.kind == "array":
            items = load_json_list(stored)
            return items[0] if items else value
        return stored

    def sort_sql(self, column: str) -> str:
        """SQL expression to sort by (quoted column given)."""
        return column

    def shows_people(self) -> bool:
        """Whether the values are keys of people (a person field, or a lookup of one), which the
        API gives as collaborators {id, email, name}."""
        return self.people

    def numbers_sql(self, column: str) -> tuple[str, str] | None:
        """For a sum or an average over rows of a field holding several numbers per row: SQL of
        (the sum of, the count of) a row's numbers; None for a field holding one value (the
        column is summed as it is)."""
        return None

    def search_sql(self, column: str, pattern: str) -> tuple[str, list[Any]] | None:
        """The condition a free-text search (`pattern`, a LIKE pattern with `\\` as escape)
        puts on this field, with its parameters; None when the search does not look at it.
        By default text and lists of names are matched as stored; links and files are not."""
        if self.kind in ("text", "array") and not (self.links or self.files):
            return f"{column} LIKE ? ESCAPE '\\'", [pattern]
        return None

    def empty_sql(self, column: str) -> str:
        """SQL condition that is true when the value is blank."""
        if self.kind == "array":
            return f"({column} IS NULL OR {column} IN ('', '[]'))"
        if self.sql_type.upper() in ("REAL", "INTEGER"):  # compared as text: a number column is never '' in PostgreSQL
            return f"({column} IS NULL OR CAST({column} AS TEXT) = '')"
        return f"({column} IS NULL OR {column} = '')"

    def unload(self, value: Any) -> Any:
        """A value as the API returns it (`load`) back as stored."""
        if isinstance(value, (list, dict)):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, bool):
            return int(value)
        return value

    def export_text(self, stored: Any) -> str:
        """A stored value as a cell of an exported file (CSV, XLSX, JSON) that imports back to
        the same value (`import_value`, then `coerce`); by default its display text."""
        return self.display(stored)

    def import_value(self, cell: Any) -> Any:
        """A cell of an imported file (CSV text; an XLSX number, moment or yes/no) as the value to
        coerce. A whole number read from XLSX into a text type loses its ".0" (a phone number)."""
        if isinstance(cell, float) and cell.is_integer() and self.kind == "text":
            return str(int(cell))
        return cell

    # -- the record service (engine/records.py, engine/bulk.py) -------------------------------
    #: the grid's summary-bar figures for this type (engine/summary.py); None: by its kind.
    summaries: ClassVar[tuple[str, ...] | None] = None
    #: what the engine itself writes into this field when a record is created: None (people
    #: write it), "counter" (the table's next number), "time" (the moment), "actor" (who wrote).
    engine_kept: ClassVar[str | None] = None
    #: whether the engine writes it again on every change of the record (modified time and by).
    kept_on_update: ClassVar[bool] = False

    def unique_problem(self) -> str | None:
        """Why this field cannot be `unique: true` (None: it can): a value held once per
        record, typed or numbered, can; a list, a yes/no, a computed value or the engine's
        stamps (times, people who wrote) cannot."""
        if self.engine_kept == "counter":
            return None  # numbered by the engine: unique already, so saying so is harmless
        if self.computed or self.engine_kept:
            return f"a {self.type} field is computed, so it cannot be unique"
        if self.kind in ("array", "boolean"):
            return f"a {self.type} field holds {'a list' if self.kind == 'array' else 'yes or no'}, so it cannot be unique"
        return None


KIND_SCHEMAS: dict[str, dict[str, Any]] = {
    "text": {"type": "string"}, "number": {"type": "number"}, "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"}, "datetime": {"type": "string", "format": "date-time"},
    "array": {"type": "array"},
}


def number_text(value: float) -> str:
    """A number as an input holds it: no grouping, no trailing zeros."""
    rounded = round(float(value), 8)
    return str(int(rounded)) if rounded.is_integer() else repr(rounded)


def step_of(precision: int) -> str:
    """An input's step for `precision` decimal places."""
    return "1" if precision <= 0 else "0." + "0" * (precision - 1) + "1"


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "") or value == []


def load_json_list(stored: Any) -> list[Any]:
    if stored is None or stored == "":
        return []
    if isinstance(stored, list):
        return stored
    try:
        value = json.loads(stored)
    except (TypeError, ValueError):
        return [stored]
    return value if isinstance(value, list) else [value]


def dump_json_list(values: list[Any]) -> str | None:
    return json.dumps(values, ensure_ascii=False) if values else None


def split_list(value: Any) -> list[Any]:
    """A list from a list, or from text separated by commas (English or Chinese) or newlines."""
    if isinstance(value, (list, tuple)):
        return [v for v in value if not is_blank(v)]
    if isinstance(value, str):
        for sep in ("，", "、", "\n", ";", "；"):
            value = value.replace(sep, ",")
        return [part.strip() for part in value.split(",") if part.strip()]
    return [value]


def read_text(value: Any) -> Any:
    """Text as typed, refused if it is a list/mapping or holds a broken (unpaired) character."""
    if isinstance(value, (dict, list)):
        raise Invalid(code="text_expected")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid(code="text_broken") from None
    return value
