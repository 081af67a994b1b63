"""PostgreSQL's side of the build of benchmarks/run.py's data: the peer and the floor of the import.

This module owns what the build does only on PostgreSQL (run_data.build with a postgresql://
URL): `copy_peer`, psycopg COPY of the same rows into a plain table (PostgreSQL's sqlite-utils
`insert_all`), and `same_writes_by_hand_pg`, the rows, links, audit entries and events the
import wrote, written again by COPY into tables of the same shape (the limit of this design).
`settle` is what autovacuum would have done before anyone measures: VACUUM ANALYZE of the
schema the build wrote (the build marks a million events processed in one UPDATE, which leaves
a million dead rows in the outbox and its pending index, and planner statistics that say every
event is pending). The throwaway server and the benchmark's schema are tests/pg_server.py.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from psycopg import sql

FLOOR_TABLES = ("clinic__visits", "clinic__visits__patient__link", "_gb_audit", "_gb_outbox")


def settle(db: str) -> float:
    """VACUUM ANALYZE every table of the benchmark's schema; its seconds."""
    t0 = time.perf_counter()
    with psycopg.connect(db, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
        for table in tables:
            conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
    return time.perf_counter() - t0


def copy_peer(db: str, plain: list[dict[str, Any]]) -> float:
    """Seconds for psycopg's COPY to write the same rows into a plain table (no audit, no
    outbox, no index, no checks) in one transaction: PostgreSQL's sqlite-utils `insert_all`."""
    columns = list(plain[0])
    with psycopg.connect(db) as conn:
        conn.execute('DROP TABLE IF EXISTS "peer_visits"')
        conn.execute('CREATE TABLE "peer_visits" ("title" text, "amount" double precision, "status" text, "center" text, '
                     '"visit_date" text, "doctor" text, "patient" text)')
        conn.commit()
        t0 = time.perf_counter()
        statement = sql.SQL('COPY "peer_visits" ({}) FROM STDIN').format(sql.SQL(", ").join(map(sql.Identifier, columns)))
        with conn.cursor() as cur, cur.copy(statement) as copy:
            for row in plain:
                copy.write_row([row[c] for c in columns])
        conn.commit()
        seconds = time.perf_counter() - t0
        conn.execute('DROP TABLE "peer_visits"')
        conn.commit()
    return seconds


def same_writes_by_hand_pg(db: str) -> tuple[float, float]:
    """PostgreSQL's `same_writes_by_hand`: what the import left in the table, its link junction,
    the audit log and the outbox, written again by hand into tables of the same shape in a
    schema of their own, in one transaction: COPY (binary) of each, the data tables' indexes
    built after the rows, the log's before (as the import keeps them). Seconds of wall clock and
    CPU of this process (the server's CPU is not in it). Reading the rows back is not timed."""
    with psycopg.connect(db, autocommit=True) as conn:
        source = conn.execute("SELECT current_schema()").fetchone()[0]  # type: ignore[index]
        floor = f"{source}_floor"
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(floor)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(floor)))
        data: dict[str, bytes] = {}
        kept: list[str] = []
        deferred: list[str] = []
        for name in FLOOR_TABLES:
            src, dst = sql.Identifier(source, name), sql.Identifier(floor, name)
            conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED)")
                         .format(dst, src))
            with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} TO STDOUT (FORMAT binary)").format(src)) as copy:
                data[name] = b"".join(bytes(block) for block in copy)
            for (indexdef,) in conn.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
                                            (source, name)).fetchall():
                on = f" ON {sql.Identifier(source, name).as_string(conn)} "
                alt = f" ON {source}.{name} "
                statement = indexdef.replace(on, f" ON {dst.as_string(conn)} ").replace(alt, f" ON {dst.as_string(conn)} ")
                (kept if name.startswith("_gb_") else deferred).append(statement)
        for statement in kept:
            conn.execute(statement)  # PostgreSQL's own index definitions
        t0, c0 = time.perf_counter(), time.process_time()
        with conn.transaction():
            for name, block in data.items():
                with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} FROM STDIN (FORMAT binary)")
                                                    .format(sql.Identifier(floor, name))) as copy:
                    copy.write(block)
            for statement in deferred:
                conn.execute(statement)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(floor)))
    return seconds, cpu
