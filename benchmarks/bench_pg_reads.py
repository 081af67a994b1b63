"""PostgreSQL's reads beside SQLite's, old code against new: run.py's first pages in process and
through the API, both stores alternated call by call, the checkouts alternated run by run.

    .venv/bin/python benchmarks/bench_pg_reads.py --db postgresql://… --data /tmp/pgreads --build 100000
    flock /tmp/gb-bench.lock .venv/bin/python benchmarks/bench_pg_reads.py --db postgresql://… \
        --data /tmp/pgreads --tree old=/tmp/old --tree new=. [--rounds 4] [--reps 150]
    .venv/bin/python benchmarks/bench_pg_reads.py --db postgresql://… --data /tmp/pgreads --statements LOG

`--build ROWS` makes run.py's workspace twice in `--data`: pg/ on PostgreSQL (the schema
pgreads_ROWS of `--db`, vacuumed and analysed) and sq/ on SQLite (sq.db). A measuring run starts
one process per `--tree` in turn (a checkout of Gridbase, e.g. `git archive COMMIT | tar -x -C
/tmp/old`), `--rounds` times; each opens both workspaces with its tree's engine and times, in
turns of one call each, PostgreSQL's and SQLite's grid first page and filterByFormula first page
in process (`Table.query`, no count, as run.py) and through the API (`GET /v0/…` through
Starlette's TestClient: the app's own handling, no HTTP server), printing each run's p50s and
then, per tree, the median of the rounds' p50s and of their PostgreSQL / SQLite ratios.
`--statements LOG` prints the statements PostgreSQL ran for one call of each (it turns
`log_statement = all` on for the call with ALTER SYSTEM: a superuser's URL; LOG is the server's
log file). Findings: benchmarks/README.md, "Session 24: PostgreSQL's reads".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def build(db: str, data: Path, rows: int) -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "tests")]
    import pg_server
    import run_pg
    from bench_kept_counts import build as build_one

    url = pg_server.in_schema(db, f"pgreads_{rows}", fresh=True)
    build_one(data / "pg", rows, url)
    run_pg.settle(url)
    build_one(data / "sq", rows, data / "sq.db")
    (data / "url").write_text(url, encoding="utf-8")


def cases(tree: Path, data: Path) -> tuple[dict[str, Callable[[], Any]], Callable[[], None]]:
    """The timed calls of both stores, by name ("grid in process pg", …), and what closes them."""
    sys.path[:0] = [str(tree), str(tree / "benchmarks")]
    warnings.simplefilter("ignore")  # TestClient over httpx warns of its deprecation
    from run import FORMULA, GRID_FORMULA
    from run_data import GRID_FILTER, GRID_SORT
    from starlette.testclient import TestClient

    from engine import Workspace, tokens
    from gridbase.app import create_app

    stores = {"pg": Workspace.open(data / "pg" / "ws", db=(data / "url").read_text(encoding="utf-8")),
              "sq": Workspace.open(data / "sq" / "ws", db=data / "sq.db")}
    grid = {"filterByFormula": GRID_FORMULA, "sort[0][field]": "visit_date", "sort[0][direction]": "desc",
            "pageSize": "50"}
    formula = {"filterByFormula": FORMULA, "pageSize": "50"}
    found: dict[str, Callable[[], Any]] = {}
    clients = []
    for name, ws in stores.items():
        app = create_app(ws, automations=False)
        app.state.api_rate = (100_000.0, 200_000.0)  # counted (a write on PostgreSQL), never in the way
        secret = tokens.create(ws, "admin", name="bench_pg_reads")[0]
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        visits = ws.base("clinic").table("visits")

        def api(params: dict[str, str], client: Any = client, secret: str = secret) -> None:
            r = client.get("/v0/clinic/visits", params=params, headers={"Authorization": f"Bearer {secret}"})
            if r.status_code != 200 or len(r.json()["records"]) != 50:
                raise SystemExit(f"API answered {r.status_code}: {r.text[:300]}")

        found[f"grid in process {name}"] = lambda v=visits: v.query(actor="admin", filter=GRID_FILTER, sort=GRID_SORT,
                                                                      limit=50, with_total=False)
        found[f"filterByFormula in process {name}"] = lambda v=visits: v.query(actor="admin", filter={"formula": FORMULA},
                                                                                 limit=50, with_total=False)
        found[f"grid API {name}"] = lambda api=api: api(grid)
        found[f"filterByFormula API {name}"] = lambda api=api: api(formula)

    def close() -> None:
        for client in clients:
            client.__exit__(None, None, None)
        for ws in stores.values():
            ws.close()
    return found, close


def http_cases(tree: Path, data: Path) -> tuple[dict[str, Callable[[], Any]], Callable[[], None]]:
    """The API's two first pages from `gridbase serve` of the tree (a server per store), over
    HTTP as run.py asks them: its tokens in turn, paced under the per-token limit (untimed)."""
    sys.path[:0] = [str(tree), str(tree / "benchmarks")]
    import httpx
    from bench_engine import free_port
    from run import FORMULA, GRID_FORMULA, Tokens
    from run_forms import stop, wait_http

    from engine import Workspace, tokens

    dbs = {"pg": (data / "url").read_text(encoding="utf-8"), "sq": str(data / "sq.db")}
    found: dict[str, Callable[[], Any]] = {}
    procs: list[subprocess.Popen[bytes]] = []
    clients: list[httpx.Client] = []
    for name, db in dbs.items():
        ws = Workspace.open(data / name / "ws", db=db)
        paced = Tokens([tokens.create(ws, "admin", name=f"bench_pg_reads{i}")[0] for i in range(12)])
        ws.close()
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "gridbase", "serve", str(data / name / "ws"), "--db", db,
                                 "--port", str(port)], cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        procs.append(proc)
        wait_http(f"http://127.0.0.1:{port}/login", proc)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        clients.append(client)

        def api(params: dict[str, str], client: httpx.Client = client, paced: Any = paced) -> None:
            r = client.get("/v0/clinic/visits", params=params, headers={"Authorization": f"Bearer {paced.current()}"})
            if r.status_code != 200 or len(r.json()["records"]) != 50:
                raise SystemExit(f"API answered {r.status_code}: {r.text[:300]}")

        found[f"grid HTTP API {name}"] = (paced.pace, lambda api=api: api({
            "filterByFormula": GRID_FORMULA, "sort[0][field]": "visit_date", "sort[0][direction]": "desc",
            "pageSize": "50"}))
        found[f"filterByFormula HTTP API {name}"] = (paced.pace, lambda api=api: api({"filterByFormula": FORMULA,
                                                                                       "pageSize": "50"}))

    def close() -> None:
        for client in clients:
            client.close()
        for proc in procs:
            stop(proc)
    return found, close


def one_run(tree: Path, data: Path, reps: int, http: bool = False) -> dict[str, float]:
    found, close = http_cases(tree, data) if http else cases(tree, data)
    if http:  # (pace, call): the pace untimed
        paces = {k: v[0] for k, v in found.items()}
        found = {k: v[1] for k, v in found.items()}
    else:
        paces = {}
    for key, fn in found.items():
        for _ in range(5):
            if key in paces:
                paces[key]()
            fn()
    order = sorted(found, key=lambda k: (k.rsplit(" ", 1)[0], k))  # a case's two stores one after the other
    samples: dict[str, list[float]] = {k: [] for k in found}
    for _ in range(reps):
        for key in order:
            if key in paces:
                paces[key]()
            t0 = time.perf_counter()
            found[key]()
            samples[key].append((time.perf_counter() - t0) * 1000)
    close()
    return {k: statistics.median(v) for k, v in samples.items()}


def statements(tree: Path, data: Path, log: Path) -> None:
    import psycopg

    found, close = cases(tree, data)
    admin = (data / "url").read_text(encoding="utf-8")
    for name, fn in found.items():
        if not name.endswith(" pg"):
            continue
        for _ in range(8):
            fn()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET log_statement = 'all'")
            conn.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)
        start = log.stat().st_size
        fn()
        time.sleep(0.3)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM RESET log_statement")
            conn.execute("SELECT pg_reload_conf()")
        text = log.read_text(encoding="utf-8", errors="replace")[start:]
        lines = [line.split("LOG:  ", 1)[1] for line in text.splitlines()
                 if "LOG:  " in line and ("statement:" in line or "execute" in line)
                 and "log_statement" not in line and "pg_reload_conf" not in line]
        print(f"{name}: {len(lines)} statements")
        for line in lines:
            print("   ", line[:150])
    close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="a PostgreSQL URL (a superuser's for --statements)")
    parser.add_argument("--data", type=Path, required=True, help="the folder of the two workspaces")
    parser.add_argument("--build", type=int, metavar="ROWS")
    parser.add_argument("--tree", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--reps", type=int, default=150)
    parser.add_argument("--statements", type=Path, metavar="LOG")
    parser.add_argument("--http", action="store_true", help="the API through `gridbase serve` (run.py's HTTP figures)")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # a measuring run of one tree
    args = parser.parse_args()
    if args.build:
        build(args.db, args.data, args.build)
    if args.one:
        print(json.dumps(one_run(args.one, args.data, args.reps, args.http)))
        return
    if args.statements:
        statements(ROOT, args.data, args.statements)
    trees = {name: Path(path).resolve() for name, path in (t.split("=", 1) for t in args.tree)}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            out = subprocess.run([sys.executable, __file__, "--db", args.db, "--data", str(args.data), "--one", str(tree),
                                  "--reps", str(args.reps), *(["--http"] if args.http else [])], capture_output=True, text=True, cwd=tree, check=False)
            if out.returncode:
                raise SystemExit(out.stderr[-3000:])
            runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(name, {k: round(v, 3) for k, v in runs[name][-1].items()}, flush=True)
    if not trees:
        return
    print("\nmedian of the rounds' p50 (ms); PostgreSQL / SQLite, median of the rounds' ratios (range)")
    for case in sorted({k.rsplit(" ", 1)[0] for k in next(iter(runs.values()))[0]}):
        cells = []
        for name, found in runs.items():
            pg = statistics.median(r[f"{case} pg"] for r in found)
            sq = statistics.median(r[f"{case} sq"] for r in found)
            ratios = [r[f"{case} pg"] / r[f"{case} sq"] for r in found]
            cells.append(f"{name}: {pg:.2f} / {sq:.2f} = {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")
        print(f"{case:28} | " + " | ".join(cells))


if __name__ == "__main__":
    main()
