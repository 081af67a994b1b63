"""The field-type interface: a dozen methods, one small class per type.

A field type knows how to turn what a person typed into the value stored in its SQLite
column (`coerce`), how to read that back as the JSON value the API returns (`load`), how
to show it as text (`display`) and which Python value formulas see (`formula_value`).
Its `kind` (text, number, boolean, date, datetime, array) decides which filter operators
apply and how formulas treat it. `good` and `bad` hold examples that the registry-wide
contract tests run for every type, so a new type is tested the day it is added.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from engine.model import FieldDef, Person


@dataclass(frozen=True)
class Editor:
    """How a person enters a value of a field, wherever they do: forms, the new-record page, the
    record page and grid cells all draw what this says, so a type (a plugin's too) edits the same
    everywhere.

    `widget` is the input a page draws: text, textarea, email, url, tel, number, date,
    datetime-local, checkbox, select (one option), multi (several options), person, people,
    link (a record picker) or file. `cell` is the grid's in-place editor (text, textarea, email,
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


class Invalid(ValueError):
    """A value cannot be read; the message says what form was expected."""


@dataclass
class FieldContext:
    """What a field type may need to know about its workspace."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    people: dict[str, Person] = field(default_factory=dict)

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
    # Examples for contract tests: (options, typed value, expected loaded value) and (options, bad value).
    good: ClassVar[list[tuple[dict[str, Any], Any, Any]]] = []
    bad: ClassVar[list[tuple[dict[str, Any], Any]]] = []

    def __init__(self, fdef: FieldDef, ctx: FieldContext | None = None) -> None:
        self.fdef = fdef
        self.options = fdef.options
        self.ctx = ctx or FieldContext()

    # -- writing -----------------------------------------------------------------------
    def coerce(self, value: Any) -> Any:
        """Turn a typed or API value into the stored SQL value; raise Invalid if it cannot."""
        if is_blank(value):
            return None
        return self.parse(value)

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

    def sort_sql(self, column: str) -> str:
        """SQL expression to sort by (quoted column given)."""
        return column

    def empty_sql(self, column: str) -> str:
        """SQL condition that is true when the value is blank."""
        return f"({column} IS NULL OR {column} = '')"

    #: the grid's summary-bar figures for this type (engine/summary.py); None: by its kind.
    summaries: ClassVar[tuple[str, ...] | None] = None


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
        raise Invalid("expected text")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid("expected valid text (it holds a broken character)") from None
    return value
