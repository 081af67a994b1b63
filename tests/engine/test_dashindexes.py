"""Dashboard indexes: a widget under its dashboard's period (and a centre, and a row rule) is one range scan of one index."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine import Workspace
from engine.dashfilters import choose
from engine.dashindexes import MAX_COLUMNS, index_name, pack, planned
from engine.loader import load_workspace
from engine.plugins import widget_types
from engine.query import all_of
from engine.schema import field_instance
from tests_support import rewrite_base, write_workspace

BASE = """\
base: clinic
name: Clinic
tables:
  visits:
    name: Visits
    primary: title
    fields:
      title: {type: text, name: Title}
      amount: {type: number, name: Amount, precision: 2}
      status: {type: single_select, name: Status, options: [open, closed, waiting]}
      center: {type: single_select, name: Center, options: [A, B, C]}
      visit_date: {type: date, name: Visit date}
      doctor: {type: person, name: Doctor}
      tags: {type: multi_select, name: Tags, options: [x, y]}
roles:
  handler:
    visits: {access: read, rows: {doctor: $me}}
dashboards:
  month:
    name: Month
    filters:
      period: {type: date, name: Period, field: visit_date, default: this_month}
      center: {type: select, name: Center, field: center}
    widgets:
      - {type: number, title: Visits, table: visits, compare: previous_period}
      - {type: number, title: Amount, table: visits, aggregate: sum, field: amount, compare: previous_period}
      - {type: bar, title: By status, table: visits, group_by: status}
      - {type: bar, title: By tag, table: visits, group_by: tags}
      - {type: pivot, title: Center x status, table: visits, rows: center, columns: status}
      - {type: pivot, title: Amount by center x status, table: visits, rows: center, columns: status, aggregate: sum, field: amount}
      - {type: pivot, title: Doctor x center, table: visits, rows: doctor, columns: center}
"""

JUNE = {"period": "custom", "period_from": "2026-06-01", "period_to": "2026-06-30"}
PICKS = {"June": JUNE, "June, center B": {**JUNE, "center": "B"}}



@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory, session_database: Any) -> Any:
    """One workspace for the module's plan and figure tests (ANALYZE'd, as after an import): 600
    visits over a year, on the store under test (the plan tests read SQLite's plans only)."""
    tmp = tmp_path_factory.mktemp("dashidx")
    root = write_workspace(tmp / "ws", {"clinic": BASE})
    ws = Workspace.open(root, db=session_database("dashidx"))
    ws.apply()
    rng = random.Random(7)
    ws.base("clinic").table("visits").insert_many(
        ({"title": f"v{i}", "amount": rng.randrange(1, 500), "status": rng.choice(["open", "closed", "waiting"]),
          "center": rng.choice("ABC"), "visit_date": (date(2026, 1, 1) + timedelta(days=rng.randrange(330))).isoformat(),
          "doctor": rng.choice(["li", "boss"]), "tags": rng.choice([[], ["x"], ["x", "y"]])} for i in range(600)),
        actor="system")
    ws.storage.optimize()
    yield ws
    ws.close()


def index_columns(ws: Workspace) -> list[tuple[str, ...]]:
    base = ws.config.bases["clinic"]
    table = base.tables["visits"]
    return [p.columns for p in planned(base, table, {k: field_instance(f, ws.config) for k, f in table.fields.items()})]


@pytest.mark.stores  # the same indexes on PostgreSQL
def test_the_plan_names_one_period_index_and_one_per_chosen_or_ruled_field(make_workspace: Any) -> None:
    ws = make_workspace({"clinic": BASE})
    cols = index_columns(ws)
    # Led by the period; by the doctor of the handler's row rule; by the centre a viewer picks. A led
    # one begins with the pivot index that starts with its field (doctor x center; center x status
    # x amount, which the count pivot's center x status begins), and those are not made on their own.
    assert cols == [("visit_date", "doctor", "center", "amount", "status", "_deleted_at"),
                    ("doctor", "center", "visit_date", "amount", "status", "_deleted_at"),
                    ("center", "status", "amount", "visit_date", "doctor", "_deleted_at")]
    assert not any("tags" in c for c in cols), "a multiple select is read as JSON, never from an index"
    names = {r[0] for r in ws.storage.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'clinic__visits'")}
    assert {index_name("clinic__visits", c) for c in cols} <= names  # made on either store, under names it keeps whole
    assert all(len(n.encode()) <= 63 for n in names)
    assert ws.plan() == []


def test_a_third_field_to_lead_by_adds_no_index(tmp_path: Path) -> None:
    text = BASE.replace("      center: {type: select, name: Center, field: center}\n",
                        "      center: {type: select, name: Center, field: center}\n"
                        "      status: {type: select, name: Status, field: status}\n")
    config = load_workspace(write_workspace(tmp_path / "ws", {"clinic": text}))
    table = config.bases["clinic"].tables["visits"]
    cols = [p.columns for p in planned(config.bases["clinic"], table,
                                       {k: field_instance(f, config) for k, f in table.fields.items()})]
    assert [c[0] for c in cols] == ["visit_date", "doctor", "center"]


def test_widgets_read_from_more_columns_than_fit_are_split_each_kept_whole() -> None:
    sets = [("a", "b", "c"), ("d", "e", "f"), ("a", "g"), ("h",), ("a", "b", "c")]
    groups = pack(sets)
    assert all(len(g) <= MAX_COLUMNS for g in groups)
    assert all(any(set(s) <= set(g) for g in groups) for s in sets)
    assert len(groups) == 2  # 8 columns, 6 to an index


def widget_sql(ws: Workspace, params: dict[str, str], actor: str, *, previous: bool = False) -> list[tuple[str, str]]:
    """(widget title, the SQL it ran) for each widget of the dashboard under `params`, as `actor`."""
    visits = ws.base("clinic").table("visits")
    ddef = ws.base("clinic").bdef.dashboards["month"]
    sel = choose(ddef, params, date(2026, 6, 15), lambda flt, value: True, {})
    out: list[tuple[str, str]] = []
    for widget in ddef.widgets:
        if previous and widget.options.get("compare") != "previous_period":
            continue
        narrowed = replace(widget, filter=all_of([widget.filter, sel.filter_for(visits, previous=previous)]))
        conn = ws.storage.conn
        seen: list[str] = []
        conn.set_trace_callback(seen.append)
        try:
            widget_types()[widget.type].compute(visits, narrowed, actor)
        finally:
            conn.set_trace_callback(None)
        out += [(widget.title, s) for s in seen if s.lstrip().startswith("SELECT") and "clinic__visits" in s]
    return out


@pytest.mark.sqlite_only("reads SQLite's query plan (EXPLAIN QUERY PLAN)")
@pytest.mark.parametrize("actor", ["admin", "li"])
@pytest.mark.parametrize("pick", list(PICKS))
def test_each_widget_under_a_period_is_one_range_scan_of_a_covering_index(ws: Workspace, pick: str, actor: str) -> None:
    conn = ws.storage.conn
    queries = widget_sql(ws, PICKS[pick], actor) + widget_sql(ws, PICKS[pick], actor, previous=True)
    assert len(queries) >= 7
    for title, sql in queries:
        plan = " | ".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql))
        if title == "By tag":  # a multiple select's values come from JSON: the rows are read, in the period only
            assert "visit_date>? AND visit_date<?" in plan, (title, plan)
            continue
        assert "USING COVERING INDEX" in plan and "visit_date>? AND visit_date<?" in plan, (pick, actor, title, plan)
        assert "SCAN clinic__visits" not in plan and "SCAN gb_row" not in plan, (pick, actor, title, plan)


def test_the_figures_from_the_indexes_are_the_rows_figures(ws: Workspace) -> None:
    rows = ws.base("clinic").table("visits").query(actor="li", limit=1000).records
    june_b = [r["fields"] for r in rows if r["fields"].get("center") == "B" and "2026-06-01" <= r["fields"]["visit_date"] < "2026-07-01"]
    ddef = ws.base("clinic").bdef.dashboards["month"]
    visits = ws.base("clinic").table("visits")
    sel = choose(ddef, PICKS["June, center B"], date(2026, 6, 15), lambda flt, value: True, {})
    total = widget_types()["number"].compute(visits, replace(ddef.widgets[1], filter=sel.filter_for(visits)), "li")
    assert total == pytest.approx(sum(f["amount"] for f in june_b))
    assert all(f["doctor"] == "li" for f in june_b) and june_b


@pytest.mark.stores
def test_a_dashboard_without_a_period_drops_its_period_indexes(make_workspace: Any) -> None:
    ws = make_workspace({"clinic": BASE})
    periods = {index_name("clinic__visits", c) for c in index_columns(ws) if "visit_date" in c}
    root = Path(ws.config.root)
    db = ws.storage.database
    ws.close()
    rewrite_base(root, "clinic", BASE.replace("      period: {type: date, name: Period, field: visit_date, default: this_month}\n", ""))
    load_workspace(root)
    ws = Workspace.open(root, db=db)
    try:
        dropped = {s.description for s in ws.plan() if s.kind == "drop_index"}
        assert dropped == {f"drop index {name} on clinic.visits: no longer needed" for name in periods}
        assert len(periods) == 3
    finally:
        ws.close()
