"""The data of benchmarks/run.py: its workspace, its rows, and the hand-written floor of the import.

This module owns what run.py measures on: the workspace (bench_engine's base and people, the
admin with a password, a grid view, a signed-in form, a dashboard and a `form:` automation),
the rows (`generate`: bench_engine's generator, same seed, same values), the build of a fresh
table by `Table.import_rows` beside sqlite-utils `insert_all` of the same rows (`build`, kept
for `--reuse`), and `same_writes_by_hand`: the same rows, links, audit entries and events
written by hand-written SQL, the limit of this design. bench_grid_page.py builds its table from
the same data. On PostgreSQL (`build(..., db=URL)`, the schema run.py chose) the same build
runs in that schema, emptied first; the import's peer is psycopg COPY into a plain table
(run_pg.py: `copy_peer`) and the floor the same writes by COPY (`same_writes_by_hand_pg`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))  # pg_server: one throwaway PostgreSQL for tests and benchmarks

import bench_engine  # noqa: E402  (the lead's base, people and generator)
import pg_server  # noqa: E402  (PostgreSQL: the benchmark's schema)
from bench_engine import DOCTORS  # noqa: E402
from run_pg import copy_peer, same_writes_by_hand_pg, settle  # noqa: E402  (PostgreSQL's peer, floor, vacuum)

PASSWORD = "bench-pass-1234"
BUILD_VERSION = 3  # bump when the generated data changes, so --reuse rebuilds
GRID_FILTER = {"status": "open", "visit_date": {"gte": "2026-06-01"}}
GRID_SORT = ["-visit_date"]


# -- the data ------------------------------------------------------------------------------------
def workspace_yaml() -> str:
    people = "\n".join(f"  {d}: {{name: Doctor {d}, roles: [doctor]}}" for d in DOCTORS)
    text = bench_engine.WORKSPACE % people
    plain = "  admin: {name: Admin, roles: [admin]}"
    assert plain in text, "bench_engine.WORKSPACE changed: update workspace_yaml()"
    return text.replace(plain, f"  admin: {{name: Admin, roles: [admin], password: {PASSWORD}}}")


def base_yaml() -> str:
    """bench_engine's base, plus a grid view, a signed-in form and a form automation."""
    doc = yaml.safe_load(bench_engine.BASE)
    visits = doc["tables"]["visits"]
    visits["views"] = {"open_recent": {"type": "grid", "name": "Open, recent", "filter": GRID_FILTER, "sort": GRID_SORT}}
    visits["forms"] = {"intake": {"name": "Intake", "fields": ["title", "amount", "status", "center", "visit_date"]}}
    # The dashboard the aggregates measure, declared as an admin would (the migration indexes
    # what declared widgets group and sum).
    doc["dashboards"] = {"overview": {"name": "Overview", "widgets": [
        {"type": "bar", "title": "Amount by center", "table": "visits", "group_by": "center", "aggregate": "sum",
         "field": "amount"},
        {"type": "line", "title": "Weekly visits", "table": "visits", "group_by": "visit_date", "bucket": "week"}]}}
    doc["automations"] = {"tell_admin": {
        "when": {"form": "intake", "table": "visits"},
        "do": [{"notify": {"to": "person:admin", "title": "{{ record.title }}", "message": "status {{ record.status }}"}}]}}
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def generate(n: int, patients: list[str]) -> list[dict[str, Any]]:
    """The rows of bench_engine.main(): same seed, same values."""
    import random
    from datetime import date, timedelta

    rng = random.Random(1)
    start_day = date(2026, 1, 1)
    return [{"title": f"visit {i}", "amount": round(rng.uniform(0, 2000), 2), "status": rng.choice(["open", "closed", "waiting"]),
             "center": rng.choice("ABCDEF"), "visit_date": (start_day + timedelta(days=rng.randrange(330))).isoformat(),
             "doctor": rng.choice(DOCTORS), "patient": [rng.choice(patients)]} for i in range(n)]


def build(folder: Path, rows: int, reuse: bool, log: Callable[[str], None], db: str | None = None) -> dict[str, Any]:
    """A fresh workspace with `rows` visits; returns the import figures. `db`: a postgresql:// URL
    (of the schema the benchmark uses, see pg_server.in_schema) instead of folder/gridbase.db."""
    from engine import Workspace

    stamp = folder / "built.json"
    target: str | Path = db if db else folder / "gridbase.db"
    where = hashlib.sha256(db.encode()).hexdigest()[:16] if db else ""  # the database built in, without its password
    if reuse and stamp.exists():
        built = json.loads(stamp.read_text(encoding="utf-8"))
        if built.get("rows") == rows and built.get("version") == BUILD_VERSION and built.get("db", "") == where \
                and (db or (folder / "gridbase.db").exists()):
            built["reused"] = True
            log(f"reusing the table built earlier in {folder} (import figures recorded then)")
            return built
    shutil.rmtree(folder, ignore_errors=True)
    if db:
        pg_server.empty(db)  # a build starts from an empty schema, --reuse or not
    (folder / "ws" / "bases").mkdir(parents=True)
    (folder / "ws" / "workspace.yaml").write_text(workspace_yaml(), encoding="utf-8")
    (folder / "ws" / "bases" / "clinic.yaml").write_text(base_yaml(), encoding="utf-8")
    ws = Workspace.open(folder / "ws", db=target)
    try:
        ws.apply()
        patients = ws.base("clinic").table("patients").insert_many(({"name": f"p{i}"} for i in range(2000)), actor="system")
        t0 = time.perf_counter()
        data = generate(rows, patients)
        gen_s = time.perf_counter() - t0
        log(f"generated {rows:,} rows in {gen_s:.1f} s")
        visits = ws.base("clinic").table("visits")
        t0, c0 = time.perf_counter(), time.process_time()
        visits.import_rows(data, actor="system")
        import_s, import_cpu = time.perf_counter() - t0, time.process_time() - c0
        log(f"Gridbase import_rows: {import_s:.1f} s ({import_cpu:.1f} s CPU)")
        # The imported rows are history: no automation should run for them when the server starts.
        with ws.storage.transaction():
            ws.storage.conn.execute("UPDATE _gb_outbox SET processed_at = '2026-01-01T00:00:00Z' WHERE processed_at IS NULL")
    finally:
        ws.close()
    plain = [{**r, "patient": json.dumps(r["patient"])} for r in data]
    if db:
        peer_s, peer_name = copy_peer(db, plain), "psycopg COPY"
        log(f"psycopg COPY into a plain table: {peer_s:.1f} s")
        floor_s, floor_cpu = same_writes_by_hand_pg(db)
        log(f"VACUUM ANALYZE of the schema (what autovacuum would do before anyone measures): {settle(db):.1f} s")
    else:
        import sqlite_utils

        peer_db = sqlite_utils.Database(folder / "peer.db", recreate=True)
        t0 = time.perf_counter()
        peer_db["visits"].insert_all(plain, batch_size=5000)
        peer_s, peer_name = time.perf_counter() - t0, "sqlite-utils insert_all"
        peer_db.close()
        (folder / "peer.db").unlink(missing_ok=True)
        log(f"sqlite-utils insert_all: {peer_s:.1f} s")
        floor_s, floor_cpu = same_writes_by_hand(folder)
    log(f"the same writes by hand-written SQL: {floor_s:.1f} s ({floor_cpu:.1f} s CPU)")
    built = {"rows": rows, "version": BUILD_VERSION, "db": where, "import_s": import_s, "peer_s": peer_s,
             "peer_name": peer_name, "floor_s": floor_s, "import_cpu_s": import_cpu, "floor_cpu_s": floor_cpu,
             "reused": False}
    stamp.write_text(json.dumps(built), encoding="utf-8")
    return built


def same_writes_by_hand(folder: Path) -> tuple[float, float]:
    """Seconds (wall clock, and CPU of this process) for hand-written SQL to make the rows the
    import wrote: the limit of this design.

    Copies what Gridbase's import left in the table, its link junction, the audit log and
    the outbox into a fresh database with the same schema and pragmas, the way the import
    does it (one transaction, `executemany` in batches of 5,000, secondary indexes dropped
    and built again, commit with its WAL checkpoint). Reading the rows back is not timed.
    """
    from engine.storage import connect

    source = sqlite3.connect(folder / "gridbase.db")
    names = ("clinic__visits", "clinic__visits__patient__link", "_gb_audit", "_gb_outbox")
    marks = ", ".join("?" for _ in names)
    tables = source.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name IN ({marks})", names).fetchall()
    indexes = [r[0] for r in source.execute(f"SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                                            f"AND tbl_name IN ({marks})", names)]
    data = {name: source.execute(f'SELECT * FROM "{name}"').fetchall() for name, _ in tables}
    source.close()
    path = folder / "floor.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = connect(path)
    for _, sql in tables:
        conn.execute(sql)
    for sql in indexes:
        conn.execute(sql)
    deferred = [sql for sql in indexes if "_gb_" not in sql.split(" ON ")[1]]  # the import keeps the log's indexes
    conn.execute("PRAGMA wal_autocheckpoint = 20000")
    t0, c0 = time.perf_counter(), time.process_time()
    conn.execute("BEGIN IMMEDIATE")
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                                "AND tbl_name IN ('clinic__visits', 'clinic__visits__patient__link')").fetchall():
        conn.execute(f'DROP INDEX "{name}"')
    for name, rows in data.items():
        insert = f'INSERT INTO "{name}" VALUES ({", ".join("?" for _ in rows[0])})' if rows else ""
        for start in range(0, len(rows), 5000):
            conn.executemany(insert, rows[start:start + 5000])
    for sql in deferred:
        conn.execute(sql)
    conn.execute("COMMIT")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    conn.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return seconds, cpu
