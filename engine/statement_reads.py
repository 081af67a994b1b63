"""What a statement reads: the tables it reads and the columns of each, as each store can tell,
for kept row counts (engine.counts asks its store, `Storage.reads` / `PgStorage.reads`).

Each store answers with a series of answers, the cheapest first, each one a `{table: columns}`
that is never less than what the statement reads (more is fine: a count kept on what it does not
read is only counted again sooner). The asker takes the first answer it can use and stops.

- SQLite (`sqlite`): first what the statement *names* (its authorizer, asked once per SQL while
  the statement is prepared under EXPLAIN); then what its program *runs* (`_program`: the
  b-trees its bytecode opens and the columns it takes from them), which is less when SQLite
  flattens away a subquery the statement names but does not need (a restricted reader's
  guarded copies of linked records, unless the query compares them).
- PostgreSQL (`postgres`): the relations its *generic plan* scans (EXPLAIN (VERBOSE, FORMAT
  JSON) of the statement prepared with `plan_cache_mode = force_generic_plan`, so that no
  parameter's value folds a part of it away: the answer holds for every parameter value; the
  planner drops a guarded copy the query does not compare, as SQLite's flattening does, and one
  the reader may see nothing of). Each scanned table's columns are every name the SQL text
  gives that is one of its columns: a superset of what the plan reads, since a single-table
  statement reads a column only by naming it (no views, no whole-row references here), and
  one that holds whatever index the plan walks (a partial index's WHERE is not in the plan).
  Nothing for a statement PostgreSQL cannot plan with untyped parameters, or one whose plan
  scans a table of another schema (it is not isolated, then: counted again after any write).

Functions the SQL calls read no table (SQLite's are the engine's Python, PostgreSQL's the
engine's SQLite-compatible SQL functions, engine/pg_schema.py): what a plan scans is all it reads.
"""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from psycopg import pq

Read = dict[str, set[str]]

_SERIAL = itertools.count()  # makes each EXPLAIN's text new, so SQLite prepares it (and authorizes) again
_PLACEHOLDER = re.compile(r"%([%s])")


# -- SQLite ------------------------------------------------------------------------------
def sqlite(conn: sqlite3.Connection, sql: str, params: list[Any]) -> Iterator[Read]:
    """What `sql` names, then (asked for more) what its program reads; nothing when SQLite
    cannot prepare it."""
    named = _named(conn, sql, params)
    if not named:
        return
    yield named
    program = _program(conn, sql, params)
    if program is not None:
        yield program


def _named(conn: sqlite3.Connection, sql: str, params: list[Any]) -> Read:
    read: Read = {}

    def note(action: int, table: str | None, column: str | None, _db: str | None, _inner: str | None) -> int:
        if action == sqlite3.SQLITE_READ and table:
            read.setdefault(table, set()).add(column or "")
        return sqlite3.SQLITE_OK

    conn.set_authorizer(note)
    try:
        conn.execute(f"EXPLAIN {sql} -- {next(_SERIAL)}", params).fetchall()
    except sqlite3.Error:  # pragma: no cover - the same SQL was just counted; if not, say nothing
        read.clear()
    finally:
        conn.set_authorizer(None)
    return read


def _program(conn: sqlite3.Connection, sql: str, params: list[Any]) -> Read | None:
    """{table: columns} that the statement's program reads, from its bytecode: the b-trees it
    opens (every one of a table of the main database, named by its root page) and the columns
    it takes from them (each column of an index it opens, and those its partial WHERE names,
    count as read). None when the program does something this cannot follow (a virtual
    table, a write, an expression index, another database)."""
    pages = {int(r[0]): (r[1], r[2], r[3], r[4] or "") for r in conn.execute(
        "SELECT rootpage, type, name, tbl_name, sql FROM sqlite_master WHERE rootpage > 0")}
    read: Read = {}
    cursors: dict[int, tuple[str, list[str]]] = {}  # cursor -> its table, the names of its columns by position
    for _addr, op, p1, p2, p3, *_rest in conn.execute(f"EXPLAIN {sql} -- {next(_SERIAL)}", params).fetchall():
        if op in ("OpenWrite", "VOpen", "VFilter", "VColumn", "ParseSchema"):
            return None
        if op in ("OpenRead", "ReopenIdx"):
            if p3 != 0 or int(p2) not in pages:
                return None
            kind, name, table, text = pages[int(p2)]
            taken = read.setdefault(table, set())
            columns = [r[0] for r in conn.execute("SELECT name FROM pragma_table_xinfo(?)", (table,))]
            if kind == "table":
                cursors[p1] = (table, columns)
                continue
            parts = conn.execute("SELECT cid, name FROM pragma_index_xinfo(?)", (name,)).fetchall()
            if any(cid == -2 for cid, _ in parts):
                return None
            cursors[p1] = (table, [n or "" for _, n in parts])
            taken.update(n for cid, n in parts if cid >= 0)
            if " where " in text.lower():  # a partial index: what its WHERE reads too
                taken.update(c for c in columns if c in text)
        elif op == "Column" and p1 in cursors:
            table, names = cursors[p1]
            if p2 >= len(names):
                return None
            read[table].add(names[p2])
    return read


# -- PostgreSQL --------------------------------------------------------------------------
def postgres(raw: psycopg.Connection[Any], text: str, names: set[str],
             columns_of: Callable[[str], set[str]]) -> Iterator[Read]:
    """What the statement `text` (translated: `%s` parameters) reads, from its generic plan, on
    `raw` inside the reader's transaction (a savepoint keeps a failure from spoiling it);
    `names`: every name its SQL gives (engine.pg_sql `names`), `columns_of(table)`: the table's
    columns."""
    scanned = _scanned(raw, text)
    if scanned is None:
        return
    schema = raw.execute("SELECT current_schema()").fetchone()
    read: Read = {}
    for where, table in scanned:
        if schema is None or where != schema[0]:
            read[f"{where}.{table}"] = set()  # a table the workspace does not know: not isolated
        else:
            read[table] = columns_of(table) & names
    if read:
        yield read


def _scanned(raw: psycopg.Connection[Any], text: str) -> set[tuple[str, str]] | None:
    """(schema, table) of every relation the generic plan of `text` scans, or None."""
    count = 0

    def numbered(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(1) == "%":
            return "%"
        count += 1
        return f"${count}"

    statement = _PLACEHOLDER.sub(numbered, text)
    name = f"gb_reads_{next(_SERIAL)}"
    args = f"({', '.join(['NULL'] * count)})" if count else ""
    # In a savepoint, so that a failure does not spoil the reader's transaction; left by RELEASE
    # when all went well, with the plan cache mode put back by hand: psycopg forgets its own
    # prepared statements after any ROLLBACK, a ROLLBACK TO SAVEPOINT too (DEALLOCATE ALL).
    raw.execute("SAVEPOINT gb_reads")
    try:
        mode = raw.execute("SELECT current_setting('plan_cache_mode')").fetchone()
        raw.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        raw.execute(f"PREPARE {name} AS {statement}")
        try:
            row = raw.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE {name}{args}").fetchone()
        finally:
            if raw.info.transaction_status == pq.TransactionStatus.INTRANS:
                raw.execute(f"DEALLOCATE {name}")
        raw.execute("SELECT set_config('plan_cache_mode', %s, true)", (mode[0] if mode else "auto",))
        raw.execute("RELEASE SAVEPOINT gb_reads")
    except psycopg.DatabaseError as exc:
        if raw.info.transaction_status in (pq.TransactionStatus.INERROR, pq.TransactionStatus.INTRANS):
            raw.execute("ROLLBACK TO SAVEPOINT gb_reads")  # the plan cache mode back as it was
            raw.execute("RELEASE SAVEPOINT gb_reads")
            if raw.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", (name,)).fetchone():
                raw.execute(f"DEALLOCATE {name}")
        if isinstance(exc, psycopg.errors.QueryCanceled):
            raise  # the read's time budget: the reader says so
        return None  # a parameter of no type PostgreSQL can tell: say nothing
    plan = row[0] if row else None
    if isinstance(plan, str):
        plan = json.loads(plan)
    if not isinstance(plan, list) or not plan:
        return None
    found: set[tuple[str, str]] = set()
    nodes = [plan[0].get("Plan", {})]
    while nodes:
        node = nodes.pop()
        if "Relation Name" in node:
            found.add((str(node.get("Schema", "")), str(node["Relation Name"])))
        nodes += node.get("Plans", [])
    return found
