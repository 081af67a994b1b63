"""The view-type interface: what every kind of view (grid, kanban, a plugin's own) is.

A *view type* is one registry entry (the `gridbase_view_types` hook, `engine.plugins.view_types()`),
keyed by the `type:` a view declares in YAML. It says

- where its page lives: `path`, the URL segment under `/b/{base}/t/{table}/` (`view/<type>`
  unless the type says otherwise);
- what its options must be: `problems(view, table, kind_of)`, run by `gridbase validate`, each
  problem naming the YAML key it is about, so the error points at file, line and column;
- for a type that a plugin adds, how its page shows the records: `template`, jinja2 source
  rendered with autoescape (so a value can never become markup), given a `ViewPage` of the
  records that the signed-in person may read, in the view's filter and sort, each cell already
  shown as its field type shows it (masked where a mask applies).

The built-in types register through the same hook (`engine.viewtypes.builtin`); their richer
pages (moving cards, calendars) are drawn by `views`, looked up by type in its own registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from engine.model import TableDef, ViewDef


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a view's options: `path` is below the view's own YAML key."""

    path: tuple[str, ...]
    message: str
    hint: str = ""


@dataclass(frozen=True)
class PageField:
    """A column of a view page: the field's key, its display name and its type."""

    key: str
    name: str
    type: str


@dataclass(frozen=True)
class PageRow:
    """One record as a view page shows it: its title, its page's URL and its cells as text."""

    id: str
    url: str
    title: str
    cells: dict[str, str]


@dataclass(frozen=True)
class ViewPage:
    """What a plugin view type's template is given: only what the reader may read."""

    table_name: str
    view_name: str
    locale: str
    fields: list[PageField]
    rows: list[PageRow]
    total: int
    options: dict[str, Any] = field(default_factory=dict)


# kind_of(field_key) -> the kind of value the field holds ("date", "text", ...) or None if unknown.
KindOf = Callable[[str], str | None]


class ViewType:
    """Base of view types. Subclasses set `type` and, for a plugin's page, `template`."""

    type: ClassVar[str]
    #: URL segment of the view's page; "" means `view/<type>`.
    path: ClassVar[str] = ""
    #: at most this many records are given to a template.
    row_limit: ClassVar[int] = 500
    #: a view of this type without a filter lists every record as rows, as the table's own page
    #: does; the table then offers no "All" tab beside it (it would show the same records twice).
    lists_rows: ClassVar[bool] = False
    #: jinja2 source of the page body (autoescaped); variables: `page` (a ViewPage), `_` (gettext).
    template: ClassVar[str] = ""

    @classmethod
    def url_segment(cls) -> str:
        return cls.path or f"view/{cls.type}"

    def problems(self, view: ViewDef, table: TableDef, kind_of: KindOf) -> list[Problem]:
        """What is wrong with `view`'s options; [] when nothing is. Field references are checked already."""
        return []

    def lists_every_row(self, view: ViewDef) -> bool:
        """Whether `view` lists every record of its table as rows (see `lists_rows`)."""
        return self.lists_rows and not view.filter


__all__ = ["KindOf", "PageField", "PageRow", "Problem", "ViewPage", "ViewType"]
