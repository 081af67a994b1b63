"""Dashboard filters, pivots and the previous period: figures in SQL through the viewer's permissions."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine import Workspace
from engine.dashfilters import choose, month_start, preset_range, previous_range
from engine.errors import ConfigError, QueryError
from engine.loader import load_workspace
from engine.pivot import pivot
from tests.conftest import ON_POSTGRES
from tests_support import write_workspace

BASE = """\
base: desk
name: Desk
tables:
  cases:
    name: Cases
    primary: title
    fields:
      title: {type: text, name: Title}
      category: {type: single_select, name: Category, options: [Service, Quality, Fees]}
      dept: {type: single_select, name: Dept, options: [质控部, 口腔正畸中心]}
      tags: {type: multi_select, name: Tags, options: [x, y]}
      owner: {type: person, name: Owner}
      amount: {type: number, name: Amount, precision: 1}
      at: {type: date, name: At}
roles:
  handler:
    cases:
      access: read
      rows: {owner: $me}
      fields:
        dept: {access: read, mask: full}
  viewer:
    cases:
      access: read
      fields:
        amount: none
dashboards:
  main:
    name: Main
    filters:
      period: {type: date, name: Period, field: at, default: this_month}
      cat: {type: select, name: Category, field: {cases: category}}
      who: {type: person, name: Owner, field: owner}
      unit: {type: department, name: Unit, field: dept}
      team: {type: department, name: Team, field: {cases: owner}}
    widgets:
      - {type: number, title: Cases, table: cases, compare: previous_period}
      - {type: pivot, title: Pivot, table: cases, rows: category, columns: dept}
      - {type: bar, title: By category, table: cases, group_by: category}
      - {type: number, title: Service share, table: cases, aggregate: percent, where: {category: Service}, compare: previous_period}
"""

TODAY = date.today()
THIS = month_start(TODAY) + timedelta(days=1)
LAST = month_start(TODAY, 1) + timedelta(days=2)
ROWS = [  # title, category, dept, tags, owner, amount, at
    ("a", "Service", "质控部", ["x"], "li", 10, THIS), ("b", "Service", "口腔正畸中心", ["x", "y"], "boss", 4, THIS),
    ("c", "Quality", "质控部", [], "li", 2, THIS), ("d", "Fees", None, ["y"], None, None, LAST),
    ("e", "Service", "质控部", ["y"], "li", 6, LAST), ("f", None, "口腔正畸中心", [], "boss", 1, TODAY.replace(year=TODAY.year - 2)),
]

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)


@pytest.fixture
def ws(make_workspace: Any) -> Workspace:
    ws = make_workspace({"desk": BASE})
    table = ws.base("desk").table("cases")
    for title, cat, dept, tags, owner, amount, at in ROWS:
        table.create({"title": title, "category": cat, "dept": dept, "tags": tags, "owner": owner,
                      "amount": amount, "at": at.isoformat()}, actor="admin")
    return ws


def test_presets_and_their_previous_periods() -> None:
    day = date(2026, 12, 7)  # a Monday
    assert preset_range("today", day) == (day, day)
    assert preset_range("this_week", day) == (day, date(2026, 12, 13))
    assert preset_range("this_month", day) == (date(2026, 12, 1), date(2026, 12, 31))
    assert preset_range("last_month", day) == (date(2026, 11, 1), date(2026, 11, 30))
    assert preset_range("this_quarter", day) == (date(2026, 10, 1), date(2026, 12, 31))
    assert preset_range("this_year", day) == (date(2026, 1, 1), date(2026, 12, 31))
    assert preset_range("all", day) is None
    assert previous_range("this_month", date(2026, 3, 1), date(2026, 3, 31)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert previous_range("last_month", date(2026, 1, 1), date(2026, 1, 31)) == (date(2025, 12, 1), date(2025, 12, 31))
    assert previous_range("this_quarter", date(2026, 1, 1), date(2026, 3, 31)) == (date(2025, 10, 1), date(2025, 12, 31))
    assert previous_range("this_year", date(2026, 1, 1), date(2026, 12, 31)) == (date(2025, 1, 1), date(2025, 12, 31))
    assert previous_range("this_week", date(2026, 12, 7), date(2026, 12, 13)) == (date(2026, 11, 30), date(2026, 12, 6))
    assert previous_range("today", day, day) == (day - timedelta(days=1),) * 2
    assert previous_range("custom", date(2026, 12, 1), date(2026, 12, 10)) == (date(2026, 11, 21), date(2026, 11, 30))


def select(ws: Workspace, **params: str) -> Any:
    ddef = ws.base("desk").bdef.dashboards["main"]
    return choose(ddef, params, TODAY, lambda flt, value: value in ("Service", "Quality", "li", "boss", "qc", "ortho"),
                  {"qc": "质控部", "ortho": "口腔正畸中心"})


def count(ws: Workspace, actor: str, sel: Any, *, previous: bool = False) -> float:
    table = ws.base("desk").table("cases")
    return table.aggregate(actor=actor, filter=sel.filter_for(table, previous=previous))


def test_filters_narrow_the_figures_and_the_previous_period_is_the_month_before(ws: Workspace) -> None:
    sel = select(ws)  # the default: this month
    assert sel.query() == {"period": "this_month"}
    assert count(ws, "admin", sel) == 3 and count(ws, "admin", sel, previous=True) == 2
    assert count(ws, "admin", select(ws, period="all")) == 6
    assert count(ws, "admin", select(ws, period="this_month", cat="Service")) == 2
    assert count(ws, "admin", select(ws, period="all", who="boss")) == 2
    assert count(ws, "admin", select(ws, period="all", unit="qc")) == 3  # a department's name in a select field
    assert count(ws, "admin", select(ws, period="all", team="ortho")) == 3  # a department's people in a person field
    assert count(ws, "admin", select(ws, period="this_month", team="qc")) == 1
    custom = select(ws, period="custom", period_from=LAST.isoformat(), period_to=LAST.isoformat())
    assert count(ws, "admin", custom) == 2 and custom.query()["period_from"] == LAST.isoformat()
    # The previous period of one day is the day before: nothing then.
    assert count(ws, "admin", custom, previous=True) == 0


def test_a_bad_choice_is_said_and_shows_everything(ws: Workspace) -> None:
    sel = select(ws, period="someday", cat="Nonsense")
    assert [e.code for e in sel.errors] == ["dashboard_bad_choice", "dashboard_bad_choice"]
    assert count(ws, "admin", sel) == 6
    backwards = select(ws, period="custom", period_from="2026-12-10", period_to="2026-12-01")
    assert [e.code for e in backwards.errors] == ["dashboard_bad_range"]


def test_a_row_rule_keeps_rows_out_of_the_filtered_figures(ws: Workspace) -> None:
    assert count(ws, "li", select(ws)) == 2 and count(ws, "li", select(ws), previous=True) == 1
    assert count(ws, "boss", select(ws, period="all", who="li")) == 0


def expected(rows: list[tuple[Any, ...]], r: int, c: int) -> Counter[tuple[Any, Any]]:
    return Counter((row[r], row[c]) for row in rows)


def test_pivot_cells_and_totals_equal_counting_the_rows(ws: Workspace) -> None:
    table = ws.base("desk").table("cases")
    got = pivot(table, actor="admin", rows="category", columns="owner")
    assert got.cells == {k: float(v) for k, v in expected(ROWS, 1, 4).items()}
    assert got.row_totals == {k: float(v) for k, v in Counter(row[1] for row in ROWS).items()}
    assert got.column_totals == {k: float(v) for k, v in Counter(row[4] for row in ROWS).items()}
    assert got.total == len(ROWS)
    assert sorted(got.rows, key=str) == sorted({row[1] for row in ROWS}, key=str)  # each row value once
    summed = pivot(table, actor="admin", rows="category", columns="dept", aggregate="sum", field="amount")
    assert summed.cells[("Service", "质控部")] == 16 and summed.row_totals["Service"] == 20 and summed.total == 23
    avg = pivot(table, actor="admin", rows="category", columns="dept", aggregate="avg", field="amount")
    assert avg.cells[("Service", "质控部")] == 8 and avg.total == pytest.approx(23 / 5)


def test_pivot_over_a_list_field_counts_a_record_once_in_the_totals(ws: Workspace) -> None:
    got = pivot(ws.base("desk").table("cases"), actor="admin", rows="category", columns="tags")
    assert got.cells[("Service", "x")] == 2 and got.cells[("Service", "y")] == 2
    assert got.row_totals["Service"] == 3  # b has both tags: once in its row's total
    assert got.column_totals == {"x": 2.0, "y": 3.0} and got.total == 6


def test_pivot_groups_a_date_dimension_by_month(ws: Workspace) -> None:
    got = pivot(ws.base("desk").table("cases"), actor="admin", rows="category", columns="at", bucket="month")
    assert got.column_totals[THIS.strftime("%Y-%m")] == 3 and got.column_totals[LAST.strftime("%Y-%m")] == 2


def test_pivot_reads_through_the_viewers_permissions(ws: Workspace) -> None:
    table = ws.base("desk").table("cases")
    mine = pivot(table, actor="li", rows="category", columns="owner")
    assert mine.total == 3 and set(mine.column_totals) == {"li"}
    with pytest.raises(QueryError):  # masked for a handler: never a dimension
        pivot(table, actor="li", rows="category", columns="dept")
    with pytest.raises(QueryError):  # not readable for a viewer: never summed
        pivot(table, actor="zhao", rows="category", columns="owner", aggregate="sum", field="amount")
    assert pivot(table, actor="zhao", rows="category", columns="owner").total == 6


@pytest.mark.parametrize(("old", "new", "message"), [
    ("field: at, default", "field: title, default", "filter 'period' (date) cannot narrow field 'cases.title'"),
    ("field: {cases: category}", "field: {cases: owner}", "a select filter needs a single or multiple select field"),
    ("field: {cases: category}", "field: {case: category}", "unknown table 'case' in filter 'cat'"),
    ("default: this_month", "default: someday", "unknown period 'someday'"),
    ("field: {cases: category}}", "field: {cases: category}, default: Servce}",
     "'Servce' is not an option of 'cases.category'"),
    ("columns: dept}", "columns: dpt}", "unknown field 'dpt' in table 'cases'"),
    ("type: person, name: Owner, field: owner", "type: persn, name: Owner, field: owner", "persn"),
])
def test_validate_names_what_is_wrong_with_a_filter_or_pivot(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in BASE
    root = write_workspace(tmp_path / "ws", {"desk": BASE.replace(old, new)})
    with pytest.raises(ConfigError) as info:
        load_workspace(root)
    assert message in str(info.value), str(info.value)


def test_apply_makes_an_index_of_a_pivots_rows_and_columns(ws: Workspace) -> None:
    if ON_POSTGRES:
        pytest.skip("reads SQLite's catalogue")
    # One index begins with (category, dept) (the one led by the category filter, engine.dashindexes):
    # the cells are one walk of it, in order, without reading the rows or sorting.
    sql = "EXPLAIN QUERY PLAN SELECT category, dept, count(*) FROM desk__cases WHERE _deleted_at IS NULL GROUP BY 1, 2"
    plan = " | ".join(str(r[3]) for r in ws.storage.conn.execute(sql))
    assert "SCAN desk__cases USING COVERING INDEX idx__desk__cases__" in plan and "TEMP B-TREE" not in plan, plan
    index = plan.split("COVERING INDEX ")[1].split()[0]
    assert [r[2] for r in ws.storage.conn.execute(f'PRAGMA index_info("{index}")')][:2] == ["category", "dept"]
