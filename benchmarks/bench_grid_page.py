"""Server-side time of the grid at scale: the first screen, the row blocks the grid fetches as
it scrolls (the first, a middle one, the last), the summary bar.

    .venv/bin/python benchmarks/bench_grid_page.py --build 1000000     # once: the data (≈ 2 min)
    .venv/bin/python benchmarks/bench_grid_page.py [--rows 1000000] [--repeat 20]

`--build N` makes benchmarks/data/grid-N/ with run.py's base, people and rows (a visits table
with text, number, two selects, date, person and a link); without it, that folder is reused.
Signs in as the admin and times, through the real app with a test client, GET of the visits
grid (the first screen, a filtered one, a search), GET …/rows blocks (offset 0, the middle,
the very last block: read backwards instead of skipping a million rows) and GET …/summary,
each p50/p99 over repeated requests (and the CPU time of the process per request, p50: the
server's cost, whatever else the machine runs), and the first screen with its count (…/count when the
screen came without one), with and without a write before each. Target: the first screen p50 ≤
300 ms; the first screen with its count p50 ≤ 100 ms (issue 24).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

PASSWORD = "bench-pass-1234"


def build(folder: Path, rows: int) -> None:
    """A fresh workspace with `rows` visits (run.py's data), its outbox marked processed."""
    import shutil

    import run_data  # the benchmarks' shared base and generator

    from engine import Workspace

    shutil.rmtree(folder, ignore_errors=True)
    (folder / "ws" / "bases").mkdir(parents=True)
    (folder / "ws" / "workspace.yaml").write_text(run_data.workspace_yaml(), encoding="utf-8")
    (folder / "ws" / "bases" / "clinic.yaml").write_text(run_data.base_yaml(), encoding="utf-8")
    ws = Workspace.open(folder / "ws", db=folder / "gridbase.db")
    try:
        ws.apply()
        patients = ws.base("clinic").table("patients").insert_many(({"name": f"p{i}"} for i in range(2000)), actor="system")
        t0 = time.perf_counter()
        ws.base("clinic").table("visits").import_rows(run_data.generate(rows, patients), actor="system")
        print(f"imported {rows:,} rows in {time.perf_counter() - t0:.1f} s")
        with ws.storage.transaction():
            ws.storage.conn.execute("UPDATE _gb_outbox SET processed_at = '2026-01-01T00:00:00Z' WHERE processed_at IS NULL")
    finally:
        ws.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--build", type=int, metavar="ROWS", help="build the data set of ROWS rows first")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--only", default="", help="measure only the cases whose name contains this")
    args = parser.parse_args()
    rows_wanted = args.build or args.rows
    folder = ROOT / "benchmarks" / "data" / f"grid-{rows_wanted}"
    if args.build:
        build(folder, args.build)

    from starlette.testclient import TestClient

    from engine import Workspace
    from gridbase.app import create_app

    ws = Workspace.open(folder / "ws", db=folder / "gridbase.db")
    ws.apply()
    from engine.auth import hash_password

    with ws.storage.transaction():  # whatever an earlier run set
        ws.storage.conn.execute("UPDATE _gb_people SET password_hash = ? WHERE key = 'admin'", (hash_password(PASSWORD),))
    rows = ws.storage.conn.execute('SELECT count(*) FROM "clinic__visits"').fetchone()[0]
    client = TestClient(create_app(ws, automations=False))
    login = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token.group(1) if token else ""})
    grid = "/b/clinic/t/visits"
    middle = rows // 2
    in_view = client.get(grid + "/v/open_recent/count").json()["total"]
    cases = {
        "first screen": grid,
        "first screen, view open_recent": grid + "/v/open_recent",
        "filtered (link filter)": grid + "?f=status&op=eq&v=open",
        "search": grid + "?q=visit%2012345",
        "the count (asked after the first screen)": grid + "/count",
        "rows block 0–100": grid + "/rows?offset=0&limit=100",
        f"rows block at {middle:,}": grid + f"/rows?offset={middle}&limit=100",
        "rows: the last block": grid + f"/rows?offset={max(0, rows - 100)}&limit=100",
        "rows: the last block, count sent": grid + f"/rows?offset={max(0, rows - 100)}&limit=100&total={rows}",
        f"rows: the last block of a view ({in_view:,})":
            grid + f"/v/open_recent/rows?offset={max(0, in_view - 100)}&limit=100&total={in_view}",
        "summary bar": grid + "/summary",
    }
    print(f"grid at {rows:,} rows, {args.repeat} requests each (target: first screen p50 ≤ 300 ms)")
    for name, url in cases.items():
        if args.only not in name:
            continue
        first = client.get(url)
        if first.status_code != 200:
            print(f"  {name:<34} HTTP {first.status_code}")
            continue
        times, cpu = [], []
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            cpu.append((time.process_time() - start_cpu) * 1000)
            times.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                print(f"  {name:<34} HTTP {response.status_code} (after {len(times)} requests)")
                break
        else:
            times.sort()
            print(f"  {name:<34} p50 {statistics.median(times):8.1f} ms   p99 {times[-1]:8.1f} ms"
                  f"   CPU p50 {statistics.median(cpu):8.1f} ms")
    # What a person waits for before the grid says how many rows it has: its first screen, and
    # …/count when the screen came without one. With no write in between, the count kept since
    # the last one (engine.counts) comes with the first screen; after a write it is counted again.
    visits = ws.base("clinic").table("visits")
    some = visits.query(actor="admin", limit=1, with_total=False).records[0]["id"]
    for name, write in (("first screen + count, nothing written", False),
                        ("first screen + count, a write before", True)):
        if args.only not in name:
            continue
        times, cpu, told = [], [], []
        for i in range(args.repeat):
            if write:
                visits.update(some, {"title": f"bench {i}"}, actor="admin")
            start, start_cpu = time.perf_counter(), time.process_time()
            page = client.get(grid)
            exact = re.search(r'data-total="(\d+)"', page.text)
            if exact is None:
                about = re.search(r'class="muted record-count">([^<]*)<', page.text)
                told.append(about.group(1).strip() if about else "?")
                client.get(grid + "/count")
            cpu.append((time.process_time() - start_cpu) * 1000)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        shown = f"   first screen showed: {', '.join(sorted(set(told)))[:60]}" if told else "   count on the first screen"
        print(f"  {name:<34} p50 {statistics.median(times):8.1f} ms   p99 {times[-1]:8.1f} ms"
              f"   CPU p50 {statistics.median(cpu):8.1f} ms{shown}")
    ws.close()


if __name__ == "__main__":
    main()
