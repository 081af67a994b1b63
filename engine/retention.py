"""Retention of the audit and access logs: archive the entries older than a period, then purge them.

This module decides when entries of the write log (engine.audit, `Workspace.audit`) and the
read log (engine.accesslog, `Workspace.access_log`) are archived and removed; each log's owner
reads the due entries and removes them by id when asked, and nothing else deletes from them.

Words: a log's *period* comes from `retention:` in workspace.yaml (`engine.model.Retention`);
its *cutoff* is now minus the period, and the entries written before it are *due*. An
*archive* is a gzip-compressed JSON Lines file holding the due entries, one JSON object per
entry with every column, named `<log>-<time of the run>.jsonl.gz`, beside a `.sha256` file
in `sha256sum` format.

One pass, for each log that has a period: read the due entries (every outbox event carries its
own values, so no pending automation needs one), write the archive to a temporary file, flush it to disk, read it back and check its count
and checksum, move it into place, and only then delete exactly the archived entries (by id),
DELETE_CHUNK at a time in short transactions so that other writers are not held up. The
first of them also appends one audit entry that says what was archived: actor `system`,
table `_gb.<log>`, the archive's file name as record, action `archive`, and as "fields"
count, first, last, cutoff, archive and sha256. A dry run reads and reports and writes
nothing. An archive is never overwritten; entries left by a pass stopped part way are in its
archive and are archived again, with an entry of their own, by the next pass.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import hl7intake, mailintake
from engine.errors import GridbaseError
from engine.model import Period

if TYPE_CHECKING:
    from engine.workspace import Workspace

# log name in workspace.yaml -> its owner: a Workspace attribute (engine.audit, engine.accesslog), or
# the owner's log class made for the workspace (engine.hl7intake, engine.mailintake)
LOGS: dict[str, Any] = {"audit": "audit", "access_log": "access_log", "hl7_messages": hl7intake.MessageLog,
                        "mail_failed": mailintake.FailedLog}


def _owner(ws: Workspace, log: str) -> Any:
    owner = LOGS[log]
    return getattr(ws, owner) if isinstance(owner, str) else owner(ws)
# Entries removed per transaction (about 50 ms of holding the write lock), and the pause after each.
DELETE_CHUNK = 2000
PAUSE = 0.005


class ArchiveFailed(GridbaseError):
    """An archive could not be written or did not read back as written; nothing was removed."""


@dataclass
class Archived:
    """What one pass did (or, in a dry run, would do) to one log."""

    log: str
    period: Period
    cutoff: str
    count: int
    first: str | None = None
    last: str | None = None
    path: Path | None = None
    sha256: str | None = None

    def summary(self) -> str:
        if not self.count:
            return f"{self.log}: nothing before {self.cutoff} (kept {self.period})"
        text = f"{self.log}: {self.count} entries from {self.first} to {self.last} (before {self.cutoff}, kept {self.period})"
        if self.path is not None:
            text += f" archived to {self.path} (sha256 {self.sha256}) and removed"
        return text


def _stamp(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}Z"  # %Y would write year 1 as "1"


def archive_dir(ws: Workspace) -> Path:
    """The folder archives go to (`retention.archive_dir`, relative to the workspace folder)."""
    folder = Path(ws.config.retention.archive_dir)
    return folder if folder.is_absolute() else Path(ws.config.root) / folder


def run(ws: Workspace, *, dry_run: bool = False, now: datetime | None = None) -> list[Archived]:
    """Archive and remove every log's due entries (see the module's docstring)."""
    moment = now or ws.now()
    done = []
    for log in LOGS:
        period: Period | None = getattr(ws.config.retention, log)
        if period is not None:
            done.append(_one(ws, log, period, _stamp(period.before(moment)), moment, dry_run))
    return done


def _one(ws: Workspace, log: str, period: Period, cutoff: str, moment: datetime, dry_run: bool) -> Archived:
    owner = _owner(ws, log)
    result = Archived(log, period, cutoff, 0)
    result.count, result.first, result.last = owner.due(cutoff)
    if dry_run or not result.count:
        return result
    path, ids, digest = _write_archive(ws, owner, log, cutoff, moment)  # ids: each entry's key
    result.path, result.sha256, result.count = path, digest, len(ids)
    actor = ws.actor("system")
    for start in range(0, len(ids), DELETE_CHUNK):
        with ws.storage.transaction():
            if start == 0:
                ws.audit.record(actor, "_gb", log, path.name, "archive", {
                    "count": (None, len(ids)), "first": (None, result.first), "last": (None, result.last),
                    "cutoff": (None, cutoff), "archive": (None, str(path)), "sha256": (None, digest)})
            owner.remove(ids[start:start + DELETE_CHUNK])
        time.sleep(PAUSE)  # let waiting writers in between chunks
    return result


def _write_archive(ws: Workspace, owner: Any, log: str, cutoff: str, moment: datetime) -> tuple[Path, list[Any], str]:
    """Write the due entries to a new archive; (its path, the ids written, its sha256)."""
    columns = owner.COLUMNS
    folder = archive_dir(ws)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{log}-{moment.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    path = folder / f"{name}.jsonl.gz"
    n = 1
    while path.exists() or path.with_name(path.name + ".sha256").exists():
        n += 1
        path = folder / f"{name}-{n}.jsonl.gz"
    partial = path.with_name(path.name + ".partial")
    ids: list[Any] = []
    try:
        with open(partial, "wb") as raw:
            with gzip.GzipFile(filename=path.name[:-3], mode="wb", fileobj=raw, mtime=0) as gz:
                for values in owner.due_rows(cutoff):
                    ids.append(values[0])  # the owner's key: an id, or a control id
                    gz.write((json.dumps(dict(zip(columns, values, strict=True)), ensure_ascii=False) + "\n").encode())
            raw.flush()
            os.fsync(raw.fileno())
        digest = _verify(partial, ids, columns[0])
        os.replace(partial, path)
        path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n", encoding="utf-8")
        _fsync_dir(folder)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ArchiveFailed(code="archive_write_failed",
                            params={"log": log, "folder": folder, "problem": exc.strerror or exc}) from None
    return path, ids, digest


def _verify(path: Path, ids: list[Any], key: str = "id") -> str:
    """The archive's sha256, after reading it back: every entry there, in order."""
    digest = hashlib.sha256()
    with open(path, "rb") as raw:
        for block in iter(lambda: raw.read(1 << 20), b""):
            digest.update(block)
    read = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            read.append(json.loads(line)[key])
    if read != ids:
        path.unlink(missing_ok=True)
        raise ArchiveFailed(code="archive_unreadable", params={"file": path.name})
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_archive(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The entries of an archive, after checking it against its .sha256 file."""
    path = Path(path)
    expected = path.with_name(path.name + ".sha256").read_text(encoding="utf-8").split()[0]
    if hashlib.sha256(path.read_bytes()).hexdigest() != expected:
        raise ArchiveFailed(code="archive_checksum", params={"file": path.name})
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]
