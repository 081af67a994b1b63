"""Engine benchmark: import, grid first page, dashboard aggregates, dashboard widgets with filters, formula filters.

    .venv/bin/python benchmarks/bench_engine.py --rows 1000000 [--json results.json]
    .venv/bin/python benchmarks/bench_engine.py --widgets-only   # again, on the data of the last run

Builds a visits-like table (text, number, select, date, person and link fields) in a fresh
workspace under benchmarks/data/, then times, on the same data:
- bulk import through the record service vs sqlite-utils `insert_all` of the same rows;
- grid query (filter + sort + first page of 50) through the record service vs hand-written SQL;
- dashboard group-by aggregates; a `filterByFormula`-style formula filter vs hand-written SQL;
- each widget of a dashboard with viewer filters (engine.dashfilters: a month, a center) through its
  registry entry as the page computes it: numbers, the same for the previous period, a chart and
  pivots (count, sum), as the admin and as a doctor whose row rule narrows them (target <= 300 ms each),
  each beside the same question as hand-written SQL on the plain table timed right after it, and
  their ratio (which holds on a busy machine where the milliseconds do not).
Prints a table with each figure, its target, its peer and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import Workspace, counts  # noqa: E402

WORKSPACE = """\
workspace: bench
name: Bench
timezone: Asia/Shanghai
roles:
  admin: {name: admin, admin: true}
  doctor: {name: doctor}
people:
  admin: {name: Admin, roles: [admin]}
%s
"""

BASE = """\
base: clinic
name: Clinic
tables:
  patients:
    name: Patients
    primary: name
    fields:
      name: {type: text, name: Name}
  visits:
    name: Visits
    primary: title
    fields:
      title: {type: text, name: Title}
      amount: {type: number, name: Amount, precision: 2}
      status: {type: single_select, name: Status, options: [open, closed, waiting]}
      center: {type: single_select, name: Center, options: [A, B, C, D, E, F]}
      visit_date: {type: date, name: Visit date}
      doctor: {type: person, name: Doctor}
      patient: {type: link, name: Patient, table: patients, multiple: false}
roles:
  doctor:
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
      - {type: pivot, title: Center x status, table: visits, rows: center, columns: status}
      - {type: pivot, title: Amount by center x status, table: visits, rows: center, columns: status, aggregate: sum, field: amount}
      - {type: pivot, title: Doctor x center, table: visits, rows: doctor, columns: center}
"""

DOCTORS = [f"doc{i}" for i in range(40)]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for the servers the benchmarks start)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env() -> dict[str, str]:
    """The environment for a `python -m gridbase` subprocess: this checkout on its path."""
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(fn: Callable[[], Any], repeat: int = 30, warmup: int = 0, pace: Callable[[], None] | None = None) -> list[float]:
    """Milliseconds per call of `fn` after `warmup` untimed calls; `pace` runs before each call,
    untimed (a rate limit's wait). The one warm-up-then-time loop of the benchmarks (run.py,
    peer_nocodb.py use it too)."""
    for _ in range(warmup):
        if pace:
            pace()
        fn()
    out = []
    for _ in range(repeat):
        if pace:
            pace()
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--widgets-only", action="store_true",
                        help="reuse benchmarks/data from an earlier run and time only the dashboard widgets")
    args = parser.parse_args()
    data = ROOT / "benchmarks" / "data"
    if args.widgets_only:
        widgets_only(data, args)
        return
    shutil.rmtree(data, ignore_errors=True)
    (data / "ws" / "bases").mkdir(parents=True)
    people = "\n".join(f"  {d}: {{name: Doctor {d}, roles: [doctor]}}" for d in DOCTORS)
    (data / "ws" / "workspace.yaml").write_text(WORKSPACE % people, encoding="utf-8")
    (data / "ws" / "bases" / "clinic.yaml").write_text(BASE, encoding="utf-8")
    ws = Workspace.open(data / "ws", db=data / "bench.db")
    ws.apply()
    rng = random.Random(1)
    patients = ws.base("clinic").table("patients").insert_many(({"name": f"p{i}"} for i in range(2000)), actor="system")
    start_day = date(2026, 1, 1)
    rows = [{"title": f"visit {i}", "amount": round(rng.uniform(0, 2000), 2), "status": rng.choice(["open", "closed", "waiting"]),
             "center": rng.choice("ABCDEF"), "visit_date": (start_day + timedelta(days=rng.randrange(330))).isoformat(),
             "doctor": rng.choice(DOCTORS), "patient": [rng.choice(patients)]} for i in range(args.rows)]
    visits = ws.base("clinic").table("visits")
    t0 = time.perf_counter()
    visits.import_rows(rows, actor="system")
    import_s = time.perf_counter() - t0
    # Peer: sqlite-utils insert_all of the same rows into a plain table (the practical limit).
    import sqlite_utils
    peer_db = sqlite_utils.Database(data / "peer.db")
    t0 = time.perf_counter()
    peer_db["visits"].insert_all(({**r, "patient": json.dumps(r["patient"])} for r in rows), batch_size=5000)
    peer_s = time.perf_counter() - t0
    results = []

    def add(measure: str, value: float, unit: str, target: str, peer: float | None, peer_name: str) -> None:
        ratio = (value / peer) if peer else None
        results.append({"measure": measure, "value": round(value, 2), "unit": unit, "target": target,
                        "peer": None if peer is None else round(peer, 2), "peer_name": peer_name,
                        "ratio": None if ratio is None else round(ratio, 2)})

    add("bulk import", args.rows / import_s, "rows/s", ">= 100000", args.rows / peer_s, "sqlite-utils insert_all")
    flt = {"status": "open", "visit_date": {"gte": "2026-06-01"}}
    kept = counts.of(ws.storage)  # counts kept between requests (engine/counts.py): forgotten, the counting is timed
    grid = timed(lambda: (kept.forget(), visits.query(actor="admin", filter=flt, sort=["-visit_date"], limit=50)))
    grid_nototal = timed(lambda: visits.query(actor="admin", filter=flt, sort=["-visit_date"], limit=50, with_total=False))
    conn = sqlite3.connect(data / "bench.db")
    hand = timed(lambda: conn.execute('SELECT * FROM "clinic__visits" WHERE "_deleted_at" IS NULL AND "status" = ? AND '
                                      '"visit_date" >= ? ORDER BY "visit_date" DESC, "_rowid" DESC LIMIT 50', ("open", "2026-06-01")).fetchall())
    add("grid first page (with row count) p50", statistics.median(grid), "ms", "<= 20", statistics.median(hand), "hand-written SQL")
    add("grid first page (no count) p50", statistics.median(grid_nototal), "ms", "<= 20", statistics.median(hand), "hand-written SQL")
    doctor = timed(lambda: (kept.forget(), visits.query(actor="doc3", sort=["-visit_date"], limit=50)))
    add("grid first page as a doctor (row rule) p50", statistics.median(doctor), "ms", "<= 20", None, "")
    groups = timed(lambda: visits.group(actor="admin", by="center", aggregate="sum", field="amount"), repeat=5)
    add("dashboard group-by sum over all rows p50", statistics.median(groups), "ms", "<= 300", None, "")
    weekly = timed(lambda: visits.group(actor="admin", by="visit_date", bucket="week"), repeat=5)
    add("dashboard weekly trend p50", statistics.median(weekly), "ms", "<= 300", None, "")
    formula = {"formula": "AND({amount} > 500, {status} = 'open', IS_AFTER({visit_date}, '2026-06-01'))"}
    ftimes = timed(lambda: (kept.forget(), visits.count(actor="admin", filter=formula)), repeat=5)
    fhand = timed(lambda: conn.execute('SELECT count(*) FROM "clinic__visits" WHERE "_deleted_at" IS NULL AND "amount" > ? AND '
                                       '"status" = ? AND "visit_date" > ?', (500, "open", "2026-06-01")).fetchone(), repeat=5)
    add("formula filter count p50", statistics.median(ftimes), "ms", "<= 2x SQL", statistics.median(fhand), "hand-written SQL")
    dashboard_widgets(ws, add)
    conn.close()
    ws.close()
    width = max(len(r["measure"]) for r in results)
    print(f"{'measure':<{width}}  {'value':>12}  {'target':>10}  {'peer':>12}  ratio  peer")
    for r in results:
        peer = "" if r["peer"] is None else f"{r['peer']:>12}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}"
        print(f"{r['measure']:<{width}}  {r['value']:>9} {r['unit']:<3}  {r['target']:>10}  {peer:>12}  {ratio:>5}  {r['peer_name']}")
    if args.json:
        args.json.write_text(json.dumps({"rows": args.rows, "results": results}, indent=1), encoding="utf-8")


def widgets_only(data: Path, args: argparse.Namespace) -> None:
    """Time the dashboard widgets on the data an earlier run left in `data` (its base file refreshed)."""
    (data / "ws" / "bases" / "clinic.yaml").write_text(BASE, encoding="utf-8")
    ws = Workspace.open(data / "ws", db=data / "bench.db")
    ws.apply()
    rows = ws.base("clinic").table("visits").count(actor="admin")
    results: list[dict[str, object]] = []

    def add(measure: str, value: float, unit: str, target: str, peer: float | None, peer_name: str) -> None:
        ratio = value / peer if peer else None
        results.append({"measure": measure, "value": round(value, 2), "unit": unit, "target": target,
                        "peer": None if peer is None else round(peer, 2), "peer_name": peer_name,
                        "ratio": None if ratio is None else round(ratio, 2)})
        versus = "" if ratio is None else f"  {peer_name} {peer:>8.2f} ms  ratio {ratio:5.2f}"
        print(f"{measure:<72}  {value:>9.2f} {unit}  {target}{versus}", flush=True)

    print(f"{rows:,} visits")
    dashboard_widgets(ws, add)
    ws.close()
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "results": results}, indent=1), encoding="utf-8")


def dashboard_widgets(ws: Workspace, add) -> None:  # type: ignore[no-untyped-def]
    """Each widget of the `month` dashboard, computed by its entry with the viewer's filters added, as
    the page does (views.pages.dashboards.narrowed): June 2026 (and May for the previous period), then
    June in one center; as the admin and as a doctor (row rule)."""
    from dataclasses import replace

    from engine.dashfilters import choose, previous_range
    from engine.errors import QueryTimeout
    from engine.plugins import widget_types
    from engine.query import all_of

    visits = ws.base("clinic").table("visits")
    ddef = ws.base("clinic").bdef.dashboards["month"]
    # The floor on this machine: the same questions as hand-written SQL (no permissions, no engine).
    conn = ws.storage.conn
    live = 'FROM "clinic__visits" WHERE "_deleted_at" IS NULL'
    june = ' AND "visit_date" >= \'2026-06-01\' AND "visit_date" < \'2026-07-01\''
    for label, sql in (("count, all time", f"SELECT count(*) {live}"),
                       ("center x status, all time", f'SELECT "center", "status", count(*) {live} GROUP BY 1, 2'),
                       ("count, June", f"SELECT count(*) {live}{june}"),
                       ("center x status, June", f'SELECT "center", "status", count(*) {live}{june} GROUP BY 1, 2')):
        took = timed(lambda sql=sql: conn.execute(sql).fetchall(), repeat=5)
        add(f"peer: hand-written SQL {label} p50", statistics.median(took), "ms", "", None, "")
    picks = {"all time": {"period": "all"},
             "June": {"period": "custom", "period_from": "2026-06-01", "period_to": "2026-06-30"},
             "June, center B": {"period": "custom", "period_from": "2026-06-01", "period_to": "2026-06-30", "center": "B"}}
    for label, params in picks.items():
        sel = choose(ddef, params, date(2026, 6, 15), lambda flt, value: True, {})
        for previous in (False, True):
            if previous and sel.period(visits) is None:
                continue
            extra = sel.filter_for(visits, previous=previous)
            for widget in ddef.widgets:
                if previous and widget.options.get("compare") != "previous_period":
                    continue
                narrowed = replace(widget, filter=all_of([widget.filter, extra]))
                entry = widget_types()[widget.type]
                for actor in ("admin", "doc3"):
                    what = f"{widget.type} '{widget.title}'" + (" previous period" if previous else "")
                    try:
                        took = timed(lambda e=entry, w=narrowed, a=actor: e.compute(visits, w, a), repeat=5)
                    except QueryTimeout:  # the query budget (5 s by default) ran out: said, and on to the next
                        took = [float("inf")]
                    # The same question as hand-written SQL, timed right after it (the ratio holds on a busy machine).
                    sql, args = hand_sql(widget, sel, visits, previous, actor)
                    hand = timed(lambda sql=sql, args=args: conn.execute(sql, args).fetchall(), repeat=5)
                    add(f"widget {what}, {label}, {actor} p50", statistics.median(took), "ms", "<= 300",
                        statistics.median(hand), "hand-written SQL")
    assert previous_range("custom", date(2026, 6, 1), date(2026, 6, 30)) == (date(2026, 5, 2), date(2026, 5, 31))


def hand_sql(widget, sel, visits, previous: bool, actor: str) -> tuple[str, list[object]]:  # type: ignore[no-untyped-def]
    """A widget's question as hand-written SQL on the plain table (no permissions, no engine): the
    chosen period (or the one before), the chosen center, and the doctor's own rows for a doctor."""
    from engine.dashfilters import previous_range

    where, args = ['"_deleted_at" IS NULL'], []
    period = sel.period(visits)
    if period is not None:
        start, end = previous_range(period.value, period.start, period.end) if previous else (period.start, period.end)
        where.append('"visit_date" >= ? AND "visit_date" < ?')
        args += [start.isoformat(), (end + timedelta(days=1)).isoformat()]
    for choice in sel.choices:
        if choice.filter.kind == "select" and choice.value:
            where.append('"center" = ?')
            args.append(choice.value)
    if actor != "admin":
        where.append('"doctor" = ?')
        args.append(actor)
    dims = [widget.group_by] if widget.group_by else [widget.options[k] for k in ("rows", "columns") if k in widget.options]
    measure = "count(*)" if widget.aggregate == "count" else f'sum("{widget.field}")'
    if dims and widget.aggregate != "count":  # an average in a group needs the count of values (the engine reads both)
        measure += f', count("{widget.field}")'
    cols = "".join(f'"{d}", ' for d in dims)
    group = f" GROUP BY {', '.join(str(i + 1) for i in range(len(dims)))}" if dims else ""
    return f'SELECT {cols}{measure} FROM "clinic__visits" WHERE {" AND ".join(where)}{group}', args


if __name__ == "__main__":
    main()
