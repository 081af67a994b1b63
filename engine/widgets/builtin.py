"""The built-in dashboard widgets — number; bar, line, area and pie charts; pivot — registered through the same hook as a plugin's.

A `NumberWidget` is one figure (`Table.aggregate`), shown beside the previous period's with
`compare: previous_period`; a `ChartWidget` one figure per group (`Table.group`) with the
Vega-Lite `mark` it is drawn with; a `PivotWidget` one figure per pair of values of two fields
with totals (`engine.pivot`). All are computed with the viewer as actor; `views.pages.dashboards`
draws them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from engine.hookspecs import hookimpl
from engine.model import TableDef, Widget
from engine.pivot import Pivot, pivot
from engine.viewtypes import KindOf, Problem
from engine.widgets import WidgetType

if TYPE_CHECKING:
    from engine.permissions import Actor
    from engine.records import Table


class NumberWidget(WidgetType):
    """One figure: a count, a sum, an average or a percent of the rows the viewer may read."""

    type = "number"
    schema: ClassVar[dict[str, Any]] = {"compare": {
        "enum": ["previous_period"], "title": "Compare",
        "description": "Show the same figure for the period before the chosen date filter's (this month → last month) "
                       "and the change. / 与上一周期对比（如本月对上月）",
        "examples": ["previous_period"]}}

    def compute(self, table: Table, widget: Widget, actor: Actor) -> float:
        return table.aggregate(actor=actor, aggregate=widget.aggregate, field=widget.field,
                               filter=widget.filter, where=widget.where)


class ChartWidget(WidgetType):
    """One figure per group of `group_by` (dates by `bucket`), drawn as a Vega-Lite `mark`.

    `arrange` puts the drawn points in order (`sort:`, `limit:`) and marks a date bucket that is
    still running (this week, this month) as `partial`; `finish_spec` makes the drawing read well:
    no title (the card has it), category labels horizontal or at 45° and never cut short, and
    the running bucket lighter (a bar) or dashed (a line), so a trend ends in "so far" instead
    of a cliff.
    """

    needs_group = True
    #: the Vega-Lite mark: bar, line, area or arc (a pie).
    mark: ClassVar[str] = "bar"

    def compute(self, table: Table, widget: Widget, actor: Actor) -> list[tuple[Any, float]]:
        return table.group(actor=actor, by=widget.group_by or "", aggregate=widget.aggregate, field=widget.field,
                           filter=widget.filter, bucket=widget.bucket, where=widget.where)

    def arrange(self, values: list[dict[str, Any]], table: Table, widget: Widget) -> list[dict[str, Any]]:
        """The points ({label, value, ...}, in group order) as drawn: sorted by `sort:` (value or
        label; `-` first for descending), the first `limit:` of them, the running date bucket
        marked `partial` and the point before it `tail` (where the dashed part of a line starts)."""
        sort = str(widget.options.get("sort") or "")
        if sort.lstrip("-") in ("value", "label"):
            key = sort.lstrip("-")
            values = sorted(values, key=lambda v: (v[key] is None, v[key]), reverse=sort.startswith("-"))
        limit = widget.options.get("limit")
        if isinstance(limit, int) and limit > 0:
            values = values[:limit]
        running = self.running_bucket(table, widget)
        at = next((i for i, v in enumerate(values) if v.get("label") == running), None)
        # Only at the end of the dates (after it only "empty", no later date): a trend's last bucket.
        if at is not None and not sort and not any(str(v.get("label", ""))[:1].isdigit() for v in values[at + 1:]):
            values[at].update(partial=True, tail=True)
            if at > 0:
                values[at - 1]["tail"] = True
        return values

    @staticmethod
    def running_bucket(table: Table, widget: Widget) -> str | None:
        """The label of the date bucket today falls in (its day, its week's Monday, its month),
        when the chart groups by a date; None otherwise."""
        field = table.fields.get(widget.group_by or "")
        if field is None or field.kind not in ("date", "datetime"):
            return None
        today = table.ws.now().astimezone(table.ws.tz).date()
        bucket = widget.bucket or "day"
        if bucket == "week":
            return (today - timedelta(days=today.weekday())).isoformat()
        if bucket == "month":
            return f"{today.year:04d}-{today.month:02d}"
        return today.isoformat()

    def finish_spec(self, spec: dict[str, Any], values: list[dict[str, Any]]) -> dict[str, Any]:
        """The chart's Vega-Lite spec made to read well (see the class)."""
        spec = dict(spec)
        spec.pop("title", None)  # the card's heading says it already
        encoding = spec.get("encoding", {})
        labels = [str(v.get("label", "")) for v in values]
        if "x" in encoding:
            # Side by side when they fit a card's width (about 30 Chinese characters with gaps), else at 45°.
            widest = max((label_width(t) for t in labels), default=0)
            angle = 0 if (widest + 1) * len(labels) <= 30 else -45
            # Every category keeps its label (a long run of dates may skip some, as a time axis does).
            dates = encoding["x"].get("type") == "ordinal" or len(labels) > MAX_LABELLED
            axis = {**encoding["x"].get("axis", {}), "labelAngle": angle, "labelLimit": 0,
                    "labelOverlap": "greedy" if dates else False}
            encoding["x"] = {**encoding["x"], "axis": axis}
            if angle and isinstance(spec.get("height"), (int, float)):
                # Slanted labels take height of their own: the plot gives it up, so the card keeps its size.
                spec["height"] = max(120, int(spec["height"] - widest * LABEL_PX * 0.71 + LABEL_PX))
        if "color" in encoding and encoding["color"].get("legend", {}) is not None:
            encoding["color"] = {**encoding["color"], "legend": {**encoding["color"].get("legend", {}), "labelLimit": 0}}
        if not any(v.get("partial") for v in values) or "x" not in encoding:
            return spec
        mark = spec.get("mark", {})
        mark = {"type": mark} if isinstance(mark, str) else dict(mark)
        if mark.get("type") == "bar":
            encoding["opacity"] = {"condition": {"test": "datum.partial", "value": 0.4}, "value": 1}
            return spec
        # A line or area: solid through the finished buckets, dashed and lighter into the running one.
        done = {"mark": mark, "encoding": encoding, "transform": [{"filter": "!datum.partial"}]}
        running = {"mark": {"type": "line", "strokeDash": [5, 4], "opacity": 0.6, "point": {"filled": False},
                            "cursor": mark.get("cursor", "pointer")},
                   "encoding": encoding, "transform": [{"filter": "datum.tail"}]}
        del spec["mark"], spec["encoding"]
        spec["layer"] = [done, running]
        return spec


#: at most this many categories are all labelled; more (a long tail of them) skip what overlaps.
MAX_LABELLED = 30
#: the axis label font size of the charts, in pixels (Vega's default).
LABEL_PX = 10


def label_width(text: str) -> float:
    """How wide a label is, in Chinese characters (a Latin letter or digit counts half)."""
    return sum(1 if ord(ch) > 0x2E80 else 0.55 for ch in text)


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


class PivotWidget(WidgetType):
    """A pivot table: `rows` × `columns` (two fields), each cell the count, sum or avg of the records
    with that pair of values, with row and column totals."""

    type = "pivot"
    schema: ClassVar[dict[str, Any]] = {
        "rows": {"type": "string", "minLength": 1, "title": "Rows",
                 "description": "Field whose values make the pivot's rows. / 行字段", "examples": ["category"]},
        "columns": {"type": "string", "minLength": 1, "title": "Columns",
                    "description": "Field whose values make the pivot's columns. / 列字段", "examples": ["department"]},
        "bucket": {"enum": ["day", "week", "month"], "title": "Bucket",
                   "description": "How a date row or column field is grouped (default day). / 日期字段的分组粒度",
                   "examples": ["month"]},
    }

    def problems(self, widget: Widget, table: TableDef, kind_of: KindOf) -> list[Problem]:
        out = []
        for key in ("rows", "columns"):
            name = widget.options.get(key)
            if not name:
                out.append(Problem((), f"pivot '{widget.title}' needs {key}", f"name the field of its {key}"))
            elif name not in table.fields:
                out.append(Problem((key,), f"unknown field '{name}' in table '{table.key}'",
                                   "known fields: " + ", ".join(table.fields)))
        if widget.aggregate == "percent":
            out.append(Problem(("aggregate",), "a pivot takes count, sum or avg", "use aggregate: count, sum or avg"))
        return out

    def index_columns(self, widget: Widget) -> list[tuple[str, ...]]:
        """(rows, columns[, field]): the cells are then one walk of the index, in order, no sort."""
        dims = (str(widget.options.get("rows", "")), str(widget.options.get("columns", "")))
        return [dims + ((widget.field,) if widget.field else ())] if all(dims) else []

    def compute(self, table: Table, widget: Widget, actor: Actor) -> Pivot:
        return pivot(table, actor=actor, rows=str(widget.options.get("rows", "")),
                     columns=str(widget.options.get("columns", "")), aggregate=widget.aggregate,
                     field=widget.field, filter=widget.filter, bucket=widget.bucket)


@hookimpl
def gridbase_widgets() -> list[Any]:
    """The built-in widget types, in the order the YAML reference lists them."""
    return [NumberWidget, BarChart, LineChart, PieChart, AreaChart, PivotWidget]
