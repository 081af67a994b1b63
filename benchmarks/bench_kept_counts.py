"""Kept row counts under a steady write load: how often the grid's count is taken again, and
what a grid page with its count costs, with the counts kept up to date from the events since
(engine.counts now) and with the old rule (any write anywhere: count again), in the same run.

    .venv/bin/python benchmarks/bench_kept_counts.py --build 100000          # once: the data
    .venv/bin/python benchmarks/bench_kept_counts.py [--rows 100000] [--pages 120]
    .venv/bin/python benchmarks/bench_kept_counts.py --copy benchmarks/data --rows 1000000
        # --copy: a folder built by run.py (bench.db or gridbase.db, and ws/), copied first
    .venv/bin/python benchmarks/bench_kept_counts.py --pg-temp --build 100000   # PostgreSQL
    .venv/bin/python benchmarks/bench_kept_counts.py --db postgresql://… [--build ROWS]
        # on PostgreSQL: the schema counts_ROWS of that database (--pg-temp: a throwaway server,
        # tests/pg_server.py, so --build too); the workspace folder as on SQLite

Between two grid pages the hospital writes: `--forms` form submissions into the visits table
(creations), `--others` writes to another table (patients), and every `--edit-every` pages an
edit of a visit. Each page is table.query(with_total=True) of the visits table for one of three
readers in turn: the admin unfiltered, the admin with run.py's grid filter, a doctor (rows rule
`doctor: $me`). The rules run in alternating rounds on the same database: nothing kept (every
page counts every row: PostgreSQL before it kept counts), the old rule, the new one; every count
is also checked against count(*) made without anything kept (outside the timing): a wrong
number stops the run. Reported per rule: recounts (misses) and answers without counting every
row (hits; of them brought up to date from the events), and p50/p95 of page + count.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))  # pg_server: one throwaway PostgreSQL for tests and benchmarks

import pg_server  # noqa: E402  (--pg-temp)


def build(folder: Path, rows: int, db: Path | str) -> None:
    """A fresh workspace with `rows` visits (run.py's base and data) in `db` (a SQLite file, or
    a PostgreSQL URL of a fresh schema)."""
    import run_data as run  # the workspace, rows and grid query of benchmarks/run.py

    from engine import Workspace

    shutil.rmtree(folder, ignore_errors=True)
    (folder / "ws" / "bases").mkdir(parents=True)
    (folder / "ws" / "workspace.yaml").write_text(run.workspace_yaml(), encoding="utf-8")
    (folder / "ws" / "bases" / "clinic.yaml").write_text(run.base_yaml(), encoding="utf-8")
    ws = Workspace.open(folder / "ws", db=db)
    try:
        ws.apply()
        patients = ws.base("clinic").table("patients").insert_many(({"name": f"p{i}"} for i in range(2000)), actor="system")
        t0 = time.perf_counter()
        ws.base("clinic").table("visits").import_rows(run.generate(rows, patients), actor="system")
        print(f"imported {rows:,} rows in {time.perf_counter() - t0:.1f} s")
        with ws.storage.transaction():
            ws.storage.conn.execute("UPDATE _gb_outbox SET processed_at = '2026-01-01T00:00:00Z' WHERE processed_at IS NULL")
        ws.storage.optimize()  # the planner's statistics, as `gridbase apply` leaves them
    finally:
        ws.close()


def copy(source: Path, folder: Path) -> None:
    """A copy of a data set run.py built (its database and workspace folder)."""
    db = next((source / n for n in ("gridbase.db", "bench.db") if (source / n).exists()), None)
    if db is None:
        raise SystemExit(f"no gridbase.db or bench.db in {source}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copytree(source / "ws", folder / "ws")
    shutil.copyfile(db, folder / "gridbase.db")


class NoKeeping:
    """Nothing kept: every page counts every row (PostgreSQL before counts were kept there)."""

    def __init__(self, counts: Any) -> None:
        self.counts = counts

    def install(self) -> None:
        self.counts._key = lambda *_args: None  # noqa: SLF001 (the benchmark's baseline)


class OldRule:
    """engine.counts before: a kept count holds only while the newest event id is unchanged."""

    def __init__(self, counts: Any) -> None:
        self.counts = counts

    def install(self) -> None:
        self.counts._known = self._known  # noqa: SLF001 (the benchmark's baseline)

    def _known(self, outbox: Any, conn: Any, key: Any, stamp: Any, source: str, where: str) -> int | None:
        counts = self.counts
        with counts._lock:  # noqa: SLF001
            kept = counts._kept.get(key)  # noqa: SLF001
            if kept is not None and kept[0] == stamp:
                counts._kept.move_to_end(key)  # noqa: SLF001
                counts.hits += 1
                return int(kept[1])
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--build", type=int, metavar="ROWS", help="build the data set of ROWS rows first")
    parser.add_argument("--copy", type=Path, metavar="FOLDER", help="copy a data set run.py built first")
    parser.add_argument("--pages", type=int, default=120, help="grid pages per rule")
    parser.add_argument("--round", type=int, default=20, help="pages per round (the rules alternate)")
    parser.add_argument("--forms", type=int, default=2, help="form submissions into visits between pages")
    parser.add_argument("--others", type=int, default=1, help="writes to another table between pages")
    parser.add_argument("--edit-every", type=int, default=10, help="an edit of a visit every N pages (0: none)")
    parser.add_argument("--db", metavar="URL", help="a postgresql:// URL: run on PostgreSQL, in its schema counts_ROWS")
    parser.add_argument("--pg-temp", action="store_true", help="start a throwaway PostgreSQL for this run (needs --build)")
    args = parser.parse_args()
    if args.db and not pg_server.is_url(args.db):
        parser.error(f"--db must be a postgresql:// URL, not {args.db!r}")
    if args.pg_temp and not args.build:
        parser.error("--pg-temp starts an empty server: give --build ROWS")
    if (args.db or args.pg_temp) and args.copy:
        parser.error("--copy copies a SQLite file: not with --db or --pg-temp")
    server = None
    if args.pg_temp:
        reason = pg_server.missing()
        if reason:
            parser.error(f"--pg-temp: {reason}")
        server = pg_server.start(durable=True, shared_buffers="256MB")
        args.db = server.url()
    try:
        run_rules(args)
    finally:
        if server is not None:
            server.stop(wait=True)


def run_rules(args: argparse.Namespace) -> None:  # noqa: PLR0915 - one linear script
    rows_wanted = args.build or args.rows
    folder = ROOT / "benchmarks" / "data" / (f"counts-pg-{rows_wanted}" if args.db else f"counts-{rows_wanted}")
    db: Path | str = folder / "gridbase.db"
    if args.db:
        db = pg_server.in_schema(args.db, f"counts_{rows_wanted}", fresh=bool(args.build))
    if args.build:
        build(folder, args.build, db)
    elif args.copy:
        copy(args.copy, folder)

    import run_data as run  # the workspace, rows and grid query of benchmarks/run.py

    from engine import Workspace, counts

    ws = Workspace.open(folder / "ws", db=db)
    ws.apply()
    visits, patients = ws.base("clinic").table("visits"), ws.base("clinic").table("patients")
    doctor = run.DOCTORS[0]
    readers: list[tuple[str, str, Any]] = [("admin", "admin", None), ("admin, grid filter", "admin", run.GRID_FILTER),
                                           (f"doctor {doctor}", doctor, None)]
    edit = visits.query(actor="admin", limit=1, with_total=False).records[0]["id"]
    new, old, none = counts.Counts(), counts.Counts(), counts.Counts()
    OldRule(old).install()
    NoKeeping(none).install()
    for kept in (new, old, none):
        kept.describe(ws.count_columns)
    truth = counts.Counts()  # asked after forget(): always counts every row
    times: dict[str, list[float]] = {"new": [], "old": [], "none": []}
    written = 0
    print(f"{visits.count(actor='admin'):,} visits on {ws.storage.dialect.name}; between pages: {args.forms} forms, "
          f"{args.others} other writes, an edit every {args.edit_every or '-'} pages; {args.pages} pages per rule")
    for done in range(0, args.pages, args.round):
        for rule, kept in (("none", none), ("new", new), ("old", old)):
            counts._BY_STORAGE[ws.storage] = kept  # noqa: SLF001
            for page in range(done, min(args.pages, done + args.round)):
                for _ in range(args.forms):
                    written += 1
                    visits.create({"title": f"form {written}", "status": "open", "visit_date": "2026-11-25",
                                   "doctor": doctor if written % 3 == 0 else run.DOCTORS[1]}, actor="admin")
                for _ in range(args.others):
                    written += 1
                    patients.create({"name": f"walk-in {written}"}, actor="admin")
                if args.edit_every and page % args.edit_every == 0:
                    written += 1
                    visits.update(edit, {"status": ["open", "closed"][written % 2]}, actor="admin")
                _, actor, flt = readers[page % len(readers)]
                start = time.perf_counter()
                got = visits.query(actor=actor, filter=flt, sort=run.GRID_SORT, limit=50).total
                times[rule].append((time.perf_counter() - start) * 1000)
                counts._BY_STORAGE[ws.storage] = truth  # noqa: SLF001
                truth.forget()
                exact = visits.count(actor=actor, filter=flt)
                counts._BY_STORAGE[ws.storage] = kept  # noqa: SLF001
                if got != exact:
                    raise SystemExit(f"{rule} rule: told {got}, the rows say {exact}")
    print(f"{'rule':<34}{'pages':>6}{'recounts':>10}{'hits':>6}{'(updated)':>10}{'p50 ms':>9}{'p95 ms':>9}")
    for rule, kept, label in (("none", none, "none: every page counts"), ("old", old, "old: any write, count again"),
                              ("new", new, "new: kept up to date")):
        spent = sorted(times[rule])
        p95 = spent[min(len(spent) - 1, int(len(spent) * 0.95))]
        recounts = len(spent) if rule == "none" else kept.misses
        print(f"{label:<34}{len(spent):>6}{recounts:>10}{kept.hits:>6}{kept.updated:>10}"
              f"{statistics.median(spent):>9.1f}{p95:>9.1f}")
    ratio = old.misses / new.misses if new.misses else float("inf")
    print(f"recounts old/new: {old.misses}/{new.misses} = {ratio:.1f}x fewer; p50 none/old/new = "
          f"{statistics.median(times['none']):.1f}/{statistics.median(times['old']):.1f}/"
          f"{statistics.median(times['new']):.1f} ms; every count checked exact")
    ws.close()


if __name__ == "__main__":
    main()
