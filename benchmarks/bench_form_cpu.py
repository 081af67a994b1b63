"""CPU per signed-in form submission, end to end in one process, and where it goes.

Builds run.py's workspace (benchmarks/run_data.py: the `intake` form and the `form:` automation
that notifies the admin) with a few rows, serves it through starlette's TestClient with the
automation worker running, signs in once, then posts the form N times and waits until every
notification is in the inbox. Reports the server's CPU per post (CPU of the whole process minus
the client's thread) and, with --profile, the top functions by own time across every thread
(each thread runs under its own cProfile; the stats are merged).

    PYTHONPATH=$PWD python benchmarks/bench_form_cpu.py --posts 300 --profile 25
    PYTHONPATH=$PWD python benchmarks/bench_form_cpu.py --serial --sql 40      # statements per post, by kind
    PYTHONPATH=$PWD python benchmarks/bench_form_cpu.py --profile 30 --thread gridbase-automations
    PYTHONPATH=$PWD python benchmarks/bench_form_cpu.py --lock gridbase-automations   # time it holds the write lock
    PYTHONPATH=$PWD python benchmarks/bench_form_cpu.py --copy benchmarks/data/run-1000000   # at a million rows
    PYTHONPATH=$PWD python benchmarks/bench_form_cpu.py --pg postgresql://… --lock gridbase-writer   # on PostgreSQL

Compare checkouts by running it from each (alternating), never absolute times across runs.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"|name="csrf-token" content="([^"]+)"')
LITERAL = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")
_profilers: list[cProfile.Profile] = []
_profiled: dict[int, threading.Thread] = {}  # id of a thread's profiler -> the thread (named by now)


def profile_threads() -> cProfile.Profile:
    """Run every thread started from now on (and this one) under a cProfile of its own."""
    original = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]

    def bootstrap(self: threading.Thread) -> None:
        prof = cProfile.Profile(time.thread_time)  # CPU time: waits for locks and the disk cost nothing
        _profilers.append(prof)
        _profiled[id(prof)] = self
        prof.enable()
        try:
            original(self)
        finally:
            prof.disable()

    threading.Thread._bootstrap_inner = bootstrap  # type: ignore[attr-defined]
    main = cProfile.Profile(time.thread_time)
    _profilers.append(main)
    _profiled[id(main)] = threading.current_thread()
    return main


def thread_cpu() -> dict[str, float]:
    """CPU seconds of each live thread of this process by kind (Linux: /proc/self/task)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kind = re.sub(r"[-_ ]?\d+.*$", "", names.get(int(task.name), "other")) or "other"
        out[kind] = out.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


class LockTimes:
    """Wall and CPU time the threads whose name starts with `prefix` hold the store's write lock
    (engine.storage.WriteLock, taken by every write transaction of this process), outermost holds only."""

    def __init__(self, prefix: str, counting: threading.Event) -> None:
        self.prefix = prefix
        self.counting = counting
        self.wall = self.cpu = 0.0
        self.holds = 0
        self.statements = 0
        self._began = threading.local()

    def holding(self) -> bool:
        """Whether this thread is one measured and holds the lock now."""
        return getattr(self._began, "at", None) is not None

    def install(self) -> None:
        from engine.storage import WriteLock

        enter, leave = WriteLock.__enter__, WriteLock.__exit__
        times = self

        def entered(lock: WriteLock) -> None:
            enter(lock)
            if lock._count == 1 and times.counting.is_set() and threading.current_thread().name.startswith(times.prefix):
                times._began.at = (time.perf_counter(), time.thread_time())

        def left(lock: WriteLock, *exc: object) -> None:
            began = getattr(times._began, "at", None) if lock._count == 1 else None
            leave(lock, *exc)
            if began is not None:
                times._began.at = None
                times.wall += time.perf_counter() - began[0]
                times.cpu += time.thread_time() - began[1]
                times.holds += 1

        WriteLock.__enter__ = entered  # type: ignore[method-assign]
        WriteLock.__exit__ = left  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the top N functions by own time")
    parser.add_argument("--sql", type=int, default=0, metavar="N", help="print the N statements run most often")
    parser.add_argument("--serial", action="store_true", help="wait for each post's notification before the next "
                        "(the worker runs one event per pass: statement counts that do not depend on timing)")
    parser.add_argument("--thread", default="", metavar="NAME", help="with --profile: only threads whose name starts so "
                        "(gridbase-automations, gridbase-writer, AnyIO worker, asyncio-portal, ...)")
    parser.add_argument("--lock", default="", metavar="NAME", help="time under the write lock of the threads whose "
                        "name starts so (wall and CPU per post, from taking the lock to releasing it after the commit)")
    parser.add_argument("--pstats", type=Path, metavar="FILE", help="with --profile: also save the merged stats there")
    parser.add_argument("--copy", type=Path, metavar="DIR", help="post into a copy of a workspace run.py built (DIR holds "
                        "ws/ and gridbase.db, e.g. benchmarks/data/run-1000000) instead of building one of --rows rows")
    parser.add_argument("--pg", metavar="URL", help="build and post on PostgreSQL at URL (a schema of its own, made "
                        "afresh and dropped after; tests/pg_server.py start() gives a throwaway server)")
    args = parser.parse_args()
    if args.pg and args.copy:
        parser.error("--copy copies a SQLite workspace: not with --pg")
    main_prof = profile_threads() if args.profile else None
    statements: Counter[str] = Counter()
    counting = threading.Event()
    lock_times = LockTimes(args.lock, counting) if args.lock else None
    if lock_times is not None:
        lock_times.install()
    def traced(sql: str) -> None:
        if not counting.is_set():
            return
        if args.sql:  # one line per statement whatever its values
            statements.update([LITERAL.sub("?", " ".join(sql.split()))[:150]])
        if lock_times is not None and lock_times.holding():
            lock_times.statements += 1

    if (args.sql or args.lock) and not args.pg:
        from engine import storage

        opened = storage.connect

        def connect(path: str | Path) -> sqlite3.Connection:
            conn = opened(path)
            conn.set_trace_callback(traced)
            return conn

        storage.connect = connect

    import run_data
    from starlette.testclient import TestClient

    from engine import Workspace
    from gridbase.app import create_app

    folder = Path(tempfile.mkdtemp(prefix="gb-formcpu-"))
    if args.copy:  # the original is left alone: its database is copied through SQLite's backup (WAL included)
        shutil.copytree(args.copy / "ws", folder / "ws")
        with sqlite3.connect(args.copy / "gridbase.db") as src, sqlite3.connect(folder / "gridbase.db") as dst:
            src.backup(dst)
    pg = None
    if args.pg:  # a schema of this run's own on the server at --pg
        sys.path.insert(0, str(ROOT.parent / "tests"))
        import pg_server

        pg = pg_server.in_schema(args.pg, f"formcpu_{os.getpid()}", fresh=True)
    if not args.copy:
        run_data.build(folder, args.rows, False, lambda _m: None, db=pg)
    db: str | Path = pg or folder / "gridbase.db"
    ws = Workspace.open(folder / "ws", db=db)
    if pg is not None and (args.sql or args.lock):
        ws.storage.writer.set_trace_callback(traced)  # the writer's statements (PostgreSQL's readers are not counted)
    app = create_app(ws, automations=True, sweep=False, warm_charts=False)
    if pg is not None:
        import psycopg

        watch: Any = psycopg.connect(pg, autocommit=True)
    else:
        watch = sqlite3.connect(db)
    with TestClient(app, base_url="http://testserver") as client:
        page = client.get("/login")
        m = CSRF.search(page.text)
        token = (m.group(1) or m.group(2)) if m else ""
        r = client.post("/login", data={"username": "admin", "password": run_data.PASSWORD, "next": "/",
                                        "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303, r.text
        m = CSRF.search(client.get("/f/clinic/intake").text)
        csrf = (m.group(1) or m.group(2)) if m else ""

        def post(i: int) -> None:
            r = client.post("/f/clinic/intake", data={"title": f"form #{i}", "amount": "123.45", "status": "open",
                                                      "center": "A", "visit_date": "2026-06-15", "csrf_token": csrf})
            assert r.status_code == 200, r.text[:300]

        def notified() -> int:
            return watch.execute("SELECT count(*) FROM _gb_notifications").fetchone()[0]

        for i in range(20):  # warm up: first-use caches, templates, the worker's first run
            post(-i - 1)
        while notified() < 20:
            time.sleep(0.01)
        if main_prof is not None:
            for prof in _profilers:  # the threads' warm-up (sign-in, first templates) left out
                prof.clear()
            main_prof.enable()
        counting.set()
        threads0 = thread_cpu() if Path("/proc/self/task").is_dir() else {}
        c0, t0, w0 = time.process_time(), time.thread_time(), time.perf_counter()
        for i in range(args.posts):
            post(i)
            while args.serial and notified() < 21 + i:  # each post's run on its own: counts that do not depend on timing
                time.sleep(0.001)
        while notified() < 20 + args.posts:
            time.sleep(0.005)
        cpu, client_cpu, wall = time.process_time() - c0, time.thread_time() - t0, time.perf_counter() - w0
        threads1 = thread_cpu() if threads0 else {}
        if main_prof is not None:
            main_prof.disable()
        counting.clear()
    ws.close()
    if pg is not None:
        watch.execute(f'DROP SCHEMA "formcpu_{os.getpid()}" CASCADE')
    watch.close()
    shutil.rmtree(folder, ignore_errors=True)
    print(f"posts {args.posts}: server CPU {1000 * (cpu - client_cpu) / args.posts:.2f} ms/post "
          f"(process {1000 * cpu / args.posts:.2f}, client thread {1000 * client_cpu / args.posts:.2f}), "
          f"wall {1000 * wall / args.posts:.2f} ms/post")
    if threads1:
        by = {k: 1000 * (v - threads0.get(k, 0.0)) / args.posts for k, v in threads1.items()}
        print("CPU ms per post by thread: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(by.items(), key=lambda kv: -kv[1])))
    if lock_times is not None:
        print(f"write lock held by {args.lock}: {1000 * lock_times.wall / args.posts:.3f} ms wall, "
              f"{1000 * lock_times.cpu / args.posts:.3f} ms CPU per post ({lock_times.holds / args.posts:.2f} holds, "
              f"{lock_times.statements / args.posts:.1f} statements per post)")
    if args.sql:
        print(f"{sum(statements.values()) / args.posts:.1f} statements per post; the most frequent (count per post):")
        for sql, n in statements.most_common(args.sql):
            print(f"  {n / args.posts:6.2f}  {sql}")
    if args.profile:
        stats = None
        for prof in _profilers:
            if args.thread and not _profiled[id(prof)].name.startswith(args.thread):
                continue
            prof.create_stats()
            if not prof.stats:  # type: ignore[attr-defined]
                continue
            stats = pstats.Stats(prof) if stats is None else (stats.add(prof) or stats)
        if stats is not None and args.pstats:
            stats.dump_stats(args.pstats)
        if stats is not None:
            out = io.StringIO()
            stats.stream = out  # type: ignore[attr-defined]
            stats.sort_stats("tottime").print_stats(args.profile)
            stats.sort_stats("cumulative").print_stats(r"/(engine|views|automations|gridbase)/", args.profile * 2)
            print(out.getvalue())


if __name__ == "__main__":
    main()
