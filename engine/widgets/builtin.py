"""The built-in dashboard widgets — number; bar, line, area and pie charts — registered through the same hook as a plugin's.

A `NumberWidget` is one figure (`Table.aggregate`); a `ChartWidget` one figure per group
(`Table.group`) with the Vega-Lite `mark` it is drawn with. Both are computed with the viewer as
actor; `views.pages.dashboards` draws them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from engine.hookspecs import hookimpl
from engine.model import Widget
from engine.widgets import WidgetType

if TYPE_CHECKING:
    from engine.permissions import Actor
    from engine.records import Table


class NumberWidget(WidgetType):
    """One figure: a count, a sum, an average or a percent of the rows the viewer may read."""

    type = "number"

    def compute(self, table: Table, widget: Widget, actor: Actor) -> float:
        return table.aggregate(actor=actor, aggregate=widget.aggregate, field=widget.field,
                               filter=widget.filter, where=widget.where)


class ChartWidget(WidgetType):
    """One figure per group of `group_by` (dates by `bucket`), drawn as a Vega-Lite `mark`."""

    needs_group = True
    #: the Vega-Lite mark: bar, line, area or arc (a pie).
    mark: ClassVar[str] = "bar"

    def compute(self, table: Table, widget: Widget, actor: Actor) -> list[tuple[Any, float]]:
        return table.group(actor=actor, by=widget.group_by or "", aggregate=widget.aggregate, field=widget.field,
                           filter=widget.filter, bucket=widget.bucket, where=widget.where)


class BarChart(ChartWidget):
    """Bars, one per group."""

    type = "bar"
    mark = "bar"


class LineChart(ChartWidget):
    """A line through the groups, in order (dates with the empty ones between)."""

    type = "line"
    mark = "line"


class AreaChart(ChartWidget):
    """A filled line through the groups, in order."""

    type = "area"
    mark = "area"


class PieChart(ChartWidget):
    """A pie, one slice per group."""

    type = "pie"
    mark = "arc"


@hookimpl
def gridbase_widgets() -> list[Any]:
    """The built-in widget types, in the order the YAML reference lists them."""
    return [NumberWidget, BarChart, LineChart, PieChart, AreaChart]
