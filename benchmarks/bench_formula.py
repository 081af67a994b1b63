"""Benchmark: a filter formula compiled to SQL against the same filter written by hand.

Builds a SQLite table (numbers, text, dates; storage conventions of engine.formula.sql) in a
temporary file, then times `SELECT id ... WHERE (<compiled formula>)` against the
hand-written equivalent, and for scale the Python evaluation of the formula on a sample.
Not run by CI.

    .venv/bin/python benchmarks/bench_formula.py --rows 1000000
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from engine.formula import Column, Env, compile_sql, evaluate, parse, truthy

FORMULA = "AND({amount} > 500, {status} = 'open', IS_AFTER({visit_date}, '2026-06-01'))"
HAND_SQL = "amount > ? AND status = ? AND visit_date > ?"
HAND_PARAMS = [500, "open", "2026-06-01"]
KINDS = {"amount": "number", "status": "text", "visit_date": "date", "note": "text"}
STATUSES = ["open", "closed", "pending", "open", None]


def build(path: Path, rows: int, seed: int) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, amount REAL, status TEXT, "
               "visit_date TEXT, note TEXT)")
    rng = random.Random(seed)
    start = date(2026, 1, 1)

    def generate() -> object:
        for i in range(rows):
            amount = None if rng.random() < 0.05 else round(rng.uniform(0, 1000), 2)
            visit = None if rng.random() < 0.05 else (start + timedelta(days=rng.randrange(365))).isoformat()
            yield (i, amount, rng.choice(STATUSES), visit, f"note {i % 977}")

    db.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", generate())  # type: ignore[arg-type]
    db.commit()
    return db


def timed(db: sqlite3.Connection, sql: str, params: list[object], repeat: int) -> tuple[float, int]:
    runs = []
    count = 0
    for _ in range(repeat):
        began = time.perf_counter()
        count = len(db.execute(f"SELECT id FROM t WHERE ({sql})", params).fetchall())  # noqa: S608
        runs.append(time.perf_counter() - began)
    return statistics.median(runs), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--python-sample", type=int, default=100_000,
                        help="rows evaluated in Python for comparison (0 to skip)")
    args = parser.parse_args()

    node = parse(FORMULA)
    sql, params = compile_sql(
        node, lambda name: Column(sql=f'"t"."{name}"', kind=KINDS[name]),
        tz="Asia/Shanghai", now=datetime.now(UTC),
    )
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        db = build(Path(folder) / "bench.db", args.rows, args.seed)
        print(f"built {args.rows:,} rows in {time.perf_counter() - began:.1f} s")
        print(f"formula:  {FORMULA}")
        print(f"compiled: {sql}  {params}")
        timed(db, HAND_SQL, HAND_PARAMS, 1)  # warm the page cache
        hand, hand_count = timed(db, HAND_SQL, HAND_PARAMS, args.repeat)
        compiled, compiled_count = timed(db, sql, params, args.repeat)
        assert hand_count == compiled_count, (hand_count, compiled_count)
        print(f"hand-written SQL: {hand * 1000:8.1f} ms  ({hand_count:,} rows)")
        print(f"compiled formula: {compiled * 1000:8.1f} ms  ({compiled_count:,} rows)")
        print(f"ratio compiled / hand-written: {compiled / hand:.2f}x (target <= 2x)")
        if args.python_sample:
            sample = db.execute("SELECT amount, status, visit_date FROM t LIMIT ?",
                                [args.python_sample]).fetchall()
            began = time.perf_counter()
            for amount, status, visit in sample:
                env = Env(values={"amount": amount, "status": status,
                                  "visit_date": date.fromisoformat(visit) if visit else None})
                truthy(evaluate(node, env))
            per_row = (time.perf_counter() - began) / len(sample)
            print(f"Python evaluation: {per_row * 1e6:.1f} us/row, "
                  f"~{per_row * args.rows:.1f} s for {args.rows:,} rows")
        db.close()


if __name__ == "__main__":
    main()
