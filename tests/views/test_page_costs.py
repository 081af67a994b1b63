"""What the pages do to be cheap keeps what they show: the template environment's quick read of
a dict's keys, the stored-moment reader, the sidebar kept per definition and person, option
lists worked out once per field, a grid's column settings shared by its cells, and what a
column's cells share worked out once per column (with masks and hidden fields kept)."""

from __future__ import annotations

import html
import json
import random
import re
from datetime import UTC, datetime

import jinja2
import pytest

from engine.fields.datetime import STORE_FORMAT, read_stored
from views.pages import cells, grid_cells, web

EXPRESSIONS = ["{{ d.name }}", "{{ d.missing is defined }}", "{{ d.items is callable }}", "{{ d.get('name') }}",
               "{{ d.nested.key }}", "{{ d.nested.nothing|default('none') }}", "{{ d['name'] }}",
               "{% for k, v in d.items() %}{{ k }}{% endfor %}", "{{ o.real }}", "{{ d.name.upper() }}"]


@pytest.mark.parametrize("source", EXPRESSIONS)
def test_templates_read_dicts_as_stock_jinja_does(source: str) -> None:
    stock = jinja2.Environment(autoescape=True)
    values = {"d": {"name": "王芳 <b>", "items": "a field named items", "nested": {"key": 3}}, "o": 2.5}
    assert web._env.from_string(source).render(values) == stock.from_string(source).render(values)


def test_a_missing_key_is_still_undefined_in_strict_places() -> None:
    with pytest.raises(jinja2.UndefinedError):
        web._env.from_string("{{ d.missing.deeper }}").render(d={})


def test_stored_moments_read_as_strptime_reads_them() -> None:
    rng = random.Random(24)
    for _ in range(2000):
        moment = datetime(rng.randint(1000, 2200), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                          rng.randint(0, 59), rng.randint(0, 59))
        text = moment.strftime(STORE_FORMAT)
        assert read_stored(text) == datetime.strptime(text, STORE_FORMAT).replace(tzinfo=UTC)
        assert read_stored(text).utcoffset().total_seconds() == 0
    for bad in ("2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01 10:00:00Z", "2026-01-01T10:00:60Z", ""):
        with pytest.raises(ValueError):
            read_stored(bad)


def test_option_lists_are_new_each_time() -> None:
    options = {"options": [{"name": "Open", "color": "#22aa66"}, "Done"]}
    first = cells.option_list(options)
    assert first == [{"name": "Open", "color": "x22aa66"}, {"name": "Done", "color": "gray"}]
    first[0]["name"] = "changed"
    first.append({"name": "extra", "color": "gray"})
    assert cells.option_list(options) == [{"name": "Open", "color": "x22aa66"}, {"name": "Done", "color": "gray"}]
    assert cells.option_list({"options": ["Other"]}) == [{"name": "Other", "color": "gray"}]


def test_sidebar_is_each_persons_and_follows_the_definition(ws, client_for) -> None:
    admin, wang, zhao = ws.actor("admin"), ws.actor("wang"), ws.actor("zhao")
    assert web.kept_nav(ws, admin) is web.kept_nav(ws, admin)
    assert web.kept_nav(ws, admin) == web.nav(ws, admin)
    assert web.kept_nav(ws, wang) == web.nav(ws, wang)
    assert web.kept_nav(ws, zhao) == web.nav(ws, zhao) == []  # no role: no table in the sidebar
    assert web.kept_nav(ws, None) == []
    # Signed in, each sees their own sidebar on every page, however often it is asked.
    for person, sees in (("wang", True), ("zhao", False)):
        client = client_for(person)
        for _ in range(2):
            assert ('href="/b/cases/t/cases"' in client.get("/").text) is sees


def test_grid_cells_of_a_column_carry_the_same_settings(ws, client_for) -> None:
    table = ws.base("cases").table("cases")
    for i in range(3):
        table.create({"title": f"case {i}", "status": "Open", "owner": "wang" if i else "li"}, actor="admin")
    page = client_for("admin").get("/b/cases/t/cases").text
    statuses = re.findall(r'data-field="status"[^>]*data-editor=\'([^\']*)\'', page)
    owners = re.findall(r'data-field="owner"[^>]*data-editor=\'([^\']*)\'', page)
    assert len(statuses) == 3 and len(set(statuses)) == 1 and '"Open"' in statuses[0]
    # A person cell's editor names the cell's own person.
    chosen = sorted(json.loads(html.unescape(o))["chosen"][0]["label"] for o in owners)
    assert chosen == ["李四", "王芳", "王芳"]


def test_a_grid_page_works_out_each_column_once_and_keeps_masks(ws, client_for, monkeypatch) -> None:
    """What a column's cells share (its field's editor, its mask, whether it may be edited) is
    worked out once per column, not once per cell: the work does not grow with the rows; and
    what a person may not read still does not reach them (a masked phone, a hidden field)."""
    table = ws.base("cases").table("cases")
    asked: list[str] = []
    real = cells.Column.__init__

    def counted(self, table, key, access) -> None:  # type: ignore[no-untyped-def]
        asked.append(key)
        real(self, table, key, access)

    monkeypatch.setattr(cells.Column, "__init__", counted)
    client = client_for("wang")
    seen = []
    for total in (2, 8):
        while table.query(actor="admin", limit=1).total < total:
            table.create({"title": f"case <{total}>", "status": "Open", "phone": "13812345678", "secret": "s3cret"}, actor="admin")
        asked.clear()
        page = client.get("/b/cases/t/cases").text
        assert page.count('data-label="Phone" data-field="phone" data-record=') == total and "13812345678" not in page and "*******5678" in page
        assert "s3cret" not in page and 'data-field="secret"' not in page and "case &lt;2&gt;" in page
        seen.append(sorted(asked))
    assert seen[0] == seen[1] and len(seen[0]) == len(set(seen[0]))


def test_a_grid_row_drawn_from_its_columns_drawings_is_the_row_drawn_cell_by_cell(ws) -> None:
    """A grid draws a column's cell once per value and puts each row's id into it: every row is
    what drawing each of its cells gives, for rows the person may and may not edit, masked,
    empty, shared and unique values, a value holding the stand-in for the id, and an id that is
    not plain (drawn cell by cell)."""
    from views.pages.cell_html import row_cells

    table = ws.base("cases").table("cases")
    for i in range(6):
        table.create({"title": ["same", f"case {i} <b>", "case <i>", "same"][i % 4], "status": ["Open", "Done"][i % 2],
                      "phone": "13812345678", "score": [3, 3.5, None][i % 3], "owner": ["wang", "li", None][i % 3],
                      "reporter": "li" if i % 2 else None}, actor="admin")
    for person in ("admin", "wang", "li"):
        actor = ws.actor(person)
        records = table.query(actor=actor, limit=100).records
        assert records
        keys = cells.columns_for(table, actor, None)
        editable = cells.editable_ids(table, actor, [r["id"] for r in records])
        links = cells.LinkTitles(table, actor)
        drawn = grid_cells.GridCells(table, actor, links)
        odd = {**records[0], "id": "rec\x01<odd>"}  # not an id the engine makes, nor a value it keeps:
        stand_in = {**records[1], "fields": {**records[1]["fields"], "title": "with \x01 inside"}}
        for rec in [*records, *records, odd, stand_in]:
            for may_edit in (rec["id"] in editable, False):
                one_by_one = row_cells([cells.build(table, rec, k, actor, editable=may_edit, links=links) for k in keys])
                assert drawn.row(rec, keys, may_edit) == one_by_one
        assert any(pieces is not None for pieces in drawn.drawn.values())  # the shared drawings were used


def test_grid_cells_kept_from_page_to_page_are_each_persons_and_the_cells_drawn_anew(ws, client_for, monkeypatch) -> None:
    """A cell of a field that shows its own value is kept from one grid page to the next: the
    next page draws no such cell again and its rows are what drawing each cell gives; a person
    never gets another's cell (the admin's unmasked phone is not the masked one of a handler),
    and a person's cell is drawn on every page (their name comes from the people)."""
    from views.pages.cell_html import row_cells

    table = ws.base("cases").table("cases")
    for i in range(4):
        table.create({"title": f"kept {i}", "status": "Open", "phone": "13812345678", "owner": "wang"}, actor="admin")
    monkeypatch.setattr(grid_cells, "_kept", {})
    assert "13812345678" in client_for("admin").get("/b/cases/t/cases").text
    page = client_for("wang").get("/b/cases/t/cases").text
    assert "13812345678" not in page and page.count("*******5678") == 4
    built: list[str] = []
    real = cells.build

    def counted(table, rec, key, actor, **kw):  # type: ignore[no-untyped-def]
        built.append(key)
        return real(table, rec, key, actor, **kw)

    for person in ("admin", "wang"):
        actor = ws.actor(person)
        records = table.query(actor=actor, limit=100).records
        keys = cells.columns_for(table, actor, None)
        editable = cells.editable_ids(table, actor, [r["id"] for r in records])
        links = cells.LinkTitles(table, actor)
        monkeypatch.setattr(cells, "build", counted)
        built.clear()
        rows = [grid_cells.GridCells(table, actor, links).row(rec, keys, rec["id"] in editable) for rec in records]
        monkeypatch.setattr(cells, "build", real)
        assert "title" not in built and "phone" not in built and "status" not in built  # kept from the page above
        assert "owner" in built
        assert rows == [row_cells([real(table, rec, k, actor, editable=rec["id"] in editable, links=links) for k in keys])
                        for rec in records]
