"""Copying a workspace's database from one store to another (SQLite ⇄ PostgreSQL), verified.

This module owns `gridbase store copy`: it reads every table of the source store — record
tables, link tables, archives and every `_gb_` system table (audit, history, comments,
attachments' metadata, people, runs, ...) — and writes it into the target store, whose schema
is first made by applying the workspace's YAML there (the same tables, keys and indexes as an
`apply` makes). It refuses a target that holds anything. Afterwards it counts and checksums
every table on both sides and reports them; a difference is an error.

A checksum is the SHA-256 of a table's rows, each encoded as JSON (numbers that are whole as
integers, bytes as hex) and sorted, over the columns both stores have: the two databases may
return rows in different orders and spell 1.0 and 1 differently; the values are what count.
The attachments' bytes live in DIR/data/attachments, beside either store, and are not copied.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from engine.errors import GridbaseError
from engine.storage import q
from engine.stores import open_store
from engine.workspace import Workspace

BATCH = 1000


@dataclass(frozen=True)
class Copied:
    """One table copied: its rows and checksum at the source and at the target."""

    table: str
    rows: int
    checksum: str
    target_rows: int
    target_checksum: str

    @property
    def same(self) -> bool:
        return self.rows == self.target_rows and self.checksum == self.target_checksum


def _copied_tables(storage: Any) -> list[str]:
    return sorted(t for t in storage.tables() if not t.startswith("sqlite_"))


def _is_empty(storage: Any) -> str | None:
    """The first table of `storage` that holds something (a record table, or a system table
    with rows), or None when it holds nothing."""
    for table in _copied_tables(storage):
        if not table.startswith("_gb_"):
            return table
        if storage.conn.execute(f"SELECT 1 FROM {q(table)} LIMIT 1").fetchone() is not None:  # noqa: S608 (quoted)
            return table
    return None


def _normal(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


def _rows(storage: Any, table: str, columns: list[str]) -> Iterator[tuple[Any, ...]]:
    with storage.reading() as conn:
        cur = conn.execute(f"SELECT {', '.join(q(c) for c in columns)} FROM {q(table)}")  # noqa: S608 (quoted)
        while True:
            chunk = cur.fetchmany(BATCH)
            if not chunk:
                return
            yield from (tuple(r) for r in chunk)


def checksum(storage: Any, table: str, columns: list[str]) -> tuple[int, str]:
    """The rows of `table` and the SHA-256 of their values in `columns` (see the module's docstring)."""
    encoded = sorted(json.dumps([_normal(v) for v in row], ensure_ascii=False, default=str)
                     for row in _rows(storage, table, columns))
    digest = hashlib.sha256()
    for line in encoded:
        digest.update(line.encode())
        digest.update(b"\n")
    return len(encoded), digest.hexdigest()


def copy_store(root: str | os.PathLike[str], source: str | os.PathLike[str],
               target: str | os.PathLike[str]) -> list[Copied]:
    """Copy the workspace at `root` from the database `source` into the empty database `target`
    (each a SQLite file or a postgresql:// URL); return each table's counts and checksums.
    Raises GridbaseError when the target is not empty or a table does not verify."""
    src = Workspace.open(root, db=source)
    try:
        probe = open_store(target, root)
        try:
            full = _is_empty(probe)
        finally:
            probe.close()
        if full is not None:
            raise GridbaseError(code="copy_target_not_empty", params={"table": full})
        dst = Workspace.open(root, db=target)
        try:
            dst.apply(allow_data_loss=True)
            return _copy(src.storage, dst.storage)
        finally:
            dst.close()
    finally:
        src.close()


def _copy(src: Any, dst: Any) -> list[Copied]:
    tables = _copied_tables(src)
    plan: dict[str, list[str]] = {}
    with dst.transaction() as conn:
        present = set(_copied_tables(dst))
        for table in tables:
            source_columns = src.columns(table)
            if table not in present:  # an archive or a table the YAML no longer declares: made as it is
                decl = ", ".join(f"{q(c)} {kind or 'TEXT'}" for c, kind in source_columns.items())
                conn.execute(f"CREATE TABLE {q(table)} ({decl})")
                dst.forget_tables()
            target_columns = dst.columns(table)
            columns = [c for c in source_columns if c in target_columns]
            plan[table] = columns
            conn.execute(f"DELETE FROM {q(table)}")  # noqa: S608 (quoted): what apply itself wrote (people, schema)
            insert = (f"INSERT INTO {q(table)} ({', '.join(q(c) for c in columns)}) "  # noqa: S608 (quoted)
                      f"VALUES ({', '.join('?' * len(columns))})")
            batch: list[tuple[Any, ...]] = []
            for row in _rows(src, table, columns):
                batch.append(row)
                if len(batch) >= BATCH:
                    conn.executemany(insert, batch)
                    batch = []
            if batch:
                conn.executemany(insert, batch)
            dst.resume_counters(table)
    out: list[Copied] = []
    for table, columns in plan.items():
        rows, digest = checksum(src, table, columns)
        target_rows, target_digest = checksum(dst, table, columns)
        out.append(Copied(table, rows, digest, target_rows, target_digest))
    bad = [c.table for c in out if not c.same]
    if bad:
        raise GridbaseError(code="copy_mismatch", params={"table": bad[0]})
    return out
