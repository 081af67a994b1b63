"""Dashboard figures as people read them: numbers, a value's label, a number's change from the
previous period, and the pivot table's card.

Words: a *figure* is formatted as its field is typed (`format_number`); a *value label* is what a
group or pivot value reads as (a person's name, a linked record's title, Yes/No, "Empty");
a *comparison* (`compare_of`) is a number card's figure beside the same figure for the period
before the chosen date filter's, with the change as a number, a percentage (a share's change in
percentage points instead), an arrow and a sentence for screen readers; a *pivot card* (`pivot_card`) is an HTML table with row and column
headers (`th scope`), the row totals in its last column and the column totals in its footer,
values in their option order, "Empty" last.
"""

from __future__ import annotations

from typing import Any

from engine import Actor
from engine.model import Widget
from engine.pivot import Pivot
from engine.records import Table
from engine.widgets import WidgetType
from views.pages import cells


def format_number(table: Table, widget: Widget, value: float) -> str:
    """A figure as people read it: counts whole, percents with one decimal, else as the field is typed
    (its editor's decimal places and prefix, e.g. a currency's symbol); an average has a decimal at least."""
    if widget.aggregate == "count":
        return f"{int(value):,}"
    if widget.aggregate == "percent":
        return f"{value:.1f}%"
    field = table.fields.get(widget.field or "")
    attrs = field.editor().attrs if field is not None else {}
    step = str(attrs.get("step") or "")
    precision = len(step.partition(".")[2]) if step else 2
    if widget.aggregate == "avg":
        precision = max(precision, 1)
    return f"{attrs.get('prefix') or ''}{value:,.{precision}f}"


def value_label(table: Table, fkey: str, key: Any, links: cells.LinkTitles, _: Any) -> str:
    """Display text of a value of field `fkey`: person names, linked titles, Yes/No, dates as they are."""
    if key is None or key == "":
        return str(_("Empty"))
    field = table.fields[fkey]
    if field.editor().choices == "people":  # a person field, or who created or changed the record
        person = field.ctx.people.get(str(key))
        return person.name if person else str(key)
    if field.shown_as == "links":
        return links.title(str(field.fdef.options.get("table", "")), str(key)) or str(key)
    if field.kind == "boolean":
        return str(_("Yes") if key else _("No"))
    if field.kind == "number" and isinstance(key, float) and key.is_integer():
        return str(int(key))
    if field.kind in ("text", "array"):  # the type's own words for a stored value (a department's path, not its key)
        try:
            return field.display(key) or str(key)
        except (TypeError, ValueError):
            return str(key)
    return str(key)


def value_order(table: Table, fkey: str, keys: list[Any]) -> list[Any]:
    """Values in the order people expect: a select's options as declared, others as stored; empty last."""
    fdef = table.tdef.fields[fkey]
    order: dict[str, int] = {}
    if table.fields[fkey].editor().choices == "options":
        names = [str(o.get("name", "")) if isinstance(o, dict) else str(o) for o in fdef.options.get("options", [])]
        order = {name: i for i, name in enumerate(names)}
    indexed = list(enumerate(keys))
    indexed.sort(key=lambda ik: (ik[1] is None or ik[1] == "", order.get(str(ik[1]), len(order)), ik[0]))
    return [k for _i, k in indexed]


def compare_of(current: float, previous: float, table: Table, widget: Widget, period: str, _: Any) -> dict[str, Any]:
    """A number card's comparison with the previous period: the previous figure, the change (absolute
    and %, none when the previous figure is 0), its direction (up, down, same) and arrow, and the
    sentence a screen reader says."""
    change = current - previous
    direction = "up" if change > 0 else "down" if change < 0 else "same"
    if widget.aggregate == "percent":  # a share changes by percentage points, not by a share of itself
        shown, percent = str(_("{value} pp")).replace("{value}", f"{abs(change):.1f}"), ""
    else:
        shown = format_number(table, widget, abs(change))
        percent = f"{abs(change) / abs(previous) * 100:.1f}%" if previous else ""
    words = {"up": _("Up {change} from the previous period ({period}: {previous})"),
             "down": _("Down {change} from the previous period ({period}: {previous})"),
             "same": _("Same as the previous period ({period}: {previous})")}[direction]
    change_text = f"{shown} ({percent})" if percent else shown
    previous_text = format_number(table, widget, previous)
    return {"previous": previous_text, "direction": direction, "arrow": {"up": "▲", "down": "▼", "same": "="}[direction],
            "change": ("+" if change > 0 else "−" if change < 0 else "±") + shown, "percent": percent, "period": period,
            "text": str(words).replace("{change}", change_text).replace("{period}", period)
                              .replace("{previous}", previous_text)}


def pivot_card(entry: WidgetType, table: Table, widget: Widget, actor: Actor, card: dict[str, Any], _: Any) -> bool:
    """A pivot table: a header row of column values, a row per row value with its total, a footer of
    the column totals and the grand total (figures computed for `actor`)."""
    data = entry.compute(table, widget, actor)
    if not isinstance(data, Pivot):
        return False
    rows_key, cols_key = str(widget.options.get("rows", "")), str(widget.options.get("columns", ""))
    links = cells.LinkTitles(table, actor)
    columns = value_order(table, cols_key, data.columns)
    empty = "—" if widget.aggregate == "avg" else format_number(table, widget, 0)

    def fmt(value: float | None) -> str:
        return empty if value is None else format_number(table, widget, value)

    card["pivot"] = {
        "corner": f"{table.tdef.fields[rows_key].name} \\ {table.tdef.fields[cols_key].name}",
        "columns": [value_label(table, cols_key, c, links, _) for c in columns],
        "rows": [{"label": value_label(table, rows_key, r, links, _),
                  "cells": [fmt(data.cells.get((r, c))) for c in columns],
                  "total": fmt(data.row_totals.get(r))} for r in value_order(table, rows_key, data.rows)],
        "totals": [fmt(data.column_totals.get(c)) for c in columns],
        "total": fmt(data.total),
        "measure": measure_name(table, widget, _),
    }
    return True


def measure_name(table: Table, widget: Widget, _: Any) -> str:
    """What a figure is: Count, Sum · Fee, Average · Fee, %."""
    measure = str({"count": _("Count"), "sum": _("Sum"), "avg": _("Average"), "percent": "%"}.get(widget.aggregate, ""))
    if widget.field and widget.aggregate in ("sum", "avg"):
        measure = f"{measure} · {table.tdef.fields[widget.field].name}"
    return measure
