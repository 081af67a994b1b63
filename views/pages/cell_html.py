"""The HTML of one cell (`<td>`) and of a board's card, written in Python: what `_macros.html`'s
`cell` macro and `_kanban_card.html`'s `kanban_card` macro drew.

A grid page draws a cell for every field of every row (2,000 on a 100-row page of 20 columns),
and a Jinja macro call per cell was a third of the page's time. `cell_html(c)` writes the same
markup from the cell dict of `views.pages.cells.build` (byte for byte: tests/views/
test_cell_html.py renders cells of every field type both ways), escaping every value with
markupsafe as the template's autoescape did. The `cell` macro calls it, so the record page, the
cell fragment after a save and the grid share this one definition; the grid's rows call it
directly (`row_cells`). What a cell may show was decided in `cells.build` (masks, permissions):
this module only writes it out. A kanban or gallery card (`card_html`, from the dict of
`views.pages.boards.make_card`) likewise: a board draws hundreds.
"""

from __future__ import annotations

from typing import Any

from jinja2.filters import do_int
from markupsafe import Markup, escape


def _esc(value: Any) -> str:
    """markupsafe's `escape(value)` as text: a plain string's five characters replaced, here
    without a Markup object made for each (most of a cell's cost); anything else as markupsafe
    does it (Markup as it is, other values as their text, escaped)."""
    if type(value) is str:
        if "&" in value or "<" in value or ">" in value or "'" in value or '"' in value:
            return value.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;").replace("'", "&#39;").replace('"', "&#34;")
        return value
    if type(value) is Markup:  # already markup (a column's JSON): as it is
        return value
    return str(escape(value))


def _attr(d: dict[str, Any], key: str) -> str:
    """`{{ d.key }}` of the template: the escaped value, or nothing when the key is missing."""
    return _esc(d[key]) if key in d else ""


def _chips(links: list[dict[str, Any]]) -> str:
    out = ['<ul class="link-chosen">']
    for r in links:
        text = _attr(r, "text")
        inner = f'<a href="{_esc(r["url"])}">{text}</a>' if r.get("url") else f"<span>{text}</span>"
        out.append(f'<li class="link-chip" data-id="{_attr(r, "id")}">{inner}</li>')
    out.append("</ul>")
    return "".join(out)


def _stars(c: dict[str, Any]) -> str:
    n = do_int(c.get("value") or 0)
    most = do_int((c.get("attrs") or {}).get("max") or 5)
    return '<span class="stars">' + "".join('<span class="star on">★</span>' if i <= n else '<span class="star"></span>'
                                            for i in range(1, most + 1)) + "</span>"


def content(c: dict[str, Any]) -> str:
    """What a grid cell shows inside its <td>: link chips, a checkbox, stars, option badges,
    links, or the display text."""
    if c.get("kind") == "link" and c.get("link"):
        return _chips(c["links"]) if c.get("links") else ""
    if c.get("edit_url"):
        widget = c.get("widget")
        if widget == "checkbox":
            return (f'<button type="button" class="cb-toggle" role="checkbox" tabindex="-1" aria-checked="'
                    f'{"true" if c.get("text") else "false"}" aria-label="{_attr(c, "label")}">{_attr(c, "text")}</button>')
        if widget == "rating":
            return _stars(c)
    return _value(c)


def _value(c: dict[str, Any]) -> str:
    if c.get("badges"):
        return "".join(f'<span class="badge opt-{_attr(b, "color")}">{_attr(b, "name")}</span>' for b in c["badges"])
    if c.get("links"):
        return ", ".join(f'<a href="{_esc(lk["url"])}">{_attr(lk, "text")}</a>' if lk.get("url") else f'<span>{_attr(lk, "text")}</span>'
                         for lk in c["links"])
    return _attr(c, "text")


def cell_content(c: dict[str, Any]) -> Markup:
    """A cell's value as read-only pages show it (a kanban or gallery card): its option badges,
    its links (linked records, files), or its display text."""
    return Markup(_value(c))


def _head(c: dict[str, Any], error: bool) -> str:
    classes = "cell" + (" is-primary" if c.get("primary") else "") + (" link-cell" if c.get("kind") == "link" else "") + \
        (" has-error" if error else "")
    return f'<td class="{classes}" tabindex="0" data-label="{_attr(c, "label")}" data-field="{_attr(c, "key")}" data-record="'


# The start of a <td>, the same for every cell of a column: kept by what it is made of.
_heads: dict[tuple[Any, ...], str] = {}


def opening(c: dict[str, Any], *, grid: bool = True, error: bool = False) -> str:
    """The cell's <td …> tag: its class, what it is, and how it is edited (data-*)."""
    label, key = c.get("label"), c.get("key")
    if type(label) is str and type(key) is str:
        kept = (label, key, bool(c.get("primary")), c.get("kind") == "link", error)
        head = _heads.get(kept)
        if head is None:
            if len(_heads) > 20_000:
                _heads.clear()
            head = _heads[kept] = _head(c, error)
    else:
        head = _head(c, error)
    out = [f'{head}{_attr(c, "record")}"']
    edit_url = c.get("edit_url")
    if not edit_url and not c.get("upload_url"):
        out.append(' aria-readonly="true"' if grid else ' data-readonly="true"')
    if edit_url:
        out.append(f' data-edit-url="{_esc(edit_url)}" data-kind="{_attr(c, "kind")}"')
        if c.get("widget") != c.get("kind"):
            out.append(f' data-widget="{_attr(c, "widget")}"')
        out.append(f' data-value="{_attr(c, "value")}"')
        if "options" not in c or c["options"] is not None:
            out.append(f" data-options='{_attr(c, 'options_json')}'")
        if c.get("editor"):
            out.append(f" data-editor='{_attr(c, 'editor_json')}'")
        if c.get("attrs"):
            out.append(f" data-attrs='{_attr(c, 'attrs_json')}'")
    if c.get("upload_url"):
        out.append(f' data-upload-url="{_esc(c["upload_url"])}"')
    out.append(">")
    return "".join(out)


def cell_html(c: dict[str, Any], grid: bool = True, error: Any = None, inner: Any = None) -> Markup:
    """The whole <td> of cell `c`. `error`: the message shown under it (already in the page's
    language), `inner`: what it holds instead of `content(c)` (the record page's link picker)."""
    body = content(c) if inner is None else inner
    tail = f'<div class="cell-error" role="alert">{_esc(error)}</div>' if error else ""
    return Markup(f"{opening(c, grid=grid, error=bool(error))}{body}{tail}</td>")


def row_cells(cells: list[dict[str, Any]]) -> Markup:
    """The <td>s of one grid row (as `cell_html` of each)."""
    return Markup("".join([f"{opening(c)}{content(c)}</td>" for c in cells]))


def grid_rows(rows: list[dict[str, Any]], span: int, select: str, expand: str, empty: str) -> Markup:
    """The <tr>s of a grid's rows (views.pages.table `build_rows`: a group heading, or a row with
    its cells' markup in `html`), as `_grid_rows.html` drew them one template loop at a time;
    `span`: the columns a heading spans, `select`, `expand`, `empty`: the page's words for the
    row's checkbox, its link and a heading without a value. Not for the trash (its rows restore)."""
    out = []
    for row in rows:
        if "group" in row:
            out.append(f'<tr class="group-row" role="row"><th role="rowheader" colspan="{span}">{_esc(row["group"] or empty)}</th></tr>\n')
            continue
        number, url = row["number"], _esc(row["url"])
        index = f' aria-rowindex="{number + 1}"' if number else ""
        out.append(f'<tr role="row" data-id="{_esc(row["id"])}" data-index="{number - 1}" data-url="{url}"{index} aria-selected="false">\n'
                   f'  <td class="row-num" role="rowheader"><input type="checkbox" class="row-select" tabindex="-1" aria-label="'
                   f'{_esc(select)} {number}"><a href="{url}" title="{_esc(expand)}">{number}</a></td>\n{row["html"]}</tr>\n')
    return Markup("".join(out))


def card_html(card: dict[str, Any], untitled: str, hint: str) -> Markup:
    """A record as a card of a kanban or gallery: its title (`untitled` when it has none), the
    values of its fields, and, when it may be moved, how (`hint`, said to a screen reader)."""
    title = _esc(card.get("title") or untitled)
    out = [f'<article class="card" data-record="{_attr(card, "id")}"']
    if card.get("move_url"):
        out.append(f' data-move-url="{_esc(card["move_url"])}" tabindex="0"\n  aria-keyshortcuts="Enter Alt+ArrowLeft '
                   f'Alt+ArrowRight" aria-label="{title} · {_esc(hint)}"')
    out.append(">\n")
    if card.get("cover"):
        out.append(f'<img class="cover" src="{_esc(card["cover"])}" alt="" loading="lazy">')
    out.append(f'  <div class="body">\n    <div class="card-title"><a href="{_attr(card, "url")}">{title}</a></div>\n')
    if card.get("cells"):
        out.append("    <dl>\n")
        out.extend(f"<dt>{_attr(c, 'label')}</dt><dd>{_value(c)}</dd>" for c in card["cells"])
        out.append("    </dl>\n")
    out.append("  </div>\n</article>")
    return Markup("".join(out))


def cards_html(cards: list[dict[str, Any]], untitled: str, hint: str) -> Markup:
    """The cards of a kanban's column or of a gallery, one after another."""
    return Markup("".join([card_html(card, untitled, hint) for card in cards]))
