"""The built-in view types — grid, kanban, calendar, gallery, timeline — registered through the same hook as a plugin's.

Each says where its page lives and what its options must be; `views` draws their pages.
"""

from __future__ import annotations

from typing import Any, ClassVar

from engine.hookspecs import hookimpl
from engine.model import TableDef, ViewDef
from engine.plugins import field_types
from engine.viewtypes import KindOf, Problem, ViewType
from engine.viewtypes.timeline import TimelineView


class GridView(ViewType):
    type = "grid"
    path = "v"
    lists_rows = True


class KanbanView(ViewType):
    """Cards in one column per option of a single select, or per person."""

    type = "kanban"
    path = "kanban"
    #: field types whose values are the columns (a card moves by setting the value).
    GROUP_TYPES: ClassVar[tuple[str, ...]] = ("single_select", "person")

    def problems(self, view: ViewDef, table: TableDef, kind_of: KindOf) -> list[Problem]:
        if not view.group_by:
            return [Problem((), f"kanban view '{view.key}' needs group_by", "name a single_select or person field")]
        fdef = table.fields.get(view.group_by)
        if fdef is not None and fdef.type not in self.GROUP_TYPES:
            return [Problem(("group_by",), f"kanban view '{view.key}' must group by a single_select or person field, "
                                           f"'{fdef.key}' is a {fdef.type}")]
        return []


class CalendarView(ViewType):
    """Records placed on the days of a date or datetime field."""

    type = "calendar"
    path = "calendar"

    def problems(self, view: ViewDef, table: TableDef, kind_of: KindOf) -> list[Problem]:
        if not view.date_field:
            return [Problem((), f"calendar view '{view.key}' needs date_field", "name a date or datetime field")]
        if view.date_field in table.fields and kind_of(view.date_field) not in ("date", "datetime"):
            return [Problem(("date_field",), f"date_field '{view.date_field}' of view '{view.key}' is not a date or datetime field",
                            "name a date or datetime field, or a formula giving one (`result: date`); for a lookup of "
                            "dates, a formula over it: `{deadline}` through a one-record link, or `MIN({deadline})`")]
        return []


class GalleryView(ViewType):
    """Cards with a cover image from an attachment field."""

    type = "gallery"
    path = "gallery"

    def problems(self, view: ViewDef, table: TableDef, kind_of: KindOf) -> list[Problem]:
        fdef = table.fields.get(view.cover or "")
        if fdef is not None and not field_types()[fdef.type].files:
            return [Problem(("cover",), f"cover '{fdef.key}' of view '{view.key}' is not an attachment field")]
        return []


@hookimpl
def gridbase_view_types() -> list[Any]:
    """The built-in view types."""
    return [GridView, KanbanView, CalendarView, GalleryView, TimelineView]
