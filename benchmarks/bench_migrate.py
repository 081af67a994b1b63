"""Migration benchmark: a fresh `apply()` of the example workspace, and schema changes on a big table.

    .venv/bin/python benchmarks/bench_migrate.py --rows 200000 [--json results.json]

Times, in process:
- `apply()` of examples/dalian_dental into an empty database (median of five);
- on a visits table of ROWS rows (the base and rows of bench_engine.py, imported once and
  copied for each change), one `apply()` per change: add two fields, retype a number field
  to text and a select to text (every value converted), rename a field, remove a field.
Each change starts from a copy of the same database file, so the figures are independent.

With `--ddl` it also times the schema statements alone on copies of that table, each way
in turn (`--ddl-repeat` times), for engine/migrate.py's account of which steps sqlite-utils
does and which stay hand-written: a retype by sqlite-utils `transform(types=...)` vs by a new
column (ADD, UPDATE, DROP, RENAME); a rename by `ALTER TABLE ... RENAME COLUMN` vs
`transform(rename=...)`; a removal by `ALTER TABLE ... DROP COLUMN` vs `transform(drop=...)`
(transform refuses to rename or drop while a partial index is on the table, so those
indexes are dropped first and made again, as a transform-based step would have to).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import sqlite_utils  # noqa: E402
from bench_engine import BASE, DOCTORS, WORKSPACE  # noqa: E402

from engine import Workspace  # noqa: E402
from engine.storage import connect  # noqa: E402

TABLE = "clinic__visits"

CHANGES = {
    "add a text and a number field": [
        ("      title: {type: text, name: Title}\n",
         "      title: {type: text, name: Title}\n      note: {type: text, name: Note}\n"
         "      score: {type: number, name: Score}\n")],
    "retype number -> text (amount)": [("amount: {type: number, name: Amount, precision: 2}",
                                        "amount: {type: text, name: Amount}")],
    "retype single_select -> text (status)": [("status: {type: single_select, name: Status, options: [open, closed, waiting]}",
                                               "status: {type: text, name: Status}")],
    "rename a field (title -> headline)": [("      title: {type: text, name: Title}", "      headline: {type: text, name: Title, "
                                            "renamed_from: title}"), ("primary: title", "primary: headline")],
    "remove a field (center)": [("      center: {type: single_select, name: Center, options: [A, B, C, D, E, F]}\n", "")],
}


def write_ws(folder: Path, base: str) -> None:
    (folder / "bases").mkdir(parents=True, exist_ok=True)
    people = "\n".join(f"  {d}: {{name: Doctor {d}, roles: [doctor]}}" for d in DOCTORS)
    (folder / "workspace.yaml").write_text(WORKSPACE % people, encoding="utf-8")
    (folder / "bases" / "clinic.yaml").write_text(base, encoding="utf-8")


def build(folder: Path, rows: int) -> Path:
    """A database holding ROWS visits (and 2,000 patients); returns its path."""
    write_ws(folder / "ws", BASE)
    db = folder / "big.db"
    ws = Workspace.open(folder / "ws", db=db)
    ws.apply()
    rng = random.Random(1)
    patients = ws.base("clinic").table("patients").insert_many(({"name": f"p{i}"} for i in range(2000)), actor="system")
    start_day = date(2026, 1, 1)
    data = [{"title": f"visit {i}", "amount": round(rng.uniform(0, 2000), 2), "status": rng.choice(["open", "closed", "waiting"]),
             "center": rng.choice("ABCDEF"), "visit_date": (start_day + timedelta(days=rng.randrange(330))).isoformat(),
             "doctor": rng.choice(DOCTORS), "patient": [rng.choice(patients)]} for i in range(rows)]
    ws.base("clinic").table("visits").import_rows(data, actor="system")
    ws.close()
    return db


def fresh_apply(folder: Path, repeat: int) -> list[float]:
    out = []
    for i in range(repeat):
        ws_dir = folder / f"example-{i}"
        shutil.copytree(ROOT / "examples" / "dalian_dental", ws_dir, ignore=shutil.ignore_patterns("data"))
        ws = Workspace.open(ws_dir, db=ws_dir / "fresh.db")
        start = time.perf_counter()
        ws.apply()
        out.append((time.perf_counter() - start) * 1000)
        ws.close()
    return out


def change(folder: Path, db: Path, name: str, edits: list[tuple[str, str]]) -> tuple[float, list[str]]:
    work = folder / name.split(" (")[0].replace(" ", "_").replace(">", "")
    base = BASE
    for old, new in edits:
        assert old in base, old
        base = base.replace(old, new)
    write_ws(work, base)
    copy = work / "big.db"
    shutil.copyfile(db, copy)
    ws = Workspace.open(work, db=copy)
    start = time.perf_counter()
    steps = ws.apply(allow_data_loss=True)
    took = (time.perf_counter() - start) * 1000
    ws.close()
    copy.unlink()
    return took, [s.description for s in steps]


def _partial_indexes(db: sqlite_utils.Database) -> list[str]:
    return [r[0] for r in db.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                                     "AND sql LIKE '%WHERE%'", [TABLE])]


def _around_partial_indexes(db: sqlite_utils.Database, work: Any) -> None:
    kept = _partial_indexes(db)
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql LIKE '%WHERE%'",
                              [TABLE]).fetchall():
        db.execute(f'DROP INDEX "{name}"')
    work()
    for sql in kept:
        db.execute(sql)


def _drop_center_index(db: sqlite_utils.Database) -> None:
    """What migrate does before a column goes: drop the indexes that use it."""
    db.execute(f'DROP INDEX IF EXISTS "idx__{TABLE}__center"')


def _retype_by_new_column(db: sqlite_utils.Database, values: list[tuple[Any, int]]) -> None:
    db.execute(f'ALTER TABLE "{TABLE}" ADD COLUMN "_gb_tmp_amount" TEXT')
    db.conn.executemany(f'UPDATE "{TABLE}" SET "_gb_tmp_amount" = ? WHERE _rowid = ?', values)
    db.execute(f'ALTER TABLE "{TABLE}" DROP COLUMN "amount"')
    db.execute(f'ALTER TABLE "{TABLE}" RENAME COLUMN "_gb_tmp_amount" TO "amount"')


def _retype_by_transform(db: sqlite_utils.Database, values: list[tuple[Any, int]]) -> None:
    db.table(TABLE).transform(types={"amount": "TEXT"})
    db.conn.executemany(f'UPDATE "{TABLE}" SET "amount" = ? WHERE _rowid = ?', values)


def ddl_ways(db_path: Path, folder: Path) -> dict[str, Any]:
    """Each DDL way on its own copy of the table, inside one BEGIN IMMEDIATE ... COMMIT as apply() runs it."""
    probe = sqlite3.connect(db_path)
    values = [(f"{v:.2f}" if v is not None else None, rowid) for rowid, v in probe.execute(f'SELECT _rowid, amount FROM "{TABLE}"')]
    probe.close()
    ways: dict[str, Any] = {
        "retype: new column, UPDATE, DROP, RENAME": lambda db: _retype_by_new_column(db, values),
        "retype: sqlite-utils transform(types=), UPDATE": lambda db: _retype_by_transform(db, values),
        "rename: ALTER TABLE RENAME COLUMN": lambda db: db.execute(f'ALTER TABLE "{TABLE}" RENAME COLUMN "title" TO "headline"'),
        "rename: sqlite-utils transform(rename=)": lambda db: _around_partial_indexes(
            db, lambda: db.table(TABLE).transform(rename={"title": "headline"})),
        "remove: ALTER TABLE DROP COLUMN": lambda db: (_drop_center_index(db),
                                                      db.execute(f'ALTER TABLE "{TABLE}" DROP COLUMN "center"')),
        "remove: sqlite-utils transform(drop=)": lambda db: (_drop_center_index(db), _around_partial_indexes(
            db, lambda: db.table(TABLE).transform(drop={"center"}))),
    }
    return ways


def time_way(db_path: Path, folder: Path, way: Any) -> float:
    copy = folder / "ddl.db"
    shutil.copyfile(db_path, copy)
    conn = connect(copy)
    db = sqlite_utils.Database(conn)
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    way(db)
    conn.execute("COMMIT")
    took = (time.perf_counter() - start) * 1000
    conn.close()
    copy.unlink()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5, help="fresh applies of the example workspace")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--ddl", action="store_true", help="also time the schema statements alone, each way")
    parser.add_argument("--ddl-repeat", type=int, default=3)
    parser.add_argument("--only-ddl", action="store_true", help="skip the apply() figures")
    parser.add_argument("--change", default="", metavar="TEXT", help="only the changes whose name holds TEXT")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the big table's database in DIR and reuse it when there (to compare two checkouts)")
    args = parser.parse_args()
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="gb-bench-migrate-") as tmp:
        folder = Path(tmp)
        if not args.only_ddl and args.repeat:
            fresh = fresh_apply(folder, args.repeat)
            results.append({"measure": "fresh apply of examples/dalian_dental (median)", "ms": round(statistics.median(fresh), 1)})
        kept = args.keep / f"big-{args.rows}.db" if args.keep else None
        if kept is not None and kept.exists():
            db = kept
        else:
            t0 = time.perf_counter()
            db = build(folder, args.rows)
            print(f"built {args.rows} rows in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            if kept is not None:
                kept.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(db, kept)
        if not args.only_ddl:
            for name, edits in CHANGES.items():
                if args.change not in name:
                    continue
                took, steps = change(folder, db, name, edits)
                results.append({"measure": f"{name} on {args.rows} rows", "ms": round(took, 1), "steps": steps})
        if args.ddl or args.only_ddl:
            ways = ddl_ways(db, folder)
            times: dict[str, list[float]] = {name: [] for name in ways}
            for _ in range(args.ddl_repeat):  # each way in turn, so a busy moment hits them alike
                for name, way in ways.items():
                    times[name].append(time_way(db, folder, way))
            for name, samples in times.items():
                results.append({"measure": f"DDL alone, {name} ({args.rows} rows, median of {len(samples)})",
                                "ms": round(statistics.median(samples), 1), "samples": [round(t, 1) for t in samples]})
    width = max(len(str(r["measure"])) for r in results)
    for r in results:
        print(f"{r['measure']:<{width}}  {r['ms']:>10.1f} ms")
    if args.json:
        args.json.write_text(json.dumps({"rows": args.rows, "results": results}, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
