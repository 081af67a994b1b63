"""Backups of a workspace database: copy, check, encrypt, restore, prune and schedule.

`backup()` copies the database with SQLite's online backup API (engine.backup.snapshot), in
one step, so the copy is one consistent snapshot even while the server keeps writing (in
WAL mode writers are not blocked). The copy is written to a temporary file next to the
target, checked with `PRAGMA integrity_check`, optionally encrypted, flushed to disk and
only then renamed over the target: a killed backup leaves either no target or a complete
one, never half a file. What is asked of SQLite is engine.backup's; this module owns the files.

An encrypted backup is `MAGIC + scrypt log2(n) + salt + Fernet token`; the Fernet key is
derived from a passphrase with scrypt and the random salt stored in the header, so the
same passphrase gives a different key for every file.

On PostgreSQL `backup_pg()` / `restore_pg()` do the same with a `pg_dump` archive of the
workspace's schema (engine.backup_pg): written beside the target, checked, optionally encrypted,
renamed into place; restored in one transaction or not at all.

`restore()` decrypts and checks a backup in a temporary file beside the target database and
renames it into place only when it passes; a damaged or undecryptable file is refused with
a message and the current database is left untouched.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from engine import backup as database
from engine import backup_pg as pg_database
from engine.backup import integrity
from engine.errors import GridbaseError
from engine.store_pg import is_url

MAGIC = b"GRIDBASE-BACKUP-ENC1\n"
SQLITE_MAGIC = b"SQLite format 3\x00"
SALT_BYTES = 16
SCRYPT_LOG2_N = 15
DEFAULT_KEY_ENV = "GRIDBASE_BACKUP_KEY"
NAME_PATTERN = re.compile(r"^gridbase-(\d{8}-\d{6})\.db(\.enc)?$")
PARTIAL = ".partial"


class BackupError(GridbaseError):
    """A backup could not be made or a backup file cannot be restored."""


@dataclass(frozen=True)
class BackupResult:
    """What `backup()` wrote."""

    path: Path
    size: int
    encrypted: bool


# -- helpers -----------------------------------------------------------------------------------
def db_path_of(ws_or_db_path: Any) -> Path:
    """The database file of a Workspace, or the path itself."""
    storage = getattr(ws_or_db_path, "storage", None)
    if storage is not None:
        return Path(storage.path)
    return Path(ws_or_db_path)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # some file systems cannot fsync a directory
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _temp_beside(target: Path) -> Path:
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}{PARTIAL}")


def _remove_quietly(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def derive_key(passphrase: str, salt: bytes, log2_n: int = SCRYPT_LOG2_N) -> bytes:
    """A Fernet key from a passphrase and a salt (scrypt, r=8, p=1)."""
    kdf = Scrypt(salt=salt, length=32, n=2 ** log2_n, r=8, p=1)
    return base64.urlsafe_b64encode(kdf.derive(passphrase.encode("utf-8")))


def encrypt_bytes(data: bytes, passphrase: str) -> bytes:
    """The encrypted backup format: MAGIC, log2(n), salt, Fernet token."""
    if not passphrase:
        raise BackupError("the backup passphrase is empty")
    salt = secrets.token_bytes(SALT_BYTES)
    token = Fernet(derive_key(passphrase, salt)).encrypt(data)
    return MAGIC + bytes([SCRYPT_LOG2_N]) + salt + token


def decrypt_bytes(data: bytes, passphrase: str, *, name: str = "the backup") -> bytes:
    """Plain database bytes of an encrypted backup; BackupError for a wrong key or damage."""
    header = len(MAGIC) + 1 + SALT_BYTES
    if not data.startswith(MAGIC) or len(data) <= header:
        raise BackupError(f"{name} is not an encrypted Gridbase backup")
    log2_n = data[len(MAGIC)]
    if not 10 <= log2_n <= 20:
        raise BackupError(f"{name} has a damaged header; not restoring")
    salt = data[len(MAGIC) + 1:header]
    try:
        return Fernet(derive_key(passphrase, salt, log2_n)).decrypt(data[header:])
    except InvalidToken:
        raise BackupError(f"cannot decrypt {name}: the passphrase is wrong or the file is damaged; "
                          "nothing was restored") from None


def passphrase_from_env(key_env: str) -> str:
    """The passphrase stored in the environment variable `key_env`."""
    value = os.environ.get(key_env, "")
    if not value:
        raise BackupError(f"set the backup passphrase in the environment variable {key_env}")
    return value


# -- backup ------------------------------------------------------------------------------------
def backup(ws_or_db_path: Any, target: str | os.PathLike[str], *, encrypt_key: str | None = None) -> BackupResult:
    """Copy a live database to `target` consistently, check it, optionally encrypt it.

    `ws_or_db_path` is a Workspace or the path of its database. `encrypt_key` is the
    passphrase (not the variable's name); None writes a plain SQLite file.
    """
    source = db_path_of(ws_or_db_path)
    target = Path(target)
    if not source.is_file():
        raise BackupError(f"{source} does not exist; nothing to back up")
    with source.open("rb") as fh:
        if fh.read(16) != SQLITE_MAGIC:
            raise BackupError(f"{source} is not an SQLite database")
    for stale in target.parent.glob(f".{target.name}.*{PARTIAL}"):
        _remove_quietly(stale)  # left by a backup to the same file that was killed

    def make(copy: Path) -> None:
        database.snapshot(source, copy)
        status = integrity(copy)
        if status != "ok":
            raise BackupError(f"the copy of {source} failed its integrity check ({status}); no backup written")

    try:
        return _write_sealed(target, make, encrypt_key)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"cannot back up {source}: {exc}") from None


def _write_sealed(target: Path, make: Callable[[Path], None], encrypt_key: str | None) -> BackupResult:
    """`make(copy)` writes and checks a copy in a temporary file beside `target`; it is then
    encrypted with `encrypt_key` (when given), synced to disk and renamed over `target`, so a
    backup killed at any moment leaves the old file or the new one, never half of one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    copy = _temp_beside(target)
    sealed = _temp_beside(target) if encrypt_key is not None else None
    try:
        make(copy)
        final = copy
        if sealed is not None:
            assert encrypt_key is not None
            sealed.write_bytes(encrypt_bytes(copy.read_bytes(), encrypt_key))
            final = sealed
        _fsync_file(final)
        os.replace(final, target)
        _fsync_dir(target.parent)
    finally:
        _remove_quietly(copy, *_sidecars(copy))
        if sealed is not None:
            _remove_quietly(sealed)
    return BackupResult(target, target.stat().st_size, encrypt_key is not None)


def _read_backup(source: Path, key_env: str, passphrase: str | None) -> bytes:
    """The bytes of the backup file `source`, decrypted when it is an encrypted one."""
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    data = source.read_bytes()
    if data.startswith(MAGIC):
        data = decrypt_bytes(data, passphrase if passphrase is not None else passphrase_from_env(key_env),
                             name=str(source))
    return data


# -- restore -----------------------------------------------------------------------------------
def restore(source: str | os.PathLike[str], target_db: str | os.PathLike[str], *,
            key_env: str = DEFAULT_KEY_ENV, passphrase: str | None = None) -> Path:
    """Replace `target_db` with the backup `source` (the server must be stopped).

    An encrypted backup is opened with `passphrase`, or else the passphrase in the
    environment variable `key_env`. The backup is written to a temporary file beside the
    target and checked there; the target is replaced only by a sound copy.
    """
    source, target = Path(source), Path(target_db)
    data = _read_backup(source, key_env, passphrase)
    if not data.startswith(SQLITE_MAGIC):
        raise BackupError(f"{source} is not a Gridbase backup (neither an SQLite database nor an encrypted "
                          "backup); nothing was restored")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(target)
    try:
        tmp.write_bytes(data)
        try:
            check = database.check_copy(tmp)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is damaged ({exc}); nothing was restored") from None
        if check.status != "ok":
            raise BackupError(f"{source} is damaged (integrity check: {check.status}); nothing was restored")
        if not check.gridbase:
            raise BackupError(f"{source} is an SQLite database but not a Gridbase one; nothing was restored")
        _fsync_file(tmp)
        if target.exists():
            # Fold the old database's WAL into it so no stale WAL can be replayed onto the new file.
            database.fold_wal(target)
        _remove_quietly(*_sidecars(target))
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        _remove_quietly(tmp, *_sidecars(tmp))
    return target


# -- PostgreSQL ---------------------------------------------------------------------------------
def backup_pg(url: str, target: str | os.PathLike[str], *, encrypt_key: str | None = None) -> BackupResult:
    """pg_dump the workspace's schema at `url` to `target` (engine.backup_pg.dump: one consistent
    snapshot while the servers keep writing), optionally encrypted; the same temporary file,
    fsync and rename as a SQLite backup, so a killed backup leaves no half file."""
    target = Path(target)

    def make(copy: Path) -> None:
        pg_database.dump(url, copy)
        if not pg_database.is_dump(copy):
            raise BackupError(f"the dump of {target.name} does not read back as a Gridbase schema; no backup written")

    return _write_sealed(target, make, encrypt_key)


def restore_pg(source: str | os.PathLike[str], url: str, *, key_env: str = DEFAULT_KEY_ENV,
               passphrase: str | None = None) -> str:
    """Replace the workspace's schema at `url` by the pg_dump backup `source` (the servers must
    be stopped); return the schema's name. Decrypted and checked in a temporary file first;
    the schema is replaced in one transaction (engine.backup_pg.load) or left untouched."""
    source = Path(source)
    data = _read_backup(source, key_env, passphrase)
    if not data.startswith(pg_database.DUMP_MAGIC):
        raise BackupError(f"{source} is not a PostgreSQL backup of Gridbase (neither a pg_dump archive nor an "
                          "encrypted one); nothing was restored")
    tmp = _temp_beside(source.resolve())
    try:
        tmp.write_bytes(data)
        if not pg_database.is_dump(tmp):
            raise BackupError(f"{source} is a pg_dump archive but not of a Gridbase workspace; nothing was restored")
        return pg_database.load(url, tmp)
    finally:
        _remove_quietly(tmp)


# -- retention and schedule --------------------------------------------------------------------
def backup_name(moment: datetime, *, encrypted: bool) -> str:
    """`gridbase-YYYYmmdd-HHMMSS.db[.enc]` in UTC: names sort by time."""
    return f"gridbase-{moment.astimezone(UTC).strftime('%Y%m%d-%H%M%S')}.db" + (".enc" if encrypted else "")


def _taken_at(path: Path) -> datetime:
    match = NAME_PATTERN.match(path.name)
    assert match is not None
    return datetime.strptime(match.group(1), "%Y%m%d-%H%M%S").replace(tzinfo=UTC)


def prune(folder: str | os.PathLike[str], *, keep_days: int | None = None, keep: int | None = None,
          now: datetime | None = None) -> list[Path]:
    """Delete old backups made by `schedule_daily`; return what was deleted.

    A backup survives when it is one of the newest `keep` or younger than `keep_days`
    days, so a long pause in backups never deletes the last good ones; with neither limit
    nothing is deleted. Leftover temporary files of killed backups (`.*.partial`) are
    removed too.
    Only files named like `gridbase-YYYYmmdd-HHMMSS.db[.enc]` are touched; a folder that does
    not exist (yet) has nothing to prune.
    """
    folder = Path(folder)
    now = now or datetime.now(UTC)
    deleted: list[Path] = []
    if not folder.is_dir():
        return deleted  # no backup was ever written there
    for stale in folder.glob(f".*{PARTIAL}"):
        _remove_quietly(stale)
        deleted.append(stale)
    if keep is None and keep_days is None:
        return deleted
    found = sorted((p for p in folder.iterdir() if p.is_file() and NAME_PATTERN.match(p.name)),
                   key=_taken_at, reverse=True)
    for rank, path in enumerate(found):
        by_count = keep is not None and rank < keep
        by_age = keep_days is not None and now - _taken_at(path) <= timedelta(days=keep_days)
        if not (by_count or by_age):
            _remove_quietly(path)
            deleted.append(path)
    return deleted


def daily_job(db_path: str | os.PathLike[str], folder: str | os.PathLike[str], *, keep: int = 14,
              keep_days: int | None = None, key_env: str | None = None,
              clock: Callable[[], datetime] | None = None) -> Path:
    """One scheduled backup: write `folder/gridbase-<time>.db[.enc]`, then prune. `db_path` may
    be a postgresql:// URL: the file is then a pg_dump archive of the workspace's schema."""
    moment = (clock or (lambda: datetime.now(UTC)))()
    passphrase = passphrase_from_env(key_env) if key_env else None
    target = Path(folder) / backup_name(moment, encrypted=passphrase is not None)
    if is_url(str(db_path)):
        backup_pg(str(db_path), target, encrypt_key=passphrase)
    else:
        backup(db_path, target, encrypt_key=passphrase)
    prune(folder, keep=keep, keep_days=keep_days, now=moment)
    return target


def schedule_daily(ws: Any, folder: str | os.PathLike[str], hour: int = 2, keep: int = 14, *,
                   scheduler: Any = None, key_env: str | None = None) -> Any:
    """Add a daily backup at `hour` (workspace time zone) to an APScheduler scheduler.

    Returns the APScheduler Job; its `func` (with `args`/`kwargs`) makes one backup, which is
    how tests run it. Without `scheduler` a new, not yet started BackgroundScheduler in the
    workspace's time zone holds the job; start it with `job._scheduler.start()`.
    """
    if not 0 <= hour <= 23:
        raise BackupError(f"hour must be 0-23, not {hour}")
    tz = getattr(ws, "tz", None) or UTC
    if scheduler is None:
        scheduler = BackgroundScheduler(timezone=tz)
    Path(folder).mkdir(parents=True, exist_ok=True)
    return scheduler.add_job(daily_job, CronTrigger(hour=hour, minute=0, timezone=tz),
                             args=[str(getattr(getattr(ws, "storage", None), "database", None) or db_path_of(ws)),
                                   str(folder)], kwargs={"keep": keep, "key_env": key_env},
                             id="gridbase-backup", name="daily backup", replace_existing=True,
                             misfire_grace_time=3600, coalesce=True, max_instances=1)
