"""The dashboard widget interface: what every kind of dashboard widget (a number, a chart, a plugin's) is.

A *widget type* is one registry entry (the `gridbase_widgets` hook, `engine.plugins.widget_types()`),
keyed by the `type:` a widget declares in a dashboard's YAML. It says

- what its YAML may hold: `schema`, the JSON Schema of the keys it adds to a widget (filled
  into the base schema by engine.yamlschemas), `needs_group` (it draws one figure per group
  of `group_by`, as a chart does), and `problems(widget, table, kind_of)`, run by
  `gridbase validate`, each problem naming the YAML key it is about;
- what it shows: `compute(table, widget, actor)`, the data of the card, computed by the engine
  with the signed-in person as actor (rows and fields they may not read never count), and
  `index_columns(widget)`, the indexes that let the database answer it without reading the rows,
  and `read_columns(widget)`, the fields it reads (put in the index of a dashboard's date period);
- for a type that a plugin adds, how its card shows that data: `template`, jinja2 source
  rendered with autoescape (so a value can never become markup), given `data`, `widget` and `_`.

The built-in types (engine.widgets.builtin: number; bar, line, area, pie) register through the
same hook. Their cards are drawn by `views.pages.dashboards`, which finds the drawing for an
entry by the entry's class (a number card for a `NumberWidget`, a Vega-Lite chart for a
`ChartWidget`, the template for any other), never by the widget type's name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from engine.model import TableDef, Widget
from engine.viewtypes import KindOf, Problem

if TYPE_CHECKING:
    from engine.permissions import Actor
    from engine.records import Table


class WidgetType:
    """Base of widget types. Subclasses set `type`, implement `compute` and, for a plugin's card, `template`."""

    type: ClassVar[str]
    #: JSON Schema of each key this type adds to a widget's YAML (key -> schema).
    schema: ClassVar[dict[str, Any]] = {}
    #: one figure per group of `group_by`, which the widget must then name.
    needs_group: ClassVar[bool] = False
    #: jinja2 source of a plugin widget's card body (autoescaped); variables: `data`, `widget`, `_` (gettext).
    template: ClassVar[str] = ""

    def problems(self, widget: Widget, table: TableDef, kind_of: KindOf) -> list[Problem]:
        """What is wrong with `widget` beyond the schema; [] when nothing is. Field references are checked already."""
        return []

    def compute(self, table: Table, widget: Widget, actor: Actor) -> Any:
        """The card's data for `actor` (raise GridbaseError when it cannot be computed for them)."""
        raise NotImplementedError

    def index_columns(self, widget: Widget) -> list[tuple[str, ...]]:
        """Columns of the indexes that answer `widget` alone (engine.migrate makes them, live rows only)."""
        return []

    def read_columns(self, widget: Widget) -> list[str]:
        """The fields whose values `widget` reads besides its filter: its `group_by` and `field` and
        the columns of its own indexes (engine.dashindexes puts them in the index of a dashboard's period)."""
        cols = [c for c in (widget.group_by, widget.field) if c] + [c for i in self.index_columns(widget) for c in i]
        return list(dict.fromkeys(cols))


__all__ = ["Problem", "WidgetType"]
