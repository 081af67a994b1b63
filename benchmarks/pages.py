"""Server time of every page of the dental demo, one by one, against the 100 ms p95 target.

    .venv/bin/python benchmarks/pages.py [--scale 1.0] [--repeat 20] [--only TEXT] [--profile URL]

Copies examples/dalian_dental into benchmarks/data/pages-SCALE/ (made once, then reused), applies
it, seeds it (scale 1.0: the full year of sample data, 20,000 visits), and signs in as the admin
through the real app (gridbase.app.create_app, automations off) with a test client, so the time
measured is the server's alone: no network, no browser. Pages: the home page, the inbox, the
admin pages, every table's grid, every view (grid, kanban, calendar, gallery, timeline, as its
type draws it), a record page and the new-record page of every table, every dashboard and
every form. Each page is asked once to warm up, then `--repeat` times: p50, p95, max, size, and
the CPU time the process spent on each request (p50 of `time.process_time` around the request:
the app and the test client run in this process and nothing else does, so it says what the page
costs whatever else the shared machine is doing — the figure to optimise). The garbage collector
is set as `gridbase serve` sets it (gridbase.serve_cmd.settle_memory); `--python-gc` leaves it
as Python starts.

`--profile URL` runs one page under cProfile `--repeat` times (the page handler, on the worker
thread that runs it) and prints where the time goes
(the 30 costliest functions by cumulative time).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import os
import pstats
import random
import re
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DENTAL = ROOT / "examples" / "dalian_dental"
PASSWORD = "demo1234"
TARGET_P95_MS = 100.0


def prepare(scale: float) -> Path:
    """The seeded copy of the demo (made on first use)."""
    from engine import Workspace

    folder = ROOT / "benchmarks" / "data" / f"pages-{scale:g}"
    if (folder / "seeded").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(DENTAL, folder, ignore=shutil.ignore_patterns("data"))
    ws = Workspace.open(folder)
    try:
        ws.apply()
        spec = importlib.util.spec_from_file_location("gridbase_seed", folder / "seed.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print("seeded:", module.seed(ws, rng=random.Random(2026), scale=scale), flush=True)
        with ws.storage.transaction():  # sample data is history: no automations for it
            ws.storage.conn.execute("UPDATE _gb_outbox SET processed_at = '2026-01-01T00:00:00Z' WHERE processed_at IS NULL")
    finally:
        ws.close()
    (folder / "seeded").write_text("ok\n", encoding="utf-8")
    return folder


def pages(ws: Any) -> dict[str, str]:
    """Every page a person of the demo opens: name → URL."""
    from views.pages.table import view_url

    found = {"home": "/", "inbox": "/inbox", "admin": "/admin", "admin: people": "/admin/people",
             "admin: runs": "/admin/runs", "admin: audit log": "/admin/audit"}
    for bkey, bdef in ws.config.bases.items():
        for tkey, tdef in bdef.tables.items():
            found[f"{bkey}.{tkey} grid"] = f"/b/{bkey}/t/{tkey}"
            for vkey, vdef in tdef.views.items():
                found[f"{bkey}.{tkey} {vdef.type} {vkey}"] = view_url(bkey, tkey, vdef)
            first = ws.base(bkey).table(tkey).query(actor="admin", limit=1, with_total=False).records
            if first:
                found[f"{bkey}.{tkey} record"] = f"/b/{bkey}/t/{tkey}/r/{first[0]['id']}"
            found[f"{bkey}.{tkey} new record"] = f"/b/{bkey}/t/{tkey}/new"
            for fkey in tdef.forms:
                found[f"{bkey} form {fkey}"] = f"/f/{bkey}/{fkey}"
        for dkey in bdef.dashboards:
            found[f"{bkey} dashboard {dkey}"] = f"/b/{bkey}/d/{dkey}"
    return found


def signed_in(ws: Any, settle: bool = True) -> Any:
    from starlette.testclient import TestClient

    from gridbase.app import create_app

    client = TestClient(create_app(ws, automations=False))
    if settle:  # the memory settings of `gridbase serve` (gridbase.serve_cmd.settle_memory)
        from gridbase.serve_cmd import settle_memory

        settle_memory()
    login = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    answer = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token.group(1) if token else "",
                                         "next": "/"}, follow_redirects=False)
    if answer.status_code != 303:
        raise SystemExit(f"sign-in failed: HTTP {answer.status_code}")
    return client


def profile_pages() -> cProfile.Profile:
    """A profiler of every page handler from now on. The app runs each page on a worker thread
    (views.threads `threaded_coroutine`), where a profiler enabled in this thread sees nothing:
    it is enabled around each handler, on its thread (one request at a time here)."""
    from views import threads

    profiler = cProfile.Profile()
    run = threads._on_this_thread

    def profiled(work: Any) -> Any:
        profiler.enable()
        try:
            return run(work)
        finally:
            profiler.disable()

    threads._on_this_thread = profiled
    return profiler


def measure(client: Any, url: str, repeat: int) -> tuple[list[float], list[float], int, int]:
    """Wall and CPU milliseconds of `repeat` requests (sorted), the status and size of the first."""
    first = client.get(url)
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        client.get(url)
        cpu.append((time.process_time() - start_cpu) * 1000)
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times), sorted(cpu), first.status_code, len(first.content)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", type=float, default=1.0, help="sample data as a share of the full seed (default 1.0)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--only", help="measure only pages whose name contains this")
    parser.add_argument("--profile", metavar="URL", help="profile one page with cProfile instead")
    parser.add_argument("--python-gc", action="store_true",
                        help="leave Python's garbage collector as it starts (not as `gridbase serve` sets it)")
    args = parser.parse_args(argv)

    from engine import Workspace

    folder = prepare(args.scale)
    ws = Workspace.open(folder)
    ws.apply()
    try:
        client = signed_in(ws, settle=not args.python_gc)
        if args.profile:
            client.get(args.profile)
            profiler = profile_pages()
            for _ in range(args.repeat):
                client.get(args.profile)
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(os.environ.get("PAGES_SORT", "cumulative")).print_stats(30)
            print(out.getvalue())
            return 0
        listed = {k: v for k, v in pages(ws).items() if not args.only or args.only in k}
        print(f"{len(listed)} pages of the dental demo (scale {args.scale:g}), {args.repeat} requests each, "
              f"server time in process; target p95 <= {TARGET_P95_MS:.0f} ms")
        print(f"{'page':<44} {'status':>6} {'cpu p50':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'KB':>6}")
        missed = 0
        for name, url in listed.items():
            times, cpu, status, size = measure(client, url, args.repeat)
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            missed += p95 > TARGET_P95_MS or status != 200
            flag = "" if p95 <= TARGET_P95_MS and status == 200 else "  MISS"
            print(f"{name[:44]:<44} {status:>6} {statistics.median(cpu):>8.1f} {statistics.median(times):>8.1f} {p95:>8.1f} {times[-1]:>8.1f} "
                  f"{size / 1024:>6.0f}{flag}", flush=True)
        print(f"{len(listed) - missed} of {len(listed)} pages within {TARGET_P95_MS:.0f} ms p95")
        return 1 if missed else 0
    finally:
        ws.close()


if __name__ == "__main__":
    sys.exit(main())
