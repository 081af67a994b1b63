"""Backup and restore: consistent online copies, encryption, refusal of bad files, retention,
the daily job, and a backup killed with SIGKILL."""

from __future__ import annotations

import os
import random
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from reliability_support import (
    ENV,
    fill_rows,
    gridbase,
    integrity,
    kill_when,
    make_log_workspace,
    popen_gridbase,
    scalar,
)

from engine import Workspace
from gridbase import backup as gb


@pytest.fixture
def log_ws(tmp_path: Path) -> tuple[Path, Path]:
    """A workspace folder with the log base applied; returns (folder, database)."""
    root = make_log_workspace(tmp_path / "ws")
    db = root / "data" / "gridbase.db"
    ws = Workspace.open(root)
    ws.apply()
    table = ws.base("log").table("entries")
    for i in range(20):
        table.create({"title": f"entry {i}", "n": i}, actor="admin")
    ws.close()
    return root, db


@pytest.mark.sqlite_only("SQLite's file backup (the online backup API) and restore; test_backup_pg.py covers pg_dump")
def test_backup_while_writing_is_consistent_and_restores(tmp_path: Path, log_ws: tuple[Path, Path]) -> None:
    root, db = log_ws
    ws = Workspace.open(root)
    table = ws.base("log").table("entries")
    acknowledged: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        i = 1000
        while not stop.is_set():
            acknowledged.append(table.create({"title": f"live {i}", "n": i}, actor="admin")["id"])
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(acknowledged) < 30:
            threading.Event().wait(0.01)
        before = list(acknowledged)
        result = gb.backup(ws, tmp_path / "b" / "copy.db", encrypt_key=None)
    finally:
        stop.set()
        thread.join()
        ws.close()
    assert integrity(result.path) == "ok"
    conn = sqlite3.connect(result.path)
    try:
        ids = {r[0] for r in conn.execute("SELECT _id FROM log__entries")}
        audited = {r[0] for r in conn.execute("SELECT record FROM _gb_audit WHERE action = 'create'")}
    finally:
        conn.close()
    assert set(before) <= ids
    assert ids == audited  # one snapshot: no row without its audit entry or the reverse
    restored = tmp_path / "restored.db"
    gb.restore(result.path, restored)
    assert integrity(restored) == "ok"
    assert scalar(restored, "SELECT count(*) FROM log__entries") == len(ids)
    assert not list((tmp_path / "b").glob(".*partial"))


@pytest.mark.sqlite_only("SQLite's file backup (the online backup API) and restore; test_backup_pg.py covers pg_dump")
def test_cli_encrypted_round_trip_and_refusals(tmp_path: Path, log_ws: tuple[Path, Path]) -> None:
    root, db = log_ws
    target = tmp_path / "backups" / "night.db.enc"
    env = {**ENV, "MY_KEY": "correct horse battery staple"}
    done = gridbase("backup", str(root), "--to", str(target), "--encrypt", "--key-env", "MY_KEY", env=env)
    assert done.returncode == 0, done.stderr
    assert "encrypted backup written" in done.stdout
    raw = target.read_bytes()
    assert raw.startswith(gb.MAGIC) and b"SQLite format 3" not in raw and b"entry 1" not in raw

    # No passphrase in the environment: a clear message, no file.
    missing = gridbase("backup", str(root), "--to", str(tmp_path / "x.enc"), "--encrypt", "--key-env", "NOPE_KEY")
    assert missing.returncode == 1 and "NOPE_KEY" in missing.stderr and not (tmp_path / "x.enc").exists()

    before = db.read_bytes()
    wrong = gridbase("restore", str(root), "--from", str(target), "--key-env", "MY_KEY", env={**ENV, "MY_KEY": "wrong"})
    assert wrong.returncode == 1
    assert "cannot decrypt" in wrong.stderr and "passphrase is wrong" in wrong.stderr
    assert db.read_bytes() == before

    damaged = tmp_path / "damaged.enc"
    damaged.write_bytes(raw[:-40] + bytes(b ^ 0xFF for b in raw[-40:]))
    bad = gridbase("restore", str(root), "--from", str(damaged), "--key-env", "MY_KEY", env=env)
    assert bad.returncode == 1 and "damaged" in bad.stderr
    assert db.read_bytes() == before

    # A record written after the backup disappears after the restore; the backup's rows come back.
    ws = Workspace.open(root)
    ws.base("log").table("entries").create({"title": "after backup"}, actor="admin")
    ws.close()
    ok = gridbase("restore", str(root), "--from", str(target), "--key-env", "MY_KEY", env=env)
    assert ok.returncode == 0, ok.stderr
    assert integrity(db) == "ok"
    assert scalar(db, "SELECT count(*) FROM log__entries") == 20
    assert scalar(db, "SELECT count(*) FROM log__entries WHERE title = 'after backup'") == 0
    assert not [p for p in db.parent.iterdir() if p.name.endswith(".partial")]
    ws = Workspace.open(root)  # the restored database opens and takes writes
    ws.base("log").table("entries").create({"title": "after restore"}, actor="admin")
    ws.close()
    assert integrity(db) == "ok"


@pytest.mark.sqlite_only("restoring damaged SQLite files over a SQLite database; test_backup_pg.py covers pg_restore")
@pytest.mark.parametrize("content", [b"", b"hello, not a database\n", b"SQLite format 3\x00" + b"\x00" * 200,
                                     "truncated"])
def test_restore_refuses_damaged_files_and_keeps_the_database(tmp_path: Path, log_ws: tuple[Path, Path],
                                                                content: bytes | str) -> None:
    root, db = log_ws
    source = tmp_path / "bad.db"
    if content == "truncated":
        good = gb.backup(db, tmp_path / "good.db", encrypt_key=None).path
        data = good.read_bytes()
        source.write_bytes(data[: len(data) // 2])
    else:
        assert isinstance(content, bytes)
        source.write_bytes(content)
    before = db.read_bytes()
    with pytest.raises(gb.BackupError, match="nothing was restored|damaged|not a Gridbase backup"):
        gb.restore(source, db)
    assert db.read_bytes() == before
    assert integrity(db) == "ok"
    assert not [p for p in db.parent.iterdir() if p.name.endswith(".partial")]


@pytest.mark.sqlite_only("restoring a foreign SQLite file over a SQLite database; test_backup_pg.py covers pg_restore")
def test_restore_refuses_a_foreign_sqlite_file(tmp_path: Path, log_ws: tuple[Path, Path]) -> None:
    root, db = log_ws
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(gb.BackupError, match="not a Gridbase one"):
        gb.restore(other, db)
    result = gridbase("restore", str(root), "--from", str(tmp_path / "absent.db"))
    assert result.returncode == 1 and "does not exist" in result.stderr


def test_prune_keeps_newest_and_recent(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    now = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    names = [gb.backup_name(now - timedelta(days=d), encrypted=d % 2 == 1) for d in range(20)]
    for name in names:
        (folder / name).write_bytes(b"x")
    (folder / "notes.txt").write_text("keep me")
    (folder / ".gridbase-20260301-020000.db.abcd1234.partial").write_bytes(b"half")
    deleted = gb.prune(folder, keep=5, keep_days=7, now=now)
    left = sorted(p.name for p in folder.iterdir())
    assert "notes.txt" in left
    assert {n for n in names[:8]} <= set(left)  # 0..7 days old survive by age
    assert not set(names[8:]) & set(left)
    assert len(deleted) == 13
    gb.prune(folder, keep=3, now=now)
    assert sorted(p.name for p in folder.iterdir() if p.name != "notes.txt") == sorted(names[:3])
    assert gb.prune(folder, now=now) == []  # no limits: nothing is deleted
    assert gb.prune(tmp_path / "never-written", keep=3, now=now) == []  # no folder yet: nothing to prune


@pytest.mark.sqlite_only("the daily job's SQLite file backups; test_backup_pg.py covers pg_dump")
def test_schedule_daily_job_writes_and_prunes(tmp_path: Path, log_ws: tuple[Path, Path],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    root, db = log_ws
    ws = Workspace.open(root)
    try:
        folder = tmp_path / "nightly"
        job = gb.schedule_daily(ws, folder, hour=3, keep=2)
        assert job.id == "gridbase-backup"
        assert "hour='3'" in str(job.trigger)
        written = []
        for day in range(4):
            moment = datetime(2026, 3, 1 + day, 3, tzinfo=UTC)
            written.append(job.func(*job.args, **{**job.kwargs, "clock": lambda m=moment: m}))
        assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in written[-2:])
        assert integrity(written[-1]) == "ok"
        monkeypatch.setenv("NIGHT_KEY", "s3cret-passphrase")
        enc_job = gb.schedule_daily(ws, folder, keep=10, key_env="NIGHT_KEY")
        made = enc_job.func(*enc_job.args, **enc_job.kwargs)
        assert made.name.endswith(".db.enc") and made.read_bytes().startswith(gb.MAGIC)
        back = gb.restore(made, tmp_path / "r.db", key_env="NIGHT_KEY")
        assert scalar(back, "SELECT count(*) FROM log__entries") == 20
    finally:
        ws.close()


@pytest.mark.sqlite_only("a SQLite file backup killed midway leaves no half file")
def test_sigkill_during_backup_leaves_no_half_file(tmp_path: Path, log_ws: tuple[Path, Path]) -> None:
    root, db = log_ws
    fill_rows(db, "log__entries", 60_000, pad=300)
    assert db.stat().st_size > 15_000_000
    source_rows = scalar(db, "SELECT count(*) FROM log__entries")
    rng = random.Random(7)
    outcomes = {"absent": 0, "complete": 0}
    env = {**ENV, "BK": "passphrase for the kill test"}
    for attempt in range(4):  # two plain, two encrypted
        target = tmp_path / "out" / f"kill{attempt}.db"
        args = ["backup", str(root), "--to", str(target)] + (["--encrypt", "--key-env", "BK"] if attempt % 2 else [])
        proc = popen_gridbase(*args, env=env)
        # Count the delay from the moment the copy begins (its hidden `.partial` file appears),
        # so the kill lands during the backup however long the command takes to start.
        delay = rng.uniform(0.0, 0.6)
        began: list[datetime] = []

        def copying(target: Path = target, delay: float = delay, began: list[datetime] = began) -> bool:
            if not began:
                if any(target.parent.glob(f".{target.name}.*.partial")):
                    began.append(datetime.now(UTC))
                return False
            return (datetime.now(UTC) - began[0]).total_seconds() >= delay
        kill_when(proc, copying)
        if target.exists():
            restored = gb.restore(target, tmp_path / f"check{attempt}.db", passphrase=env["BK"])
            assert integrity(restored) == "ok"
            assert scalar(restored, "SELECT count(*) FROM log__entries") == source_rows
            outcomes["complete"] += 1
        else:
            outcomes["absent"] += 1
        assert integrity(db) == "ok"
        assert scalar(db, "SELECT count(*) FROM log__entries") == source_rows
    # Leftover temporaries are hidden `.partial` files; the next prune removes them.
    gb.prune(tmp_path / "out")
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".partial")]
    assert outcomes["absent"] >= 1, outcomes  # at least one kill landed mid-backup
    done = gridbase("backup", str(root), "--to", str(tmp_path / "out" / "final.db"))
    assert done.returncode == 0, done.stderr
    assert os.path.getsize(tmp_path / "out" / "final.db") > 0
