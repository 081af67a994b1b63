"""A cell's HTML written in Python (views/pages/cell_html.py) is the HTML the `cell` macro of
_macros.html wrote before (kept below as it was): a cell of every field type, read-only and
editable, with badges, links, chips, an upload target and an error, in the grid and on the
record page, and kanban and gallery cards; every value escaped."""

from __future__ import annotations

from typing import Any

import pytest

from engine.fields.base import FieldContext
from engine.model import Department, FieldDef, Person
from engine.org import OrgTree
from engine.plugins import field_types
from views.pages import cell_html, web
from views.pages.cells import attr_json

# The macro as _macros.html held it before cell_html.py wrote cells (session 22).
OLD_CELL = """{% macro cell(c, error=None, grid=True) -%}
<td class="cell{% if c.primary %} is-primary{% endif %}{% if c.kind == 'link' %} link-cell{% endif %}{% if error %} has-error{% endif %}" tabindex="0" data-label="{{ c.label }}" data-field="{{ c.key }}" data-record="{{ c.record }}"
{%- if not c.edit_url and not c.upload_url %}{% if grid %} aria-readonly="true"{% else %} data-readonly="true"{% endif %}{% endif %}
{%- if c.edit_url %} data-edit-url="{{ c.edit_url }}" data-kind="{{ c.kind }}"{% if c.widget != c.kind %} data-widget="{{ c.widget }}"{% endif %} data-value="{{ c.value }}"
{%- if c.options is not none %} data-options='{{ c.options_json }}'{% endif %}
{%- if c.editor %} data-editor='{{ c.editor_json }}'{% endif %}
{%- if c.attrs %} data-attrs='{{ c.attrs_json }}'{% endif %}{% endif %}
{%- if c.upload_url %} data-upload-url="{{ c.upload_url }}"{% endif %}>
{#- cell_value(c) written out: a grid page draws this for every cell, and a macro call costs more than the markup -#}
{%- if c.kind == 'link' and c.link and not grid %}{{ link_picker(c.key, c.links, c.link, c.label, save_url=c.edit_url) }}
{%- elif c.kind == 'link' and c.link %}{% if c.links %}<ul class="link-chosen">{% for r in c.links %}<li class="link-chip" data-id="{{ r.id }}">{% if r.url %}<a href="{{ r.url }}">{{ r.text }}</a>{% else %}<span>{{ r.text }}</span>{% endif %}</li>{% endfor %}</ul>{% endif %}{% else %}{% if c.widget == 'checkbox' and c.edit_url %}<button type="button" class="cb-toggle" role="checkbox" tabindex="-1" aria-checked="{{ 'true' if c.text else 'false' }}" aria-label="{{ c.label }}">{{ c.text }}</button>
{%- elif c.widget == 'rating' and c.edit_url %}{% set n = (c.value or 0)|int %}<span class="stars">{% for i in range(1, ((c.attrs or {}).max or 5)|int + 1) %}{% if i <= n %}<span class="star on">★</span>{% else %}<span class="star"></span>{% endif %}{% endfor %}</span>
{%- else %}{% if c.badges %}{% for b in c.badges %}<span class="badge opt-{{ b.color }}">{{ b.name }}</span>{% endfor %}
{%- elif c.links %}{% for l in c.links %}{% if l.url %}<a href="{{ l.url }}">{{ l.text }}</a>{% else %}<span>{{ l.text }}</span>{% endif %}{% if not loop.last %}, {% endif %}{% endfor %}
{%- else %}{{ c.text }}{% endif %}{% endif %}{% endif %}
{%- if error %}<div class="cell-error" role="alert">{{ msg(error) }}</div>{% endif %}</td>
{%- endmacro %}"""

# _kanban_card.html's macro before cell_html.py wrote cards (session 22).
OLD_CARD = """{% macro kanban_card(card) -%}
<article class="card" data-record="{{ card.id }}"{% if card.move_url %} data-move-url="{{ card.move_url }}" tabindex="0"
  aria-keyshortcuts="Enter Alt+ArrowLeft Alt+ArrowRight" aria-label="{{ card.title or _('Untitled') }} · {{ _('Enter opens the card, Alt+Left or Alt+Right moves it') }}"{% endif %}>
  {% if card.cover %}<img class="cover" src="{{ card.cover }}" alt="" loading="lazy">{% endif %}
  <div class="body">
    <div class="card-title"><a href="{{ card.url }}">{{ card.title or _('Untitled') }}</a></div>
    {% if card.cells %}
    <dl>
      {% for c in card.cells %}<dt>{{ c.label }}</dt><dd>{{ cell_content(c) }}</dd>{% endfor %}
    </dl>
    {% endif %}
  </div>
</article>
{%- endmacro %}
"""

OLD_KANBAN_VALUE = ("{% if c.badges %}{% for b in c.badges %}<span class=\"badge opt-{{ b.color }}\">{{ b.name }}</span>{% endfor %}"
                    "{% elif c.links %}{% for l in c.links %}{% if l.url %}<a href=\"{{ l.url }}\">{{ l.text }}</a>{% else %}"
                    "<span>{{ l.text }}</span>{% endif %}{% if not loop.last %}, {% endif %}{% endfor %}{% else %}{{ c.text }}{% endif %}")

CTX = FieldContext(people={"admin": Person("admin", "管理员", email="admin@example.org"), "li": Person("li", "李四 <b>")},
                   org=OrgTree({"qc": Department("qc", "质控部"), "main": Department("main", "中山院区", kind="campus"),
                                "ortho": Department("ortho", "口腔正畸中心", parent="main")}))
EVIL = '<img src=x onerror="alert(1)">&\'"'


def cells_of(key: str) -> list[dict[str, Any]]:
    """Cells of a field of type `key` as views.pages.cells.build makes them, in each state."""
    cls = field_types()[key]
    opts, raw, _expected = cls.good[0] if cls.good else ({}, None, None)
    field = cls(FieldDef("f", key, "字段 " + EVIL, dict(opts)), CTX)
    editor = field.editor()
    text = field.display(field.coerce(raw)) if cls.good else "A-0001"  # computed types: no value to write
    plain = {"key": "f", "label": "字段 " + EVIL, "type": key, "text": text, "badges": [], "links": [], "edit_url": None,
             "kind": None, "value": "", "options": None, "record": "rec1", "editor": None, "upload_url": None,
             "primary": False, "widget": editor.widget}
    found = [plain, {**plain, "text": EVIL}, {**plain, "text": ""}, {**plain, "primary": True},
             {**plain, "badges": [{"name": "Open " + EVIL, "color": "red"}, {"name": "Done", "color": "x22aa66"}]},
             {**plain, "links": [{"id": "r1", "text": "王芳 " + EVIL, "url": "/b/x/t/y/r/r1"}, {"id": "r2", "text": "r2", "url": None}]},
             {**plain, "links": [{"text": "a.pdf", "url": "/att/a1"}]},
             {**plain, "upload_url": "/b/x/t/y/r/rec1/attach/f"}]
    if editor.cell:
        attrs = {"max": "7", "maxlength": "20"} if editor.widget == "rating" else {"placeholder": EVIL}
        editable = {**plain, "edit_url": "/b/x/t/y/r/rec1/cell/f", "kind": editor.cell, "value": text + EVIL,
                    "attrs": attrs, "attrs_json": attr_json(attrs), "editor": {"tz": "Asia/Shanghai", "x": EVIL},
                    "editor_json": attr_json({"tz": "Asia/Shanghai", "x": EVIL})}
        found += [editable, {**editable, "attrs": {}, "editor": {}, "value": "3"}, {**editable, "value": "2.0", "text": ""},
                  {**editable, "options": ["Open", EVIL], "options_json": attr_json(["Open", EVIL])},
                  {**editable, "link": {"multiple": True, "table_name": "病人", "search_url": "/b/x/t/y/link/f"},
                   "links": [{"id": "r1", "text": EVIL, "url": "/b/x/t/p/r/r1"}, {"id": "r2", "text": "r2", "url": None}]},
                  {**editable, "link": {"multiple": False, "table_name": "病人", "search_url": "/s"}, "links": []},
                  {**editable, "upload_url": "/b/x/t/y/r/rec1/attach/f", "widget": editor.cell}]
    return found


_compiled: dict[str, Any] = {}


def render(source: str, **values: Any) -> str:
    if source not in _compiled:
        _compiled[source] = web._env.from_string(source)
    return str(_compiled[source].render(msg=lambda m: f"msg:{m}", _=lambda text, **kw: text, **values))


@pytest.mark.parametrize("key", sorted(field_types()))
def test_a_cell_of_every_field_type_is_drawn_as_the_macro_drew_it(key: str) -> None:
    old = '{% from "_macros.html" import link_picker with context %}' + OLD_CELL + "{{ cell(c, error, grid) }}"
    new = '{% from "_macros.html" import cell with context %}{{ cell(c, error, grid) }}'
    for c in cells_of(key):
        for grid in (True, False):
            for error in (None, "bad_value " + EVIL):
                assert render(new, c=c, error=error, grid=grid) == render(old, c=c, error=error, grid=grid)
        assert render("{{ cell_content(c) }}", c=c) == render(OLD_KANBAN_VALUE, c=c)
    row = cells_of(key)
    assert cell_html.row_cells(row) == "".join(render(old, c=c, error=None, grid=True) for c in row)


def test_what_a_cell_shows_is_escaped() -> None:
    html = cell_html.cell_html(cells_of("text")[1])
    assert "<img" not in html and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


def test_a_card_is_drawn_as_the_macro_drew_it() -> None:
    cells = cells_of("multi_select")[:7] + cells_of("link")[:7]
    plain = {"id": "rec1", "title": "王芳 " + EVIL, "url": "/b/x/t/y/r/rec1", "cells": cells, "move_url": None, "cover": None}
    cards = [plain, {**plain, "title": ""}, {**plain, "cells": []}, {**plain, "move_url": "/b/x/t/y/r/rec1/move/status?view=v"},
             {**plain, "cover": "/att/a1?" + EVIL}, {**plain, "title": None, "move_url": "/m", "cover": "/att/a2", "cells": cells[:1]}]
    old = OLD_CARD + "{% for card in cards %}{{ kanban_card(card) }}{% endfor %}"
    new = '{% from "_kanban_card.html" import kanban_card with context %}{% for card in cards %}{{ kanban_card(card) }}{% endfor %}'
    hint = "Enter opens the card, Alt+Left or Alt+Right moves it"
    for card in cards:
        assert render(new, cards=[card]) == render(old, cards=[card])
    assert cell_html.cards_html(cards, "Untitled", hint) == render(old, cards=cards)


# _grid_rows.html's loop before cell_html.py wrote a grid's rows (session 23), the trash's restore button left out.
OLD_ROWS = """{% for row in rows %}
{% if row.group is defined %}
<tr class="group-row" role="row"><th role="rowheader" colspan="{{ columns|length + 1 }}">{{ row.group or _('Empty') }}</th></tr>
{% else %}
<tr role="row" data-id="{{ row.id }}" data-index="{{ row.number - 1 }}" data-url="{{ row.url }}"{% if row.number %} aria-rowindex="{{ row.number + 1 }}"{% endif %} aria-selected="false">
  <td class="row-num" role="rowheader"><input type="checkbox" class="row-select" tabindex="-1" aria-label="{{ _('Select row') }} {{ row.number }}"><a href="{{ row.url }}" title="{{ _('Expand record') }}">{{ row.number }}</a></td>
{{ row.html }}</tr>
{% endif %}
{% endfor %}"""


def test_grid_rows_are_drawn_as_the_template_drew_them() -> None:
    cells = cells_of("text")
    html = cell_html.row_cells(cells)
    rows = [{"group": "Open"}, {"id": "rec1", "number": 1, "url": "/b/x/t/y/r/rec1", "html": html},
            {"group": ""}, {"group": EVIL}, {"id": EVIL, "number": 12, "url": "/b/x/t/y/r/" + EVIL, "html": html},
            {"id": "rec3", "number": 0, "url": "/b/x/t/y/r/rec3", "html": html}]  # …/rows?ids=: no place in the view
    for some in (rows, rows[1:2], []):
        old = render(OLD_ROWS, rows=some, columns=["a", "b"])
        assert cell_html.grid_rows(some, 3, "Select row", "Expand record", "Empty") == old
