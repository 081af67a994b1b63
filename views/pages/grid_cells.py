"""Grid and card cells drawn once per value: a grid page's <td>s (`GridCells`, kept from page to
page for fields that show their own value) and a card's read-only cells (`read_only_cell`).

A cell (views.pages.cells `build`) depends on its value, whether its row may be edited and what
the page shares; its record's id is its only other part. This module owns drawing a cell once
and reusing it for every row or card that holds the same value, and the bounded store of cells
kept between pages (`_kept`).
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup

from engine import Actor
from engine.fields.builtin import BUILTIN_FIELD_TYPES
from engine.records import Table
from views.pages import cells
from views.pages.cell_html import row_cells

# The record's id in a cell drawn once for all the rows that hold its value (GridCells): a
# control character that escaping leaves as it is and no id of PLAIN_ID holds.
_RID = "\x01"
PLAIN_ID = re.compile(r"[A-Za-z0-9_-]+")
_SAME = (str, int, float, bool, type(None))  # values that are their own memo key (with their type)

# Cells kept from page to page (GridCells): a grid shows the same records' values page after page
# (the first screen of a table or view), and a cell of a built-in field that shows its own value
# (not a person's name, a linked record's title, a file: those change with the data) is drawn
# from its value, the field's definition and the person's access alone (a field's context,
# engine.fields.base.FieldContext: the timezone, the organisation tree, is the definition's). Kept
# by the workspace definition (its config object: a new definition is a new one), the person (the
# whole Actor: roles, departments) and the cell's memo key; short values only, so few and small.
_PURE_TYPES = frozenset(cls for cls in BUILTIN_FIELD_TYPES if not (cls.links or cls.through_link or cls.people or cls.files))
_KEPT_MAX = 5_000  # cells kept at most (all forgotten at once past it)
_KEPT_TEXT = 200  # characters at most of a kept text value
_kept: dict[tuple[Any, ...], tuple[Any, list[str] | None]] = {}


class GridCells:
    """The <td>s of a grid page's rows, as `cell_html.row_cells` of their `build` cells, each
    column's cell drawn once per value on the page. What a cell shows depends on its value,
    whether its row may be edited and what the page shares (LinkTitles: the person's access,
    the linked records' titles); its record's id is its only other part (data-record, the edit
    and upload URLs). So a cell is drawn once with a stand-in for the id and split there, and
    every row holding the same value in that column (a status, a person, an empty cell) is
    those pieces joined by its id. A value that is not plain text, a number or a list of them,
    or a drawing whose stand-ins are not exactly where the id goes, is drawn as before."""

    def __init__(self, table: Table, actor: Actor, links: cells.LinkTitles) -> None:
        self.table, self.actor, self.links = table, actor, links
        self.drawn: dict[tuple[Any, ...], list[str] | None] = {}
        self._pure: dict[str, bool] = {}

    def row(self, rec: dict[str, Any], keys: list[str], editable: bool) -> Markup:
        rid = rec["id"]
        if type(rid) is not str or not PLAIN_ID.fullmatch(rid):
            return Markup("".join([self._draw(rec, k, editable) for k in keys]))
        fields = rec["fields"]
        out = []
        for key in keys:
            value = fields.get(key)
            kind = type(value)
            if kind in _SAME and not (kind is str and _RID in value):
                memo: tuple[Any, ...] | None = (key, editable, kind, value)
            elif kind is list and all(type(v) is str and _RID not in v for v in value):
                memo = (key, editable, kind, tuple(value))
            else:
                memo = None
            pieces = self.drawn.get(memo) if memo is not None else None
            if pieces is None and memo is not None and memo not in self.drawn:
                pieces = self.drawn[memo] = self._kept_pieces(rec, key, editable, memo, value)
            out.append(rid.join(pieces) if pieces is not None else self._draw(rec, key, editable))
        return Markup("".join(out))

    def _kept_pieces(self, rec: dict[str, Any], key: str, editable: bool, memo: tuple[Any, ...],
                     value: Any) -> list[str] | None:
        """`_pieces`, kept from page to page for a field whose cells show their own value (above)."""
        pure = self._pure.get(key)
        if pure is None:
            col = self.links.column(key)
            pure = self._pure[key] = type(col.field) in _PURE_TYPES and col.shown_as in ("text", "badges")
        if not pure or len(str(value)) > _KEPT_TEXT:
            return self._pieces({**rec, "id": _RID}, key, editable)
        config = self.table.ws.config
        slot = (id(config), self.table.base.key, self.table.key, self.actor, memo)
        found = _kept.get(slot)
        if found is not None and found[0] is config:
            return found[1]
        pieces = self._pieces({**rec, "id": _RID}, key, editable)
        if len(_kept) >= _KEPT_MAX:
            _kept.clear()
        _kept[slot] = (config, pieces)
        return pieces

    def _draw(self, rec: dict[str, Any], key: str, editable: bool) -> str:
        return str(row_cells([cells.build(self.table, rec, key, self.actor, editable=editable, links=self.links)]))

    def _pieces(self, rec: dict[str, Any], key: str, editable: bool) -> list[str] | None:
        c = cells.build(self.table, rec, key, self.actor, editable=editable, links=self.links)
        html = str(row_cells([c]))
        places = 1 + bool(c["edit_url"]) + bool(c["upload_url"])  # data-record, the edit and upload URLs
        return html.split(_RID) if html.count(_RID) == places else None


def read_only_cell(table: Table, rec: dict[str, Any], key: str, links: cells.LinkTitles) -> dict[str, Any]:
    """`cells.build(…, editable=False)` of a card (a kanban's, a gallery's, a calendar's): a cell that
    may not be edited depends on its value and what the page shares, its record's id aside, so
    it is built once per value of the field on a page (a status, a person, a category on every
    card of a board) and copied with each record's id. Values as GridCells memoizes them."""
    value = rec["fields"].get(key)
    kind = type(value)
    if kind in _SAME:
        memo: tuple[Any, ...] = (key, kind, value)
    elif kind is list and all(type(v) is str for v in value):
        memo = (key, kind, tuple(value))
    else:
        return cells.build(table, rec, key, links.actor, editable=False, links=links)
    drawn = links.read_only.get(memo)
    if drawn is None:
        drawn = links.read_only[memo] = cells.build(table, rec, key, links.actor, editable=False, links=links)
    return {**drawn, "record": rec["id"]}
