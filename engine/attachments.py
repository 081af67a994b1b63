"""Attachments: the file store on disk and its index, the `_gb_attachments` table (owned here).

Words:

- *blob*: the bytes of a file, stored once by their SHA-256 under
  `data_dir/attachments/<sha[:2]>/<sha>`; two uploads of the same bytes share a blob.
- *upload*: one row of `_gb_attachments`: a random id (`att` + 32 hex digits, so an id tells
  nothing about the file), the file's name, size and type, who uploaded it, when, and for which
  base/table/field. A record's attachment field holds `{id, name, size, type}` items.
- *incoming file* (`Incoming`): bytes received but not kept, in `data_dir/attachments/incoming/`.
  `receive` streams a file there (hashing and counting as it goes, refusing past the size
  limit, never holding the whole file in memory); `keep` indexes it and moves it to its blob,
  inside the transaction of the write that uses it, so a write that fails keeps nothing;
  `discard` removes what a failed write received.
- *limits* (`Limits`, from workspace.yaml `attachments:`): the largest file, quotas (per
  person, all public forms together, the whole workspace) and the free disk below which
  uploads are refused.
- *orphan*: an upload that no record (live or in the trash), no history entry and no
  archived value names, older than the grace period; or a blob no upload names; or an
  incoming file left by a crash. `remove_orphans` deletes them.

Every placement and removal of a blob happens while holding the workspace's write lock, so
a blob shared by two uploads is never removed under a write that is about to use it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from engine.errors import Message, ValidationError
from engine.fields.base import load_json_list
from engine.ids import utcnow_text
from engine.interfaces import Workspace
from engine.storage import q, table_name

if TYPE_CHECKING:
    from engine.permissions import Actor

MB = 1024 * 1024
CHUNK = 256 * 1024
PUBLIC_PREFIX = "form:"  # uploaders of public forms (engine.permissions.Actor.public)
_ATT_ID = re.compile(r"att[0-9a-f]{32}")


@dataclass(frozen=True)
class Limits:
    """Upload limits of a workspace (`attachments:` in workspace.yaml); None is no limit."""

    max_size_mb: float = 20
    person_quota_mb: float | None = 2048
    public_quota_mb: float | None = 1024
    workspace_quota_mb: float | None = None
    min_free_disk_mb: float = 1024
    orphan_grace_hours: float = 24

    @classmethod
    def of(cls, ws: Workspace) -> Limits:
        given = {k: v for k, v in (ws.config.attachments or {}).items() if k in cls.__dataclass_fields__}
        return cls(**given)


@dataclass
class Incoming:
    """A file received but not kept: its temporary path, hash, size, name and type."""

    path: Path
    sha256: str
    size: int
    name: str
    type: str
    kept: dict[str, Any] | None = field(default=None)


def root(ws: Workspace) -> Path:
    return Path(ws.data_dir) / "attachments"


def incoming_dir(ws: Workspace, *, make: bool = True) -> Path:
    """Where received bytes wait until a write keeps them (also request bodies being read);
    made if missing unless `make` is False (a body spooled in memory needs no folder)."""
    path = root(ws) / "incoming"
    if make:
        path.mkdir(parents=True, exist_ok=True)
    return path


def blob_path(ws: Workspace, sha: str) -> Path:
    return root(ws) / sha[:2] / sha


def free_disk_mb(ws: Workspace) -> float:
    path = Path(ws.data_dir)
    path.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(path).free / MB


def check_disk(ws: Workspace, key: str, label: str, incoming_bytes: int = 0) -> None:
    """ValidationError when keeping `incoming_bytes` more would leave less free disk than allowed."""
    limits = Limits.of(ws)
    free = free_disk_mb(ws) - incoming_bytes / MB
    if free < limits.min_free_disk_mb:
        raise ValidationError({key: Message("field_problem", field=label, problem=Message("disk_short"))})


# -- receiving ---------------------------------------------------------------------------------
def receive(ws: Workspace, source: BinaryIO, *, name: str, mime: str, key: str, label: str,
            max_bytes: int) -> Incoming:
    """Stream `source` into an incoming file; ValidationError (and nothing left) past `max_bytes`."""
    check_disk(ws, key, label)
    fd, tmp = _incoming_file(ws)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise ValidationError({key: Message("field_problem", field=label, problem=Message(
                        "file_too_large", file=name, mb=f"{max_bytes / MB:g}"))})
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())  # durable before a write names it, and outside the write lock
        check_disk(ws, key, label, size)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return Incoming(path=Path(tmp), sha256=digest.hexdigest(), size=size, name=name, type=mime)


def _incoming_file(ws: Workspace) -> tuple[int, str]:
    path = incoming_dir(ws) / ("in-" + secrets.token_hex(12))
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), str(path)


# -- quotas ------------------------------------------------------------------------------------
def used_bytes(ws: Workspace, uploader: str | None = None) -> int:
    """Bytes uploaded by `uploader` (all public forms together for `form:…`), or by everyone."""
    conn = ws.storage.conn
    if uploader is None:
        sql, params = ("SELECT COALESCE(SUM(size), 0) FROM (SELECT sha256, MAX(size) AS size "
                       "FROM _gb_attachments GROUP BY sha256) AS kept"), []
    elif uploader.startswith(PUBLIC_PREFIX):
        sql, params = "SELECT COALESCE(SUM(size), 0) FROM _gb_attachments WHERE uploaded_by LIKE ?", [PUBLIC_PREFIX + "%"]
    else:
        sql, params = "SELECT COALESCE(SUM(size), 0) FROM _gb_attachments WHERE uploaded_by = ?", [uploader]
    return int(conn.execute(sql, params).fetchone()[0])


def check_quota(ws: Workspace, actor: Actor, adding: int, key: str, label: str) -> None:
    """ValidationError when `adding` more bytes would pass the uploader's or the workspace's quota."""
    limits = Limits.of(ws)
    public = actor.key.startswith(PUBLIC_PREFIX)
    quota = limits.public_quota_mb if public else limits.person_quota_mb
    if quota is not None and not actor.system and used_bytes(ws, actor.key) + adding > quota * MB:
        problem = Message("quota_public" if public else "quota_mine", mb=f"{quota:g}")
        raise ValidationError({key: Message("field_problem", field=label, problem=problem)})
    if limits.workspace_quota_mb is not None and used_bytes(ws) + adding > limits.workspace_quota_mb * MB:
        raise ValidationError({key: Message("field_problem", field=label, problem=Message(
            "quota_workspace", mb=f"{limits.workspace_quota_mb:g}"))})


# -- keeping -----------------------------------------------------------------------------------
def keep(ws: Workspace, files: list[Incoming], *, actor: Actor, base: str, table: str, field: str,
         label: str, now: str) -> list[dict[str, Any]]:
    """Index the incoming files and move each to its blob; return the field value items.

    Joins (or opens) the write transaction: when the surrounding write fails, its rows are
    rolled back and `discard` removes the bytes.
    """
    items = []
    with ws.storage.transaction() as conn:
        check_quota(ws, actor, sum(f.size for f in files), field, label)
        check_disk(ws, field, label)
        for inc in files:
            att_id = "att" + secrets.token_hex(16)
            conn.execute(
                "INSERT INTO _gb_attachments (id, sha256, name, size, type, uploaded_by, uploaded_at, base, tbl, field) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (att_id, inc.sha256, inc.name, inc.size, inc.type, actor.key, now, base, table, field))
            path = blob_path(ws, inc.sha256)
            if path.exists():
                inc.path.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(inc.path, path)
            inc.kept = {"id": att_id, "name": inc.name, "size": inc.size, "type": inc.type}
            items.append(inc.kept)
    return items


def discard(ws: Workspace, files: list[Incoming]) -> None:
    """Forget files whose write failed: their incoming bytes, and a blob no upload names."""
    if not files:
        return
    with ws.storage.transaction() as conn:
        for inc in files:
            inc.path.unlink(missing_ok=True)
            if inc.kept is None:
                continue
            named = conn.execute("SELECT 1 FROM _gb_attachments WHERE sha256 = ? LIMIT 1", (inc.sha256,)).fetchone()
            if named is None:
                blob_path(ws, inc.sha256).unlink(missing_ok=True)
            inc.kept = None


def store(ws: Workspace, files: list[Incoming], *, actor: Actor, base: str, table: str, field: str,
          label: str, now: str) -> list[dict[str, Any]]:
    """`keep` in a transaction of its own; on a refusal nothing is left on disk."""
    try:
        return keep(ws, files, actor=actor, base=base, table=table, field=field, label=label, now=now)
    except BaseException:
        discard(ws, files)
        raise


# -- reading -----------------------------------------------------------------------------------
def find(ws: Workspace, att_id: str) -> dict[str, Any] | None:
    """The upload `att_id` ({id, sha256, name, size, type, uploaded_by}) or None."""
    row = ws.storage.conn.execute(
        "SELECT id, sha256, name, size, type, uploaded_by FROM _gb_attachments WHERE id = ?", (att_id,)).fetchone()
    if row is None:
        return None
    return dict(zip(("id", "sha256", "name", "size", "type", "uploaded_by"), row, strict=True))


def uploads_of(ws: Workspace, ids: list[str], *, uploader: str, base: str, table: str, field: str) -> list[dict[str, Any]]:
    """Those of `ids` that `uploader` uploaded for this field, as field value items, in order."""
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = ws.storage.conn.execute(
        f"SELECT id, name, size, type FROM _gb_attachments WHERE id IN ({marks}) AND uploaded_by = ? "  # noqa: S608
        "AND base = ? AND tbl = ? AND field = ?", [*ids, uploader, base, table, field]).fetchall()
    found = {r[0]: {"id": r[0], "name": r[1], "size": r[2], "type": r[3]} for r in rows}
    return [found[i] for i in ids if i in found]


def holders(ws: Workspace, base: str, table: str, field: str, att_id: str, *, limit: int = 50) -> list[str]:
    """Ids of live records of `base.table` whose files field `field` lists the upload `att_id`
    (at most `limit`; whether the reader may see them is the caller's to check)."""
    sql = q(table_name(base, table))
    column = f"{sql}.{q(field)}"
    rows = ws.storage.conn.execute(
        f"SELECT _id FROM {sql} WHERE _deleted_at IS NULL AND {column} LIKE ? "  # noqa: S608
        f"AND EXISTS (SELECT 1 FROM json_each({column}) WHERE json_extract(value, '$.id') = ?) LIMIT ?",
        (f"%{att_id}%", att_id, limit)).fetchall()
    return [r[0] for r in rows]


# -- orphans -----------------------------------------------------------------------------------
@dataclass
class Sweep:
    """What `remove_orphans` removed (or would remove, with `dry_run`)."""

    uploads: int = 0
    files: int = 0
    bytes: int = 0


def named_ids(ws: Workspace) -> set[str]:
    """Upload ids some record (live or in the trash), history entry or archived value names."""
    conn = ws.storage.conn
    names: set[str] = set()
    for base in ws.bases():
        for table in base.tables():
            keys = [k for k, f in table.fields.items() if f.files]
            if not keys:
                continue
            columns = ", ".join(q(k) for k in keys)
            for row in conn.execute(f"SELECT {columns} FROM {table.sql}"):  # noqa: S608
                for value in row:
                    names.update(str(a.get("id")) for a in load_json_list(value) if isinstance(a, dict))
    for old, new in ws.audit.texts_like("%att%"):
        names.update(_ATT_ID.findall(f"{old or ''} {new or ''}"))
    for (value,) in conn.execute("SELECT value FROM _gb_archive WHERE value LIKE '%att%'"):
        names.update(_ATT_ID.findall(value or ""))
    return names


def remove_orphans(ws: Workspace, *, grace: timedelta | None = None, dry_run: bool = False) -> Sweep:
    """Delete uploads nothing names, blobs no upload names and stale incoming files.

    Only what is older than `grace` (default: the workspace's `orphan_grace_hours`) goes: a
    new-record page that was refused keeps its files for the person to submit again. The
    records are first read without the write lock; only when something is to go is the
    reading done again under it (so no write can name an upload between the check and the
    removal), and writers wait for that sweep alone.
    """
    if grace is None:
        grace = timedelta(hours=Limits.of(ws).orphan_grace_hours)
    cutoff = utcnow_text(ws.now() - grace)
    cutoff_epoch = time.time() - grace.total_seconds()
    with ws.storage.reading():
        preview = _sweep(ws, cutoff, cutoff_epoch, dry_run=True)
    if dry_run or not (preview.uploads or preview.files):
        return preview
    with ws.storage.transaction():
        return _sweep(ws, cutoff, cutoff_epoch, dry_run=False)


def _sweep(ws: Workspace, cutoff: str, cutoff_epoch: float, *, dry_run: bool) -> Sweep:
    conn = ws.storage.conn
    sweep = Sweep()
    names = named_ids(ws)
    old = conn.execute("SELECT id, size FROM _gb_attachments WHERE uploaded_at <= ?", (cutoff,)).fetchall()
    gone = [(att, size) for att, size in old if att not in names]
    sweep.uploads = len(gone)
    if not dry_run:
        conn.executemany("DELETE FROM _gb_attachments WHERE id = ?", [(att,) for att, _ in gone])
    gone_ids = {att for att, _ in gone}
    named_blobs = {sha for att, sha in conn.execute("SELECT id, sha256 FROM _gb_attachments") if att not in gone_ids}
    stale = [p for p in _blob_files(ws) if p.name not in named_blobs and p.stat().st_mtime <= cutoff_epoch]
    stale += [p for p in incoming_dir(ws).iterdir() if p.is_file() and p.stat().st_mtime <= cutoff_epoch]
    for path in stale:
        sweep.files += 1
        sweep.bytes += path.stat().st_size
        if not dry_run:
            path.unlink(missing_ok=True)
    return sweep


def _blob_files(ws: Workspace) -> list[Path]:
    top = root(ws)
    if not top.exists():
        return []
    return [p for d in top.iterdir() if d.is_dir() and len(d.name) == 2 for p in d.iterdir()
            if p.is_file() and len(p.name) == 64]
