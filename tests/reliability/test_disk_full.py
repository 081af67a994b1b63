"""A full disk during writes: a clear error, nothing half-written, every acknowledged write kept."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_support import integrity, make_log_workspace

from engine import Workspace
from engine.errors import GridbaseError


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), text=True, capture_output=True, timeout=60)


class SmallDisk:
    """A tiny file system: tmpfs, else a loop-mounted ext4 image; `grow()` frees space."""

    def __init__(self, path: Path, kind: str, image: Path | None = None) -> None:
        self.path, self.kind, self.image = path, kind, image

    def grow(self) -> None:
        if self.kind == "tmpfs":
            done = _run("mount", "-o", "remount,size=16m", str(self.path))
            assert done.returncode == 0, done.stderr
        else:
            for spare in self.path.glob("spare*"):
                spare.unlink()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    if shutil.which("mount") is None:
        pytest.skip("no `mount` command: cannot make a small file system")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    tried = _run("mount", "-t", "tmpfs", "-o", "size=3m", f"gbfull{uuid.uuid4().hex[:6]}", str(mnt))
    disk: SmallDisk | None = None
    if tried.returncode == 0:
        disk = SmallDisk(mnt, "tmpfs")
    else:
        image = tmp_path / "disk.img"
        with image.open("wb") as fh:
            fh.truncate(8 * 1024 * 1024)
        made = _run("mkfs.ext4", "-q", "-F", str(image))
        loop = _run("mount", "-o", "loop", str(image), str(mnt)) if made.returncode == 0 else made
        if loop.returncode != 0:
            pytest.skip(f"cannot mount a small file system (tmpfs: {tried.stderr.strip()}; loop: {loop.stderr.strip()})")
        disk = SmallDisk(mnt, "loop", image)
        # Leave ~3 MB free; `grow()` deletes the spare file.
        (mnt / "spare").write_bytes(b"\0" * 3 * 1024 * 1024)
    try:
        yield disk
    finally:
        done = _run("umount", str(mnt))
        if done.returncode != 0:
            _run("umount", "-l", str(mnt))


@pytest.mark.sqlite_only("the SQLite file on a full filesystem (SQLITE_FULL); a PostgreSQL server's disk is its own")
def test_full_disk_gives_a_clear_error_and_keeps_acknowledged_writes(tmp_path: Path, small_disk: SmallDisk) -> None:
    root = make_log_workspace(tmp_path / "ws")
    db = small_disk.path / "gridbase.db"
    ws = Workspace.open(root, db=db)
    ws.apply()
    table = ws.base("log").table("entries")
    acknowledged: dict[str, int] = {}
    failure: BaseException | None = None
    for i in range(100_000):
        try:
            rec = table.create({"title": f"entry {i}", "n": i, "note": f"{i:06d} " + "病历" * 600}, actor="admin")
        except Exception as exc:  # noqa: BLE001 - the test inspects whatever the engine raised
            failure = exc
            break
        acknowledged[rec["id"]] = i
    assert failure is not None, "the disk never filled up"
    assert len(acknowledged) > 20
    # The record service names the problem in words a person understands.
    assert isinstance(failure, GridbaseError), f"raw {type(failure).__name__}: {failure}"
    assert "disk is full" in str(failure) and "nothing from this write was stored" in str(failure)
    # The workspace is not wedged: a second attempt fails the same clean way, reads still work.
    with pytest.raises(GridbaseError, match="disk is full"):
        table.create({"title": "still full", "note": "病历" * 600}, actor="admin")
    assert table.count(actor="admin") == len(acknowledged)
    ws.close()
    assert integrity(db) == "ok"
    # Free space, reopen: everything acknowledged is there, nothing unacknowledged, writes work again.
    small_disk.grow()
    ws = Workspace.open(root, db=db)
    try:
        table = ws.base("log").table("entries")
        rows = table.query(actor="admin", limit=len(acknowledged) + 10).records
        stored = {r["id"]: r["fields"].get("n") for r in rows}
        assert stored == acknowledged
        table.create({"title": "after space was freed"}, actor="admin")
        assert table.count(actor="admin") == len(acknowledged) + 1
        audited = {r[0] for r in ws.storage.conn.execute("SELECT record FROM _gb_audit WHERE action = 'create'")}
        assert set(acknowledged) <= audited and len(audited) == len(acknowledged) + 1
    finally:
        ws.close()
    assert integrity(db) == "ok"
