"""Dashboard indexes: which indexes let the database answer a base's declared dashboard widgets from the index alone.

engine/migrate.py makes them (partial: live records only); this module says which columns. Words:

- a *pair* index (G, F, `_deleted_at`) answers "sum/avg of F by G" over all time in one walk,
  without a sort; a widget type's own indexes (`WidgetType.index_columns`: a pivot's rows ×
  columns) do the same for its cells;
- a *period* index answers every widget of a dashboard under a chosen period of its date filter:
  (the date field, the *columns the widgets read* — `WidgetType.read_columns` and the fields of
  their own `filter:` and `where:` —, the fields of the dashboard's other filters and of the row
  rules of the roles that may open it, `_deleted_at`). A widget is then one range scan of it
  ("SEARCH … USING COVERING INDEX (date>? AND date<?)"); without it a month of a million rows
  was read row by row from the table (0.6–2 s per widget at 1,000,000 rows);
- a *led* period index is the same led by one field a viewer's choice (a select, person or
  department filter) or a row rule (`{doctor: $me}`) tests for a value: (that field, the other
  columns of the longest pair or pivot index that starts with it, the date field, the rest), so
  "June, centre B" or a doctor's own figures are a few ranges of one index, and that pair or
  pivot index, this one begun, is not made on its own (an index that begins another is not made).

The last column, `_deleted_at`, is what makes SQLite (3.40) count a partial index as covering:
the planner then knows it need not read the table, and says so ("USING COVERING INDEX").
Bounded: per date field a dashboard filter narrows a table by, one period index and at most
`MAX_LED` led ones (the row rules' fields first, then the filters'), each at most `MAX_COLUMNS` columns between its leading ones
and `_deleted_at` (more widgets' columns are split into as few indexes as fit, each widget's
columns in one). Array fields (a multiple select) are read as JSON lists, never from an index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from engine.dashfilters import field_of
from engine.fields.base import FieldType
from engine.model import BaseDef, DashboardDef, TableDef, Widget
from engine.plugins import widget_types

#: at most this many columns between a period index's date field and `_deleted_at`.
MAX_COLUMNS = 6
DELETED = "_deleted_at"
#: at most this many led period indexes per date field (each one more index every write keeps).
MAX_LED = 2
#: the longest index name PostgreSQL keeps whole, in bytes.
MAX_NAME = 63


def index_name(table_sql: str, columns: tuple[str, ...]) -> str:
    """The name of the index on `columns` of table `table_sql` (as engine.migrate makes it): its
    columns, or, past the 63 bytes PostgreSQL keeps of a name, a digest of them (a longer name
    would be cut there, and the next plan would not find the index it made)."""
    name = f"idx__{table_sql}__" + "__".join(columns)
    if len(name.encode()) <= MAX_NAME:
        return name
    return f"idx__{table_sql}__h" + hashlib.sha1("\x00".join(columns).encode()).hexdigest()[:12]  # noqa: S324 (a name, not a secret)


@dataclass(frozen=True)
class Planned:
    """One index a dashboard asks for: its columns, in order."""

    columns: tuple[str, ...]


def planned(base: BaseDef, table: TableDef, fields: Mapping[str, FieldType]) -> list[Planned]:
    """The indexes the dashboards of `base` ask for on `table` (`fields`: its field instances), without repeats."""
    own = list(dict.fromkeys([*_pairs(base, table, fields), *_own(base, table, fields)]))
    found = list(dict.fromkeys([*own, *_periods(base, table, fields, own)]))
    # An index whose columns begin another's is served by that one: (G, F) by (G, F, H).
    return [Planned(cols) for cols in found
            if not any(other != cols and other[:len(cols) - 1] == cols[:-1] for other in found)]


def _indexable(key: str | None, fields: Mapping[str, FieldType]) -> bool:
    return bool(key) and key in fields and fields[str(key)].kind != "array"


def _dates(dash: DashboardDef, table: TableDef, fields: Mapping[str, FieldType]) -> list[str]:
    """The date fields the date filters of `dash` narrow `table` by."""
    days = (field_of(f, table) for f in dash.filters if f.kind == "date")
    return list(dict.fromkeys(d for d in days if d and d in fields and fields[d].kind in ("date", "datetime")))


def _pairs(base: BaseDef, table: TableDef, fields: Mapping[str, FieldType]) -> Iterator[tuple[str, ...]]:
    """(G, F) of each "sum/avg of F by G": 120 ms instead of 600 ms at a million rows."""
    for dash in base.dashboards.values():
        for w in dash.widgets:
            if (w.table == table.key and w.aggregate in ("sum", "avg") and w.group_by and w.field
                    and _indexable(w.group_by, fields) and w.field in fields):
                yield (w.group_by, w.field, DELETED)


def _own(base: BaseDef, table: TableDef, fields: Mapping[str, FieldType]) -> Iterator[tuple[str, ...]]:
    """A widget type's own indexes (a pivot's rows × columns): its cells in one walk of the index."""
    for dash in base.dashboards.values():
        for w in dash.widgets:
            entry = widget_types().get(w.type)
            for cols in entry.index_columns(w) if entry is not None and w.table == table.key else []:
                if all(_indexable(c, fields) for c in cols) and len(set(cols)) == len(cols):
                    yield (*cols, DELETED)


def _periods(base: BaseDef, table: TableDef, fields: Mapping[str, FieldType],
             own: list[tuple[str, ...]]) -> Iterator[tuple[str, ...]]:
    """The period indexes of `table`: per date field a dashboard filter narrows it by, one led by
    the date, and one led by each field a viewer's choice or a row rule tests for a value (see the module)."""
    wanted: dict[tuple[str, ...], list[tuple[str, ...]]] = {}  # leading columns -> each widget's columns
    for dash in base.dashboards.values():
        widgets = [w for w in dash.widgets if w.table == table.key]
        others = [field_of(f, table) for f in dash.filters if f.kind != "date"]
        rules = [k for role, grants in base.grants.items() if dash.roles is None or role in dash.roles
                 for k in filter_fields(grants[table.key].rows if table.key in grants else None, fields)]
        chosen = [c for c in dict.fromkeys([*rules, *others]) if c and _indexable(c, fields)]
        for day in _dates(dash, table, fields):
            # Led by the row rules' fields first (every view of those roles), then by the filters'.
            for lead in [(day,), *((c, day) for c in [c for c in chosen if c != day][:MAX_LED])]:
                for w in widgets:
                    cols = [*read_columns(w), *filter_fields(w.filter, fields), *filter_fields(w.where, fields), *chosen]
                    kept = tuple(dict.fromkeys(c for c in cols if c not in lead and _indexable(c, fields)))
                    wanted.setdefault(lead, []).append(kept[:MAX_COLUMNS])
    for lead, sets in wanted.items():
        for group in pack(sets):
            if len(lead) == 1:
                yield (*lead, *group, DELETED)
                continue
            # Led by a field an own index starts with: that index's columns first, so it is this one begun.
            first = max((o[:-1] for o in own if o[0] == lead[0] and set(o[1:-1]) <= set(group)), key=len, default=lead[:1])
            yield (*first, lead[1], *(c for c in group if c not in first), DELETED)


def read_columns(widget: Widget) -> list[str]:
    """The fields whose values `widget` reads, by its registry entry."""
    entry = widget_types().get(widget.type)
    return list(entry.read_columns(widget)) if entry is not None else []


def pack(sets: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """`sets` put together into as few column lists of at most MAX_COLUMNS as a first fit finds
    (largest first), each set whole in one; columns in the order they first appear."""
    groups: list[list[str]] = []
    for cols in sorted(dict.fromkeys(sets), key=len, reverse=True):
        home = next((g for g in groups if len(set(g) | set(cols)) <= MAX_COLUMNS), None)
        if home is None:
            groups.append(list(cols))
        else:
            home.extend(c for c in cols if c not in home)
    order = {c: i for i, c in enumerate(dict.fromkeys(c for s in sets for c in s))}
    return [tuple(sorted(g, key=order.__getitem__)) for g in groups if g or len(groups) == 1]


def filter_fields(flt: Any, fields: Mapping[str, Any]) -> list[str]:
    """The field keys a record filter (`{field: value}`, `and`/`or`/`not` of them) tests; others are ignored."""
    out: list[str] = []
    if isinstance(flt, list):
        for part in flt:
            out += filter_fields(part, fields)
    elif isinstance(flt, dict):
        for key, value in flt.items():
            if key in fields:
                out.append(key)
            elif key in ("and", "or", "not"):
                out += filter_fields(value, fields)
    return out
