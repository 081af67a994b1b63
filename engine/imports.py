"""All-or-nothing imports that do not stop other writers; owner of the journal `_gb_imports`.

An import used to be one transaction: the single write lock was held for the whole file (a
380,000-row CSV with a bad last row held it 82 s, and every sign-in waited). Now:

1. *Check* — every row is coerced, completed and checked (links and files included) without
   the write lock. The checked rows are kept in a temporary file, not in memory. A bad row
   anywhere, the last one too, ends the import here with every problem listed: nothing
   was written.
2. *Write* — the rows go in by transactions of slices of `SLICE` rows: a transaction ends
   as soon as another thread waits for the write lock (so it waits for one slice at most,
   some 10–20 ms) or after `BUDGET_SECONDS` (for writers in other processes, which this one
   cannot see waiting), and the waiting writers go first. The import has a name (`imp…`),
   and the journal row of that name lists the rowid ranges written so far, committed with
   each transaction. The
   rows' `created` events are *held* (engine.outbox): automations do not see them yet.
3. *Publish* — the records they link to are brought up to date (their side of the link,
   rollups over it), once each rather than once per transaction, then the held events are
   released, a chunk at a time; the journal says so first, so a crash here is finished
   (rolled forward) rather than undone.

If the write fails midway (the disk is full, a linked record was deleted meanwhile), the
rows of that import are deleted again, with their audit entries and held events, and one
audit entry `import_rollback` says so. A process killed midway leaves its journal row
*writing*; `recover` (called when a workspace is opened) rolls such imports back once the
process that ran them is gone.

Words: the *journal* row of an import: name, table, actor, process id, state (`writing`,
`publishing`, `done`, `rolled_back`) and the written ranges.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any

from engine.bulk import BulkResult, RejectedRows, Writer, chunks, may_create
from engine.errors import GridbaseError, NotFoundError
from engine.ids import new_record_id, utcnow_text
from engine.interfaces import Table, Workspace
from engine.permissions import Actor

log = logging.getLogger(__name__)

CHUNK = 2000  # rows checked at a time (their links looked up together)
SLICE = 250  # rows written at a time; a transaction takes slices while within its budget
BUDGET_SECONDS = 0.2  # of holding the write lock per transaction when no other thread waits for it
LET_IN_SECONDS = 0.2  # at most this long between transactions for waiting writers to go first
CHECKPOINT_SECONDS = 1.0  # between passive checkpoints while an import writes
OTHERS_PER_TRANSACTION = 100  # linked records brought up to date per transaction when publishing

# Rows one file may hold, for a role that is not admin and sets no `import: {max_rows: N}`.
DEFAULT_MAX_ROWS = 20_000

_TABLE = ("CREATE TABLE IF NOT EXISTS _gb_imports (name TEXT PRIMARY KEY, base TEXT NOT NULL, tbl TEXT NOT NULL, "
          "actor TEXT NOT NULL, pid INTEGER NOT NULL, started_at TEXT NOT NULL, state TEXT NOT NULL, "
          "rows INTEGER NOT NULL DEFAULT 0, ranges TEXT NOT NULL DEFAULT '[]', finished_at TEXT)")


def import_rows(table: Table, rows: Iterable[dict[str, Any]], *, actor: Actor, chunk: int = CHUNK,
                progress: Callable[[BulkResult], None] | None = None,
                line_of: Callable[[int], int] | None = None,
                readers: Mapping[str, Callable[[Any], Any]] | None = None) -> BulkResult:
    """Create every row or none; RejectedRows (with every problem) when a row is bad.
    `line_of`: a row's number (from 1) as the file's line, for problems that name another row;
    `readers`: the import's own reading of some columns (engine.bulk.Writer)."""
    may_create(table, actor)
    writer = Writer(table, actor, table.access(actor), skip_invalid=True, line_of=line_of, readers=readers)
    with tempfile.TemporaryFile() as spill:
        checked = _check(writer, rows, spill, chunk, progress)
        if writer.result.rejected:
            raise RejectedRows(writer.result)
        spill.seek(0)
        # From here a row that fails undoes the import. Link targets found while checking stay
        # found: records are only ever soft-deleted, and a link to one deleted meanwhile is
        # what a link made just before its deletion would be.
        writer.skip_invalid = False
        name = "imp" + new_record_id()[3:]
        _journal_start(table, name, actor)
        storage = table.ws.storage
        lock = storage.lock
        with storage.lock:  # a thread of the import's checkpoints instead (see _Checkpoints)
            storage.writer.execute("PRAGMA wal_autocheckpoint = 0")
        checkpoints = _Checkpoints(table.ws)
        try:
            parts = _unspill(spill, checked)
            part = next(parts, None)
            while part is not None:
                with table.ws.storage.transaction():
                    # As many slices as fit in the time budget, then commit and let others in.
                    began = time.monotonic()
                    spans: list[tuple[int, int]] = []
                    while part is not None and (not spans or (not lock.waiting
                                                              and time.monotonic() - began < BUDGET_SECONDS)):
                        span = writer.insert(part, held=name)
                        if span:
                            spans.append(span)
                        part = next(parts, None)
                    _journal_add(table.ws, name, spans)
                if progress:
                    progress(writer.result)
                _let_others_in(table.ws)
            _publish(table.ws, name)
        except BaseException as exc:
            rollback(table.ws, name, reason=str(exc) or type(exc).__name__)
            raise
        finally:
            checkpoints.stop()
            with storage.lock:
                storage.writer.execute("PRAGMA wal_autocheckpoint = 1000")
    if len(writer.result.ids) >= 1000:
        table.ws.storage.optimize()
    return writer.result


def max_rows(ws: Workspace, actor: Actor) -> int | None:
    """The most rows `actor` may import in one file (None: no limit). Each role gives its
    `import: {max_rows: N}`, else no limit for an admin role and DEFAULT_MAX_ROWS for another;
    a person with several roles gets the largest."""
    if actor.system:
        return None
    limits: list[int | None] = []
    for key in actor.roles:
        role = ws.config.roles.get(key)
        if role is not None:
            limits.append(role.import_max_rows if role.import_max_rows is not None
                          else None if role.admin else DEFAULT_MAX_ROWS)
    if not limits:
        return None if actor.admin else DEFAULT_MAX_ROWS
    return None if None in limits else max(n for n in limits if n is not None)


def _check(writer: Writer, rows: Iterable[dict[str, Any]], spill: IO[bytes], size: int,
           progress: Callable[[BulkResult], None] | None) -> int:
    """Check every row (no write lock); keep the good ones in `spill` while none is bad."""
    parts = 0
    for part in chunks(rows, size):
        checked = writer.prepare(part)
        if not writer.result.rejected:
            for start in range(0, len(checked), SLICE):
                pickle.dump(checked[start:start + SLICE], spill, protocol=pickle.HIGHEST_PROTOCOL)
                parts += 1
        if progress:
            progress(writer.result)
    return parts


def _unspill(spill: IO[bytes], parts: int) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    for _ in range(parts):
        yield pickle.load(spill)  # noqa: S301 - our own temporary file, written just above


def _let_others_in(ws: Workspace) -> None:
    """Between two transactions: let every writer that waits for the lock go first."""
    deadline = time.monotonic() + LET_IN_SECONDS
    while ws.storage.lock.waiting and time.monotonic() < deadline:
        time.sleep(0.0005)


class _Checkpoints:
    """While an import writes: copy the write-ahead log into the database every few seconds
    on a thread of its own (a passive checkpoint, which writers do not wait for). Left to
    SQLite's automatic checkpoint, it would run at some writer's commit inside the write lock,
    and that writer and everyone behind it would wait for its disk sync."""

    def __init__(self, ws: Workspace) -> None:
        self.storage = ws.storage
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gridbase-import-checkpoints", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(CHECKPOINT_SECONDS):
            self.storage.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")  # this thread's reader

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()



# -- the journal -------------------------------------------------------------------------
def _now(ws: Workspace) -> str:
    return utcnow_text(ws.now())


def _journal_start(table: Table, name: str, actor: Actor) -> None:
    with table.ws.storage.transaction() as conn:
        conn.execute(_TABLE)
        conn.execute("INSERT INTO _gb_imports (name, base, tbl, actor, pid, started_at, state) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (name, table.base.key, table.key, actor.key, os.getpid(), _now(table.ws), "writing"))


def _journal_add(ws: Workspace, name: str, spans: list[tuple[int, int]]) -> None:
    """Inside the transaction that wrote them: these rowid ranges belong to import `name`."""
    if not spans:
        return
    conn = ws.storage.conn
    ranges = json.loads(conn.execute("SELECT ranges FROM _gb_imports WHERE name = ?", (name,)).fetchone()[0])
    for first, last in spans:
        if ranges and ranges[-1][1] + 1 == first:
            ranges[-1][1] = last  # no other writer came in between: one range
        else:
            ranges.append([first, last])
    conn.execute("UPDATE _gb_imports SET ranges = ?, rows = rows + ? WHERE name = ?",
                 (json.dumps(ranges), sum(b - a + 1 for a, b in spans), name))


def _set_state(ws: Workspace, name: str, state: str) -> None:
    ws.storage.conn.execute("UPDATE _gb_imports SET state = ?, finished_at = ? WHERE name = ?",
                            (state, _now(ws) if state in ("done", "rolled_back") else None, name))


def _publish(ws: Workspace, name: str) -> None:
    """Show the import's rows on the other side of their links (and in rollups over them),
    then release its held events, a chunk at a time; done again from the start if the
    process is killed meanwhile (`recover`)."""
    with ws.storage.transaction() as conn:
        _set_state(ws, name, "publishing")
        base, tbl, who, ranges = conn.execute("SELECT base, tbl, actor, ranges FROM _gb_imports WHERE name = ?",
                                              (name,)).fetchone()
    table = ws.base(base).table(tbl)
    actor = _actor(ws, who)
    for key in _links(table):
        jname, mine, theirs, _, _ = table.junction(key)
        with ws.storage.reading() as conn:
            others = sorted({r[0] for first, last in json.loads(ranges) for r in conn.execute(
                f"SELECT DISTINCT {theirs} FROM {jname} WHERE {mine} BETWEEN ? AND ?", (first, last))})
        for start in range(0, len(others), OTHERS_PER_TRANSACTION):
            with ws.storage.transaction():
                for other in others[start:start + OTHERS_PER_TRANSACTION]:
                    table.rebuild_other_side(key, other, actor)
            _let_others_in(ws)
    while True:
        with ws.storage.transaction():
            if not ws.outbox.release(name):
                _set_state(ws, name, "done")
                return
        _let_others_in(ws)


def rollback(ws: Workspace, name: str, *, reason: str) -> int:
    """Delete what import `name` wrote (rows, links, audit entries, held events), a chunk at a
    time; audit the rollback; return the number of rows removed."""
    with ws.storage.reading() as conn:
        row = conn.execute("SELECT base, tbl, actor, ranges FROM _gb_imports WHERE name = ?", (name,)).fetchone()
    if row is None:
        return 0
    table = ws.base(row[0]).table(row[1])
    actor = _actor(ws, row[2])
    removed = 0
    for first, last in json.loads(row[3]):
        for start in range(first, last + 1, CHUNK):
            with ws.storage.transaction():
                removed += _remove(table, start, min(last, start + CHUNK - 1), actor)
            _let_others_in(ws)
    while True:
        with ws.storage.transaction():
            if not ws.outbox.drop_held(name):
                break
    with ws.storage.transaction():
        ws.audit.note(actor, table.base.key, table.key, f"import:{name}", "import_rollback",
                      {"rows": removed, "reason": reason[:500]})
        _set_state(ws, name, "rolled_back")
    return removed


def _links(table: Table) -> list[str]:
    """Keys of the fields whose values are linked records (kept in junction tables), as their types say."""
    return [key for key, field in table.fields.items() if field.shown_as == "links"]


def _actor(ws: Workspace, key: str) -> Actor:
    try:
        return ws.actor(key)
    except NotFoundError:  # a person removed or disabled since: the engine finishes for them
        return Actor.engine(key)


def _remove(table: Table, first: int, last: int, actor: Actor) -> int:
    """Inside a transaction: delete the rows first..last of `table` written by an import."""
    conn = table.ws.storage.conn
    ids = [r[0] for r in conn.execute(f"SELECT _id FROM {table.sql} WHERE _rowid BETWEEN ? AND ?", (first, last))]
    touched: dict[str, set[int]] = {}
    for key in _links(table):
        jname, mine, theirs, _, _ = table.junction(key)
        touched[key] = {r[0] for r in conn.execute(f"SELECT {theirs} FROM {jname} WHERE {mine} BETWEEN ? AND ?",
                                                   (first, last))}
        conn.execute(f"DELETE FROM {jname} WHERE {mine} BETWEEN ? AND ?", (first, last))
    conn.execute(f"DELETE FROM {table.sql} WHERE _rowid BETWEEN ? AND ?", (first, last))
    table.ws.audit.forget_created(table.base.key, table.key, ids)
    for key, rowids in touched.items():
        for other in sorted(rowids):
            table.rebuild_other_side(key, other, actor)
    return len(ids)


def recover(ws: Workspace) -> list[str]:
    """Finish the imports of processes that ended midway: roll back one that was writing,
    publish one that was publishing. Return their names."""
    with ws.storage.reading() as conn:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = '_gb_imports'").fetchone() is None:
            return []
        stale = [(n, s) for n, s, pid in conn.execute(
            "SELECT name, state, pid FROM _gb_imports WHERE state IN ('writing', 'publishing')") if not _alive(pid)]
    for name, state in stale:
        try:
            if state == "publishing":
                _publish(ws, name)
            else:
                rollback(ws, name, reason="the importing process ended before the import was complete")
        except GridbaseError as exc:  # its table is gone from the YAML, say: keep the rest working
            log.warning("could not finish import %s: %s", name, exc)
    return [n for n, _ in stale]


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # this process: its import is still running in another thread
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
