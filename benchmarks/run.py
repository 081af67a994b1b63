"""Gridbase side by side with its peers, on the same data, in one run.

    .venv/bin/python benchmarks/run.py --rows 1000000 [--json FILE] [--quick] [--reuse]
    .venv/bin/python benchmarks/run.py --rows 100000 --db postgresql://… [--compare SQLITE.json]

Builds a visits-like table (text, number, select, date, person and link fields; the base and
row generator of benchmarks/bench_engine.py, plus one grid view, one signed-in form and one
`form:` automation that notifies a person) in a fresh workspace under
benchmarks/data/run-ROWS/, then measures:

- bulk import rows/s: `Table.import_rows` (what `gridbase import` runs) vs sqlite-utils
  `insert_all` of the same rows and vs the same writes by hand-written SQL, the last also in CPU
  seconds of this process (a ratio that other people's load on the machine moves far less);
- grid first page (filter + sort + 50 rows): `Table.query` in process, the REST API of a real
  `gridbase serve` subprocess, Datasette's JSON API on the same SQLite file (a `datasette
  serve` subprocess) and hand-written SQL in sqlite3;
- dashboard aggregates (`Table.group`): sum by a select field, weekly trend;
- `filterByFormula` in process and over HTTP vs hand-written SQL;
- form submissions over HTTP (signed in, automations on) from a bounded number of
  concurrent clients: requests/s, p50, p99;
- automation latency: from just before a form POST to the moment its notification is in
  `_gb_notifications` (polled every 2 ms from another connection), p50/p99;
- the server's peak RSS (VmHWM of the `gridbase serve` process) at the end.

On PostgreSQL (`--db postgresql://…`, GRIDBASE_DATABASE_URL, or `--pg-temp` for a throwaway
server, tests/pg_server.py) it builds the same data in the schema bench_ROWS of that
database and measures the same, with psycopg COPY as the import's peer, hand-written
PostgreSQL SQL as the peer of the queries (no Datasette), and form submissions also with the
clients split between two `gridbase serve` processes on the database, beside one process.

It prints `measure | Gridbase | target | peer | ratio` and writes JSON with `--json`;
`--compare FILE` prints the run beside another run's JSON (PostgreSQL beside SQLite).
`--quick` does fewer repetitions (CI runs `--rows 10000 --quick`). `--reuse` keeps a built
table (keyed by row count) from a previous run instead of importing again; the import
figures are then those recorded when it was built, and the output says so.

The workspace, the rows and the hand-written floor of the import are benchmarks/run_data.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))  # pg_server: one throwaway PostgreSQL for tests and benchmarks

import pg_server  # noqa: E402  (--pg-temp: a throwaway PostgreSQL)
from bench_engine import child_env, free_port, percentile, timed  # noqa: E402
from run_data import GRID_FILTER, GRID_SORT, build  # noqa: E402  (the workspace, rows and floor)
from run_forms import Hand, Servers, measure_forms, stop, wait_http  # noqa: E402  (the servers and the form load)

GRID_FORMULA = "AND({status} = 'open', NOT(IS_BEFORE({visit_date}, '2026-06-01')))"
GRID_SQL = ('SELECT * FROM "clinic__visits" WHERE "_deleted_at" IS NULL AND "status" = ? AND "visit_date" >= ? '
            'ORDER BY "visit_date" DESC, "_rowid" DESC LIMIT 50')
# PostgreSQL's spelling of the same order: SQLite puts NULLs last when descending, PostgreSQL
# first unless told (and only the order SQLite means walks the visit_date index backwards).
GRID_SQL_PG = GRID_SQL.replace('DESC, "_rowid"', 'DESC NULLS LAST, "_rowid"')
GRID_PARAMS = ("open", "2026-06-01")
FORMULA = "AND({amount} > 500, {status} = 'open', IS_AFTER({visit_date}, '2026-06-01'))"
FORMULA_SQL = ('SELECT count(*) FROM "clinic__visits" WHERE "_deleted_at" IS NULL AND "amount" > ? AND "status" = ? '
               'AND "visit_date" > ?')
FORMULA_PAGE_SQL = ('SELECT * FROM "clinic__visits" WHERE "_deleted_at" IS NULL AND "amount" > ? AND "status" = ? '
                    'AND "visit_date" > ? ORDER BY "_rowid" LIMIT 50')
FORMULA_PARAMS = (500, "open", "2026-06-01")
# The weekly trend by hand: the Monday of each visit's week.
WEEKLY_SQL = {"sqlite": "SELECT date(visit_date, '-6 days', 'weekday 1') AS k, count(*) FROM \"clinic__visits\" "
                        'WHERE "_deleted_at" IS NULL GROUP BY k',
              "postgresql": "SELECT date_trunc('week', visit_date::date)::date AS k, count(*) FROM \"clinic__visits\" "
                            'WHERE "_deleted_at" IS NULL GROUP BY k'}
# Free-text search by hand: SQLite's LIKE ignores ASCII case, PostgreSQL's ILIKE does.
SEARCH_SQL = ('SELECT * FROM "clinic__visits" WHERE "_deleted_at" IS NULL AND ("title" {like} ? OR "status" {like} ? '
              'OR "center" {like} ? OR "doctor" {like} ?) ORDER BY "_rowid" LIMIT 50')


# -- timing helpers ----------------------------------------------------------------------------
def p50(samples: list[float]) -> float:
    return statistics.median(samples)


class Tokens:
    """API tokens used in turn, paced to stay under the API's per-token limit (5/s, burst 10)."""

    def __init__(self, secrets: list[str], per_token_rate: float = 4.5) -> None:
        self.secrets = secrets
        self.gap = 1.0 / per_token_rate
        self.last = [0.0] * len(secrets)
        self.i = 0

    def pace(self) -> None:
        """Pick the next token; sleep (outside the timed request) until it may be used."""
        self.i = (self.i + 1) % len(self.secrets)
        wait = self.last[self.i] + self.gap - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.last[self.i] = time.monotonic()

    def current(self) -> str:
        return self.secrets[self.i]


# -- the run -------------------------------------------------------------------------------------
class Report:
    def __init__(self) -> None:
        self.results: list[dict[str, Any]] = []

    def add(self, measure: str, value: float | None, unit: str, target: str, ok: bool | None,
            peer: float | None = None, peer_name: str = "", note: str = "") -> None:
        ratio = value / peer if value is not None and peer else None
        self.results.append({"measure": measure, "value": None if value is None else round(value, 2), "unit": unit,
                             "target": target, "met": ok, "peer": None if peer is None else round(peer, 2),
                             "peer_name": peer_name, "ratio": None if ratio is None else round(ratio, 2), "note": note})

    def print(self) -> None:
        w = max(len(r["measure"]) for r in self.results)
        print(f"\n{'measure':<{w}} | {'Gridbase':>16} | {'target':>12} | {'peer':>12} | {'ratio':>6} | peer")
        print("-" * (w + 80))
        for r in self.results:
            value = "n/a" if r["value"] is None else f"{r['value']:,.1f} {r['unit']}"
            flag = {True: " ok", False: " MISS", None: ""}[r["met"]]
            peer = "" if r["peer"] is None else f"{r['peer']:,.1f}"
            ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}"
            print(f"{r['measure']:<{w}} | {value:>16} | {r['target'] + flag:>12} | {peer:>12} | {ratio:>6} | {r['peer_name']}"
                  + (f"  [{r['note']}]" if r["note"] else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--json", type=Path, metavar="FILE")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (CI)")
    parser.add_argument("--reuse", action="store_true", help="reuse a table built earlier with the same --rows")
    parser.add_argument("--clients", type=int, default=8, help="concurrent form clients (default 8)")
    parser.add_argument("--py-spy", type=Path, metavar="FILE", help="record the server with py-spy during the form load (.svg: flame graph, else collapsed stacks)")
    parser.add_argument("--processes", type=int, default=2, metavar="N",
                        help="also run the form load on `gridbase serve --workers N` (default 2; 1: only one process)")
    parser.add_argument("--form-seconds", type=float, default=None, help="form load duration (default 15, quick 3)")
    parser.add_argument("--db", metavar="URL", default=os.environ.get("GRIDBASE_DATABASE_URL") or None,
                        help="a postgresql:// URL: build and measure on PostgreSQL, in the schema bench_ROWS of that "
                             "database (default: GRIDBASE_DATABASE_URL if set, else a SQLite file)")
    parser.add_argument("--pg-temp", action="store_true",
                        help="start a throwaway PostgreSQL under /tmp for this run (initdb), measure on it, stop it")
    parser.add_argument("--compare", type=Path, metavar="FILE",
                        help="the --json of another run (e.g. SQLite's): print this run's figures beside it")
    parser.add_argument("--data", type=Path, metavar="DIR",
                        help="where the workspace is built (default benchmarks/data/run-ROWS, run-pg-ROWS on PostgreSQL)")
    args = parser.parse_args(argv)
    if args.db and not pg_server.is_url(args.db):
        parser.error(f"--db must be a postgresql:// URL, not {args.db!r}")
    if args.compare and not args.compare.exists():
        parser.error(f"--compare: no file {args.compare}")
    server_pg = None
    if args.pg_temp:
        reason = pg_server.missing()
        if reason:
            parser.error(f"--pg-temp: {reason}")
        server_pg = pg_server.start(durable=True, shared_buffers="256MB", max_connections=300)
        args.db = server_pg.url()
        args.pg_data = server_pg.folder / "data"  # its processes' CPU time is measured too
    try:
        return measure(args)
    finally:
        if server_pg is not None:
            server_pg.stop(wait=True)


def measure(args: argparse.Namespace) -> int:  # noqa: C901, PLR0912, PLR0915 - one linear script
    run_began = time.perf_counter()
    reps = 10 if args.quick else 40
    agg_reps = 3 if args.quick else 7
    form_seconds = args.form_seconds if args.form_seconds is not None else (3.0 if args.quick else 15.0)

    def log(text: str) -> None:
        print(f"[{time.perf_counter() - run_began:6.1f} s] {text}", flush=True)

    on_pg = bool(args.db)
    store = "postgresql" if on_pg else "sqlite"
    folder = args.data or ROOT / "benchmarks" / "data" / (f"run-pg-{args.rows}" if on_pg else f"run-{args.rows}")
    log(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} on {os.cpu_count()} CPUs")
    # On PostgreSQL the workspace lives in a schema of its own (bench_ROWS) of the database given.
    db: Path | str = pg_server.in_schema(args.db, f"bench_{args.rows}") if on_pg else folder / "gridbase.db"
    log(f"store: {store}")
    built = build(folder, args.rows, args.reuse, log, db=db if isinstance(db, str) else None)
    rep = Report()
    note = "recorded when the cached table was built" if built["reused"] else ""
    rep.add("bulk import (import_rows)", args.rows / built["import_s"], "rows/s", ">= 100000",
            args.rows / built["import_s"] >= 100_000, args.rows / built["peer_s"],
            built.get("peer_name", "sqlite-utils insert_all"), note)
    if built.get("floor_s"):
        rep.add("bulk import vs the same writes by hand", args.rows / built["import_s"], "rows/s", "", None,
                args.rows / built["floor_s"], "hand-written SQL: rows, links, audit, events, indexes"
                + (" (COPY)" if on_pg else ""), note)
    if built.get("floor_cpu_s") and not on_pg:  # on PostgreSQL most of the work is the server's, not this process's
        # The same two as CPU seconds of this process: on a shared machine the wall-clock ratio
        # moves with other people's load (1.1x to 2.2x for one commit), the CPU ratio far less.
        rep.add("bulk import CPU vs the same writes by hand", built["import_cpu_s"], "s CPU", "", None,
                built["floor_cpu_s"], "hand-written SQL, CPU seconds", note)

    # -- in process ----------------------------------------------------------------------------
    from engine import Workspace, counts
    from engine import tokens as tokens_api

    ws = Workspace.open(folder / "ws", db=db)
    visits = ws.base("clinic").table("visits")
    conn = Hand(db)
    grid_sql = GRID_SQL_PG if on_pg else GRID_SQL
    hand = timed(lambda: conn.all(grid_sql, GRID_PARAMS), reps, 2)
    grid = timed(lambda: visits.query(actor="admin", filter=GRID_FILTER, sort=GRID_SORT, limit=50, with_total=False), reps, 2)
    kept = counts.of(ws.storage)  # counts kept between requests (engine/counts.py): forgotten where the counting is timed
    grid_total = timed(lambda: visits.query(actor="admin", filter=GRID_FILTER, sort=GRID_SORT, limit=50), reps, 2, kept.forget)
    grid_kept = timed(lambda: visits.query(actor="admin", filter=GRID_FILTER, sort=GRID_SORT, limit=50), reps, 2)
    rep.add("grid first page, in process p50", p50(grid), "ms", "<= 20", p50(grid) <= 20, p50(hand), "hand-written SQL")
    rep.add("grid first page, in process p99", percentile(grid, 99), "ms", "", None, percentile(hand, 99), "hand-written SQL")
    rep.add("grid first page + row count, in process p50", p50(grid_total), "ms", "<= 20", p50(grid_total) <= 20,
            p50(hand), "hand-written SQL")
    rep.add("grid first page + kept row count, in process p50", p50(grid_kept), "ms", "<= 20", p50(grid_kept) <= 20,
            p50(hand), "hand-written SQL  [nothing written between: the count kept since the last one]")
    log("grid in process done")
    by_center = timed(lambda: visits.group(actor="admin", by="center", aggregate="sum", field="amount"), agg_reps, 1)
    hand_center = timed(lambda: conn.all('SELECT center, sum(amount) FROM "clinic__visits" WHERE "_deleted_at" IS NULL '
                                         'GROUP BY center'), agg_reps, 1)
    rep.add("dashboard sum(amount) by center p50", p50(by_center), "ms", "<= 300", p50(by_center) <= 300,
            p50(hand_center), "hand-written SQL")
    weekly = timed(lambda: visits.group(actor="admin", by="visit_date", bucket="week"), agg_reps, 1)
    hand_weekly = timed(lambda: conn.all(WEEKLY_SQL[store]), agg_reps, 1)
    rep.add("dashboard weekly trend (count) p50", p50(weekly), "ms", "<= 300", p50(weekly) <= 300,
            p50(hand_weekly), "hand-written SQL")
    log("dashboards done")
    fcount = timed(lambda: visits.count(actor="admin", filter={"formula": FORMULA}), agg_reps, 1, kept.forget)
    fcount_hand = timed(lambda: conn.one(FORMULA_SQL, FORMULA_PARAMS), agg_reps, 1)
    rep.add("filterByFormula count, in process p50", p50(fcount), "ms", "<= 2x SQL", p50(fcount) <= 2 * p50(fcount_hand),
            p50(fcount_hand), "hand-written SQL")
    fpage = timed(lambda: visits.query(actor="admin", filter={"formula": FORMULA}, limit=50, with_total=False), reps, 2)
    fpage_hand = timed(lambda: conn.all(FORMULA_PAGE_SQL, FORMULA_PARAMS), reps, 2)
    rep.add("filterByFormula first page, in process p50", p50(fpage), "ms", "<= 2x SQL", p50(fpage) <= 2 * p50(fpage_hand),
            p50(fpage_hand), "hand-written SQL")
    # Free-text search for a rare term: a scan of the searchable columns (no full-text index).
    term = f"visit {args.rows - 7}"
    search = timed(lambda: visits.query(actor="admin", search=term, limit=50, with_total=False), agg_reps, 1)
    search_sql = SEARCH_SQL.format(like="ILIKE" if on_pg else "LIKE")
    search_hand = timed(lambda: conn.all(search_sql, [f"%{term}%"] * 4), agg_reps, 1)
    rep.add("search, rare term, first page, in process p50", p50(search), "ms", "", None, p50(search_hand),
            "hand-written SQL (ILIKE)" if on_pg else "hand-written SQL (LIKE)")
    log("formula and search in process done")
    # API tokens for the HTTP part, made here as `gridbase token DIR create admin` makes them
    # (a command per token took seconds each on a loaded machine).
    n_tokens = 3 if args.quick else 8
    secrets = [tokens_api.create(ws, "admin", name=f"bench{i}")[0] for i in range(n_tokens)]
    ws.close()
    log(f"{n_tokens} API tokens created")

    # -- over HTTP: gridbase serve and datasette serve (SQLite) --------------------------------
    gport, dport, dport_default = free_port(), free_port(), free_port()
    servers = Servers(folder / "ws", db, getattr(args, "pg_data", None))
    datasette: subprocess.Popen[bytes] | None = None
    datasette_default: subprocess.Popen[bytes] | None = None

    try:
        server = servers.serve(gport)
        dbin = Path(sys.executable).parent / "datasette"
        gurl, durl = f"http://127.0.0.1:{gport}", f"http://127.0.0.1:{dport}"
        durl_default = f"http://127.0.0.1:{dport_default}"
        if not on_pg:
            # The peer in its best configuration for this query: no facet suggestions (its default
            # computes them on every table request); its default configuration is measured apart.
            # Both may take longer than Datasette's 1-s default query limit (a cutoff, not a speed
            # setting), which a loaded machine passes at a million rows and which ended the run.
            limit = ["--setting", "sql_time_limit_ms", "60000"]
            datasette = subprocess.Popen([str(dbin), "serve", str(db), "--port", str(dport), "--host", "127.0.0.1",
                                          "--setting", "suggest_facets", "off", *limit],
                                         cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         start_new_session=True)
            datasette_default = subprocess.Popen([str(dbin), "serve", str(db), "--port", str(dport_default), "--host",
                                                  "127.0.0.1", *limit], cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.PIPE, start_new_session=True)
        wait_http(gurl + "/login", server)
        if datasette is not None and datasette_default is not None:
            wait_http(durl + "/-/versions.json", datasette)
            wait_http(durl_default + "/-/versions.json", datasette_default)
        log("servers up")
        tokens = Tokens(secrets)
        api = httpx.Client(base_url=gurl, timeout=60)
        grid_params = {"filterByFormula": GRID_FORMULA, "sort[0][field]": "visit_date", "sort[0][direction]": "desc",
                       "pageSize": "50"}

        def api_get(params: dict[str, str]) -> None:
            r = api.get("/v0/clinic/visits", params=params, headers={"Authorization": f"Bearer {tokens.current()}"})
            if r.status_code != 200 or len(r.json()["records"]) != 50:
                raise SystemExit(f"API answered {r.status_code}: {r.text[:300]}")

        http_grid = timed(lambda: api_get(grid_params), reps, 3, tokens.pace)
        http_view = timed(lambda: api_get({"view": "open_recent", "pageSize": "50"}), reps, 3, tokens.pace)
        if on_pg:
            # No Datasette on PostgreSQL: the peer of the HTTP figures is the hand-written SQL.
            rep.add("grid first page, HTTP API p50", p50(http_grid), "ms", "<= 40", p50(http_grid) <= 40, p50(hand),
                    "hand-written SQL (psycopg)")
            rep.add("grid first page, HTTP API p99", percentile(http_grid, 99), "ms", "", None, percentile(hand, 99),
                    "hand-written SQL (psycopg)")
        else:
            ds = httpx.Client(base_url=durl, timeout=60)
            ds_query = {"_size": "50", "status__exact": "open", "visit_date__gte": "2026-06-01", "_sort_desc": "visit_date",
                        "_shape": "objects"}

            def ds_get(params: dict[str, str]) -> None:
                r = ds.get("/gridbase/clinic__visits.json", params=params)
                if r.status_code != 200 or len(r.json()["rows"]) != 50:
                    raise SystemExit(f"Datasette answered {r.status_code}: {r.text[:300]}")

            ds_grid = timed(lambda: ds_get(ds_query), reps, 3)
            ds_nocount = timed(lambda: ds_get({**ds_query, "_nocount": "1"}), reps, 3)
            ds_default = httpx.Client(base_url=durl_default, timeout=60)

            def ds_default_get() -> None:
                r = ds_default.get("/gridbase/clinic__visits.json", params=ds_query)
                if r.status_code != 200 or len(r.json()["rows"]) != 50:
                    raise SystemExit(f"Datasette answered {r.status_code}: {r.text[:300]}")

            ds_grid_default = timed(ds_default_get, reps, 3)
            ds_default.close()
            ds.close()
            rep.add("grid first page, HTTP API p50", p50(http_grid), "ms", "<= 40, <= DS",
                    p50(http_grid) <= 40 and p50(http_grid) <= p50(ds_grid), p50(ds_grid),
                    "Datasette .json (with count), suggest_facets off")
            rep.add("grid first page, HTTP API p50 vs DS default", p50(http_grid), "ms", "", None, p50(ds_grid_default),
                    "Datasette .json, default settings (facet suggestions on; query limit 60 s)")
            rep.add("grid first page, HTTP API p99", percentile(http_grid, 99), "ms", "", None, percentile(ds_grid, 99),
                    "Datasette .json (with count), suggest_facets off")
            rep.add("grid first page, HTTP API p50 vs DS _nocount", p50(http_grid), "ms", "<= DS",
                    p50(http_grid) <= p50(ds_nocount), p50(ds_nocount), "Datasette .json _nocount=1")
        rep.add("grid first page, HTTP API (view=) p50", p50(http_view), "ms", "<= 40", p50(http_view) <= 40,
                p50(hand), "hand-written SQL")
        log("grid over HTTP done")
        fparams = {"filterByFormula": FORMULA, "pageSize": "50"}
        http_formula = timed(lambda: api_get(fparams), reps, 3, tokens.pace)
        rep.add("filterByFormula first page, HTTP API p50", p50(http_formula), "ms", "<= 40", p50(http_formula) <= 40,
                p50(fpage_hand), "hand-written SQL")
        rep.add("filterByFormula first page, HTTP API p99", percentile(http_formula, 99), "ms", "", None,
                percentile(fpage_hand, 99), "hand-written SQL")
        log("formula over HTTP done")
        api.close()
        stop(datasette)
        stop(datasette_default)
        datasette = datasette_default = None

        measure_forms(rep, servers, server, gurl, clients=args.clients, seconds=form_seconds,
                      processes=args.processes, py_spy=args.py_spy, log=log)
    finally:
        stop(datasette)
        stop(datasette_default)
        servers.stop()
        conn.close()
    total = time.perf_counter() - run_began
    log(f"done in {total:.0f} s")
    rep.print()
    load_avg = os.getloadavg()
    print(f"\n{store}; rows {args.rows:,}; {'quick; ' if args.quick else ''}run took {total:.0f} s; "
          f"load average {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f} on {os.cpu_count()} CPUs"
          + ("; table reused from an earlier build" if built["reused"] else ""))
    figures = {"store": store, "rows": args.rows, "quick": args.quick, "seconds": round(total, 1),
               "reused_table": built["reused"], "load_average": load_avg, "results": rep.results}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    if args.compare:
        print_compare(figures, json.loads(args.compare.read_text(encoding="utf-8")))
    return 0


def print_compare(this: dict[str, Any], other: dict[str, Any]) -> None:
    """This run's figures beside another run's (PostgreSQL beside SQLite), measure by measure.

    `cost` is how many times the other run's cost this run's figure is: this / other for times
    and memory, other / this for rates (rows/s, req/s); "within 2x" is cost <= 2. `SQL cost` is
    the same for the hand-written SQL both measured beside it (where both did): how much of the
    difference is the database's own rather than Gridbase's. A measure only one run has
    (Datasette's, the two processes') is printed with the run that has it."""
    theirs = {r["measure"]: r for r in other["results"]}
    mine = {r["measure"]: r for r in this["results"]}
    names = list(mine) + [m for m in theirs if m not in mine]
    a, b = this.get("store", "this run"), other.get("store", "other run")
    w = max(len(m) for m in names)
    print(f"\n{this.get('rows', 0):,} rows ({a}) beside {other.get('rows', 0):,} rows ({b})")
    print(f"{'measure':<{w}} | {a:>16} | {b:>16} | {'cost':>6} | within 2x | SQL cost")
    print("-" * (w + 73))
    within = []
    for name in names:
        x, y = mine.get(name), theirs.get(name)

        def shown(r: dict[str, Any] | None) -> str:
            return "" if r is None or r["value"] is None else f"{r['value']:,.1f} {r['unit']}"

        cost = verdict = sql_cost = ""
        if x and y and x["value"] and y["value"] and x["unit"] != "%":  # the machine's busy share is not a figure of ours
            rate = x["unit"].endswith("/s")
            ratio = y["value"] / x["value"] if rate else x["value"] / y["value"]
            cost, verdict = f"{ratio:.2f}", "yes" if ratio <= 2 else "NO"
            within.append(ratio <= 2)
            if x.get("peer") and y.get("peer") and str(x.get("peer_name", "")).startswith("hand-written SQL") \
                    and str(y.get("peer_name", "")).startswith("hand-written SQL"):
                peer_ratio = y["peer"] / x["peer"] if rate else x["peer"] / y["peer"]
                sql_cost = f"{peer_ratio:.2f}"
        print(f"{name:<{w}} | {shown(x):>16} | {shown(y):>16} | {cost:>6} | {verdict:>9} | {sql_cost:>8}".rstrip())
    print(f"\n{sum(within)} of {len(within)} measures both runs have are within 2x of {b}'s")


if __name__ == "__main__":
    sys.exit(main())
