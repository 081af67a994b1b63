"""What the grid script asks the server for: row blocks (and rows by id) drawn with the
person's permissions, the last block read from the view's end, the summary bar (no figure
for a masked field, no column for a hidden one), the person's column layout, bulk delete,
and the filter operators a field type offers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from engine import Workspace
from engine import prefs as prefs_service
from engine.summary import summarize
from tests.views.conftest import token
from views.pages import grid

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

GRID = "/b/cases/t/cases"


@pytest.fixture
def seeded(ws: Workspace) -> list[str]:
    table = ws.base("cases").table("cases")
    return table.insert_many(({"title": f"Case {i:03d}", "status": ["Open", "Doing", "Done"][i % 3], "score": i % 10,
                               "phone": "13800001111", "secret": f"top secret {i}",
                               "reporter": "li" if i % 2 else "zhao"} for i in range(1, 121)), actor="admin")


def numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'aria-rowindex="(\d+)"', html)]


def test_rows_block_is_the_grid_as_the_person_sees_it(client_for: Callable[[str], Any], seeded: list[str]) -> None:
    admin = client_for("admin")
    first = admin.get(GRID + "/rows?offset=0&limit=10")
    assert first.status_code == 200
    assert numbers(first.text) == list(range(2, 12))  # the heading row is 1
    assert "Case 001" in first.text and 'role="row"' in first.text and "<html" not in first.text
    more = admin.get(GRID + "/rows?offset=100&limit=50")
    assert numbers(more.text) == list(range(102, 122))  # 20 rows are left
    assert admin.get(GRID + "/rows?offset=500").text.count("<tr") == 0
    # a handler never receives the hidden field, and the phone only masked
    wang = client_for("wang").get(GRID + "/rows?offset=0&limit=100")
    assert wang.status_code == 200
    assert 'data-field="secret"' not in wang.text and "top secret" not in wang.text
    assert "13800001111" not in wang.text and 'data-field="phone"' in wang.text
    # a view's blocks follow its filter and sort
    view = admin.get(GRID + "/v/open/rows?offset=0&limit=100").text
    shown = re.findall(r'<span class="badge opt-\w+">(\w+)</span>', view)
    assert len(shown) == 80 and "Done" not in shown


def test_rows_by_id_only_those_the_person_may_read(client_for: Callable[[str], Any], seeded: list[str]) -> None:
    li = client_for("li")  # staff: only the records they reported
    mine, other = seeded[0], seeded[1]  # i=1 reported by li, i=2 by zhao
    html = li.get(GRID + f"/rows?ids={mine},{other},recNOPE").text
    assert f'data-id="{mine}"' in html
    assert f'data-id="{other}"' not in html and "Case 002" not in html


def test_bad_block_parameters_are_read_safely(client_for: Callable[[str], Any], seeded: list[str]) -> None:
    admin = client_for("admin")
    for query in ("offset=-5&limit=x", "offset=99999999999999999999&limit=5", "offset=%F0&limit=0", "limit=100000"):
        assert admin.get(GRID + "/rows?" + query).status_code == 200


def test_the_last_block_is_read_from_the_end(client_for: Callable[[str], Any], seeded: list[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    admin = client_for("admin")
    forward = admin.get(GRID + "/v/open/rows?offset=70&limit=30").text
    monkeypatch.setattr(grid, "REVERSE_AFTER", 10)
    backward = admin.get(GRID + "/v/open/rows?offset=70&limit=30").text
    assert numbers(backward) == numbers(forward) and numbers(forward)
    assert re.findall(r'data-id="(rec\w+)"', backward) == re.findall(r'data-id="(rec\w+)"', forward)


def test_summary_per_column_through_permissions(ws: Workspace, client_for: Callable[[str], Any],
                                                seeded: list[str]) -> None:
    table = ws.base("cases").table("cases")
    figures = summarize(table, actor="admin", fields=["title", "score", "phone", "secret", "due"])
    assert figures["score"]["sum"] == str(sum(i % 10 for i in range(1, 121)))
    assert figures["score"]["min"] == "0" and figures["score"]["max"] == "9" and figures["score"]["count"] == "120"
    assert figures["title"] == {"count": "120", "filled": "120", "empty": "0"}
    assert figures["due"]["empty"] == "120" and figures["due"]["min"] == ""
    # the view's filter and the person's rows
    open_only = summarize(table, actor="admin", fields=["score"], filter={"status": {"neq": "Done"}})
    assert open_only["score"]["count"] == "80"
    staff = summarize(table, actor="li", fields=["score", "secret"])
    assert staff["score"]["count"] == "60" and "secret" not in staff
    handler = summarize(table, actor="wang", fields=["score", "phone", "secret"])
    assert "phone" not in handler and "secret" not in handler  # masked, hidden: no figure
    page = client_for("wang").get(GRID + "/summary")
    assert page.status_code == 200
    assert 'data-field="phone"' in page.text
    phone_cell = page.text.split('data-field="phone"', 1)[1].split("</td>", 1)[0]
    assert "sum-item" not in phone_cell
    assert "top secret" not in page.text and 'data-field="secret"' not in page.text


def test_column_layout_per_person_and_reset(ws: Workspace, client_for: Callable[[str], Any],
                                            seeded: list[str]) -> None:
    admin = client_for("admin")
    csrf = token(admin, GRID)
    layout = {"order": ["score", "title", "nope"], "hidden": ["phone", "secret"], "widths": {"title": 5000, "status": 90},
              "frozen": 2, "row_height": "tall", "evil": "<script>"}
    saved = admin.post(GRID + "/columns", json=layout, headers={"X-CSRF-Token": csrf})
    assert saved.status_code == 200
    assert saved.json()["columns"] == {"order": ["score", "title"], "hidden": ["phone", "secret"],
                                       "widths": {"title": 800, "status": 90}, "frozen": 2, "row_height": "tall"}
    page = admin.get(GRID).text
    heads = re.findall(r'<th scope="col" role="columnheader" data-field="(\w+)"', page)
    assert heads[:2] == ["score", "title"] and "phone" not in heads and "secret" not in heads
    assert "row-tall" in page and 'data-width="800"' in page
    # filters saved afterwards keep the layout
    admin.post(GRID + "/prefs", data={"csrf_token": csrf, "f_field": "score", "f_op": "gte", "f_value": "2",
                                      "action": "save"})
    assert prefs_service.load(ws.storage, "admin", "cases", "cases", "")["columns"]["frozen"] == 2
    # another person's grid is untouched
    assert 'data-field="phone"' in client_for("wang").get(GRID).text
    assert admin.post(GRID + "/columns", json={"reset": True}, headers={"X-CSRF-Token": csrf}).json()["columns"] == {}
    assert "row-short" in admin.get(GRID).text
    assert admin.post(GRID + "/columns", json=layout).status_code == 403  # no CSRF token
    assert admin.post(GRID + "/columns", content=b"{not json", headers={"X-CSRF-Token": csrf}).status_code == 400


def test_bulk_delete(ws: Workspace, client_for: Callable[[str], Any], seeded: list[str]) -> None:
    table = ws.base("cases").table("cases")
    li = client_for("li")
    refused = li.post(GRID + "/delete", json={"records": [seeded[0]]}, headers={"X-CSRF-Token": token(li, GRID)})
    assert refused.status_code == 422 and refused.json()["ok"] is False
    assert table.get(seeded[0], actor="admin")
    admin = client_for("admin")
    done = admin.post(GRID + "/delete", json={"records": seeded[:3]}, headers={"X-CSRF-Token": token(admin, GRID)})
    assert done.status_code == 200 and done.json()["ok"] is True and done.json()["records"] == seeded[:3]
    assert table.count(actor="admin") == 117
    assert admin.post(GRID + "/delete", json={"records": "all"}, headers={"X-CSRF-Token": token(admin, GRID)}).status_code == 400


def test_filter_panel_lists_each_field_its_operators(ws: Workspace, client_for: Callable[[str], Any],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    table = ws.base("cases").table("cases")
    monkeypatch.setattr(type(table.fields["status"]), "filter_ops", ("eq", "neq", "is_empty", "is_not_empty"),
                        raising=False)
    page = client_for("admin").get(GRID).text
    assert 'value="status" data-ops="eq neq is_empty is_not_empty"' in page
    assert re.search(r'value="score" data-ops="eq neq gt gte lt lte between in not_in is_empty is_not_empty"', page)


def test_clean_columns_keeps_only_what_it_knows() -> None:
    known = ["a", "b", "c"]
    assert prefs_service.clean_columns("junk", known) == {}
    assert prefs_service.clean_columns({"order": ["b", "b", "x"], "hidden": "a", "widths": {"a": True, "b": 10},
                                        "frozen": 9, "row_height": "huge"}, known) == {"order": ["b"], "widths": {"b": 48}}
    assert prefs_service.clean_columns({"widths": {"a": float("nan"), "b": float("inf"), "c": 1e300}}, known) == \
        {"widths": {"c": 800}}
    assert prefs_service.arrange(known, {"order": ["c"], "hidden": ["a"]}) == ["c", "b"]
    assert prefs_service.arrange(known, {"hidden": known}) == ["a"]  # never an empty grid


def test_blocks_of_a_grouped_grid_start_a_group_only_where_it_changes(
        client_for: Callable[[str], Any], seeded: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    admin = client_for("admin")
    admin.post(GRID + "/prefs", data={"csrf_token": token(admin, GRID), "group_by": "status", "action": "save"})

    def headings(query: str) -> list[str]:
        return re.findall(r'<tr class="group-row" role="row"><th role="rowheader" colspan="\d+">(\w+)</th>',
                          admin.get(GRID + "/rows?" + query).text)

    # status sorts in its options' order: Open (rows 1–40), Doing (41–80), Done (81–120)
    assert headings("offset=0&limit=5") == ["Open"]
    assert headings("offset=38&limit=5") == ["Doing"]
    assert headings("offset=41&limit=5") == []
    monkeypatch.setattr(grid, "REVERSE_AFTER", 10)
    assert headings("offset=80&limit=40") == ["Done"]
    assert headings("offset=81&limit=39") == []
    assert headings("offset=78&limit=5&total=120") == ["Done"]
