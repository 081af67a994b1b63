"""Dashboard filters: what a viewer may narrow a dashboard to, and the record filters that follows.

Words: a dashboard declares *filters* (`DashFilter`, YAML `filters:`), each of a *kind*: `date` (a
*period*: a preset such as this month, or custom from/to days), `select` (one option of a select
field), `person` (one person) or `department` (one of the workspace's departments). A filter names
the field it narrows *per table* (`field: {visits: visit_date, patients: first_visit}`) or one field
key shared by the tables (`field: received_at`); a widget whose table has no such field is not
narrowed by it. What the viewer picked is a *selection* (`Selection`, read from the page's query
string by `choose`, so a link reproduces the view); `Selection.filter_for(table)` is the record
filter to add to a widget's own (`engine.query.all_of`), computed like any other filter with the
viewer as actor: it never widens what a person may read. `previous=True` gives the same figure for
the *previous period* of the chosen date filter (this month → last month, a custom range → the as
many days just before it), which a number card with `compare: previous_period` shows beside its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from engine.errors import Message
from engine.hints import did_you_mean
from engine.model import DashboardDef, DashFilter, TableDef
from engine.viewtypes import Problem

if TYPE_CHECKING:
    from engine.fields.base import FieldType
    from engine.records import Table

#: date presets in the order a viewer's menu lists them; "all" is no narrowing, "custom" from/to days.
PRESETS = ("all", "today", "this_week", "this_month", "last_month", "this_quarter", "this_year", "custom")
KINDS = ("date", "select", "person", "department")
ALL = "all"


def month_start(day: date, back: int = 0) -> date:
    """The first day of `day`'s month, `back` months earlier."""
    months = day.year * 12 + day.month - 1 - back
    return date(months // 12, months % 12 + 1, 1)


def preset_range(preset: str, today: date) -> tuple[date, date] | None:
    """(first day, last day) of a preset period around `today`; None for "all" or unknown."""
    if preset == "today":
        return today, today
    if preset == "this_week":
        start = today - timedelta(days=today.weekday())
        return start, start + timedelta(days=6)
    if preset == "this_month":
        return month_start(today), month_start(today, -1) - timedelta(days=1)
    if preset == "last_month":
        return month_start(today, 1), month_start(today) - timedelta(days=1)
    if preset == "this_quarter":
        start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        return start, month_start(start, -3) - timedelta(days=1)
    if preset == "this_year":
        return date(today.year, 1, 1), date(today.year, 12, 31)
    return None


def previous_range(preset: str, start: date, end: date) -> tuple[date, date]:
    """The period before [start, end]: the month, quarter, year or week before for those presets,
    else (a day, a custom range) as many days just before."""
    if preset in ("this_month", "last_month"):
        return month_start(start, 1), start - timedelta(days=1)
    if preset == "this_quarter":
        return month_start(start, 3), start - timedelta(days=1)
    if preset == "this_year":
        return date(start.year - 1, 1, 1), date(start.year - 1, 12, 31)
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


@dataclass
class Choice:
    """What the viewer picked for one filter: `value` (a preset, an option, a person or department
    key; "" for any) and, for a period, its days."""

    filter: DashFilter
    value: str = ""
    start: date | None = None
    end: date | None = None


@dataclass
class Selection:
    """The viewer's picks for a dashboard's filters, and what they could not be read as (`errors`)."""

    choices: list[Choice] = field(default_factory=list)
    errors: list[Message] = field(default_factory=list)
    departments: dict[str, str] = field(default_factory=dict)  # key -> name, of the workspace

    def query(self) -> dict[str, str]:
        """The query string that reproduces this selection (a link to the same view)."""
        out: dict[str, str] = {}
        for c in self.choices:
            if c.value:
                out[c.filter.key] = c.value
            if c.value == "custom" and c.start and c.end:
                out[f"{c.filter.key}_from"], out[f"{c.filter.key}_to"] = c.start.isoformat(), c.end.isoformat()
        return out

    def period(self, table: Table) -> Choice | None:
        """The chosen date period that narrows `table`, if any."""
        return next((c for c in self.choices if c.filter.kind == "date" and c.start is not None
                     and field_of(c.filter, table.tdef) is not None), None)

    def filter_for(self, table: Table, *, previous: bool = False) -> Any:
        """The record filter this selection adds to a widget over `table` (None: nothing);
        with `previous`, the chosen period is the one before it."""
        parts: list[dict[str, Any]] = []
        for c in self.choices:
            key = field_of(c.filter, table.tdef)
            if key is None or not c.value or key not in table.fields:
                continue
            if c.filter.kind == "date":
                if c.start is None or c.end is None:
                    continue
                start, end = previous_range(c.value, c.start, c.end) if previous else (c.start, c.end)
                # From the first day's start to before the next day's: a moment is read in the workspace's zone.
                parts.append({"and": [{key: {"gte": start.isoformat()}},
                                      {key: {"lt": (end + timedelta(days=1)).isoformat()}}]})
            elif c.filter.kind == "department":
                parts.append({key: department_values(table.fields[key], c.value, self.departments)})
            else:
                parts.append({key: c.value})
        return None if not parts else parts[0] if len(parts) == 1 else {"and": parts}


def field_of(flt: DashFilter, table: TableDef) -> str | None:
    """The field `flt` narrows in `table`: its own for the table, else the shared key if the table has it."""
    key = flt.fields.get(table.key) or flt.fields.get("*")
    return key if key and key in table.fields else None


def department_values(fld: FieldType, department: str, names: Mapping[str, str]) -> list[str]:
    """What a field holds for a department: its people's keys in a people field, else its name and key
    (a select of department names, a text of keys)."""
    if fld.editor().choices == "people":
        return [p.key for p in fld.ctx.people.values() if p.department == department] or ["\x00nobody"]
    return [department] + ([names[department]] if department in names else [])


def choose(ddef: DashboardDef, params: Mapping[str, str], today: date,
           known: Callable[[DashFilter, str], bool], departments: Mapping[str, str]) -> Selection:
    """The viewer's selection from the page's query string (`params`): each filter's `default`
    when the link does not name it; an unknown value or an unreadable day is left out and said
    (`errors`), never a failure. `known(filter, value)` says whether an option, person or
    department exists; `departments` names the workspace's departments by key."""
    sel = Selection(departments=dict(departments))
    for flt in ddef.filters:
        value = str(params.get(flt.key, flt.default or "")).strip()
        choice = Choice(flt)
        if flt.kind == "date" and value and value != ALL:
            if value == "custom":
                start, end = read_day(params.get(f"{flt.key}_from", "")), read_day(params.get(f"{flt.key}_to", ""))
                if start is None or end is None or end < start:
                    sel.errors.append(Message("dashboard_bad_range", filter=flt.name))
                    value = ""
                else:
                    choice.start, choice.end = start, end
            elif value in PRESETS:
                choice.start, choice.end = preset_range(value, today) or (None, None)
            else:
                sel.errors.append(Message("dashboard_bad_choice", filter=flt.name, value=value))
                value = ""
        elif flt.kind != "date" and value and not known(flt, value):
            sel.errors.append(Message("dashboard_bad_choice", filter=flt.name, value=value))
            value = ""
        choice.value = "" if value == ALL else value
        sel.choices.append(choice)
    return sel


def read_day(text: str) -> date | None:
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        return None


def problems(dash: DashboardDef, tables: Mapping[str, TableDef], field_type: Callable[[Any], FieldType]) -> list[Problem]:
    """What is wrong with a dashboard's `filters:` beyond the schema: unknown tables or fields, a
    field of the wrong kind for the filter, a filter that narrows none of the widgets' tables."""
    out: list[Problem] = []
    used = {w.table for w in dash.widgets}
    for flt in dash.filters:
        path: tuple[str, ...] = (flt.key,)
        before = len(out)
        for tkey, fkey in flt.fields.items():
            if tkey != "*" and tkey not in tables:
                out.append(Problem(path + ("field", tkey), f"unknown table '{tkey}' in filter '{flt.key}'",
                                   did_you_mean(tkey, tables) or "known tables: " + ", ".join(tables)))
                continue
            targets = [tables[tkey]] if tkey != "*" else [t for t in tables.values() if fkey in t.fields]
            if not targets:
                out.append(Problem(path + ("field",), f"no table has field '{fkey}' for filter '{flt.key}'",
                                   "name the field per table: field: {table: field}"))
            for table in targets:
                fdef = table.fields.get(fkey)
                if fdef is None:
                    out.append(Problem(path + ("field", tkey), f"unknown field '{fkey}' in table '{table.key}' "
                                       f"for filter '{flt.key}'", did_you_mean(fkey, table.fields)
                                       or "known fields: " + ", ".join(table.fields)))
                    continue
                wrong = kind_problem(flt, field_type(fdef))
                names = [str(o.get("name", "")) if isinstance(o, dict) else str(o) for o in fdef.options.get("options", [])]
                if not wrong and flt.kind == "select" and flt.default and flt.default not in names:
                    out.append(Problem(path + ("default",), f"'{flt.default}' is not an option of '{table.key}.{fkey}'",
                                       "known options: " + ", ".join(names)))
                if wrong:
                    out.append(Problem(path + (("field", tkey) if tkey != "*" else ("field",)),
                                       f"filter '{flt.key}' ({flt.kind}) cannot narrow field '{table.key}.{fkey}': {wrong}"))
        if len(out) == before and not any(field_of(flt, tables[t]) for t in used if t in tables):
            out.append(Problem(path, f"filter '{flt.key}' narrows none of the dashboard's widgets",
                               "name a field of a table a widget counts"))
        if flt.kind == "date" and flt.default and flt.default not in PRESETS:
            out.append(Problem(path + ("default",), f"unknown period '{flt.default}'", "known: " + ", ".join(PRESETS)))
    return out


def kind_problem(flt: DashFilter, fld: FieldType) -> str:
    """Why `fld` cannot be narrowed by a filter of `flt`'s kind ("" when it can)."""
    if flt.kind == "date" and fld.kind not in ("date", "datetime"):
        return "a date filter needs a date or date-time field"
    if flt.kind == "select" and fld.editor().choices != "options":
        return "a select filter needs a single or multiple select field"
    if flt.kind == "person" and fld.editor().choices != "people":
        return "a person filter needs a person field"
    if flt.kind == "department" and fld.editor().choices not in ("people", "options") and fld.kind != "text":
        return "a department filter needs a person, select or text field"
    return ""
