"""Log retention: `retention:` in workspace.yaml archives (export, then remove) audit and
access log entries older than their period, and records that it did.

Before it, both logs grew for ever and there was no `retention:` key at all."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine import Workspace
from engine.errors import ConfigError
from engine.loader import load_workspace
from engine.model import Period
from engine.retention import read_archive, run
from gridbase.cli import main
from tests_support import WORKSPACE_YAML, write_workspace

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

RETENTION = """\
retention:
  audit: 2y
  access_log: 1y
  archive_dir: archive
"""

BASE = """\
base: clinic
name: Clinic
tables:
  patients:
    name: Patients
    primary: name
    sensitive: true
    fields:
      name: {type: text, name: Name}
      note: {type: text, name: Note}
roles:
  handler: {patients: {access: read}}
"""

# Relative to the real time, which the command line (a workspace of its own) runs at.
NOW = datetime.now(UTC).replace(month=1, day=10, hour=3, minute=0, second=0, microsecond=0)
OLD = NOW.replace(year=NOW.year - 7, month=3, day=1, hour=8)
RECENT = NOW - timedelta(days=60)
AUDIT_CUTOFF = NOW.replace(year=NOW.year - 2).strftime("%Y-%m-%dT%H:%M:%SZ")
READS_CUTOFF = NOW.replace(year=NOW.year - 1).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rows(ws: Workspace, table: str) -> list[dict[str, Any]]:
    cur = ws.storage.conn.execute(f"SELECT * FROM {table} ORDER BY id")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@pytest.fixture
def clinic(make_workspace: Callable[..., Workspace]) -> Workspace:
    """Writes and reads seven years ago and two months ago, the clock then set to 10 January."""
    ws = make_workspace({"clinic": BASE}, WORKSPACE_YAML + RETENTION)
    patients = ws.base("clinic").table("patients")
    ws.clock = lambda: OLD
    old = patients.create({"name": "张三"}, actor="admin")
    patients.update(old["id"], {"note": "初诊"}, actor="admin")
    patients.get(old["id"], actor="boss")  # a read of a sensitive table: an access-log entry
    ws.clock = lambda: RECENT
    new = patients.create({"name": "李四"}, actor="admin")
    patients.get(new["id"], actor="boss")
    ws.clock = lambda: NOW
    return ws


def test_retention_archives_and_removes_exactly_the_old_entries(clinic: Workspace) -> None:
    ws = clinic
    audit_before, reads_before = _rows(ws, "_gb_audit"), _rows(ws, "_gb_access_log")
    old_audit = [r for r in audit_before if r["at"] < AUDIT_CUTOFF]
    old_reads = [r for r in reads_before if r["at"] < READS_CUTOFF]
    assert len(old_audit) == 2  # the creation and the change
    assert old_reads and {r["actor"] for r in old_reads} >= {"boss"} and len(old_reads) < len(reads_before)

    done = {d.log: d for d in run(ws)}

    assert done["audit"].cutoff == AUDIT_CUTOFF and done["audit"].count == 2
    assert done["access_log"].cutoff == READS_CUTOFF and done["access_log"].count == len(old_reads)
    # The archives hold exactly the old entries, every column, and match their checksums.
    for log, old in (("audit", old_audit), ("access_log", old_reads)):
        path = done[log].path
        assert path is not None and path.parent == Path(ws.config.root) / "archive"
        assert read_archive(path) == old
        sha = path.with_name(path.name + ".sha256").read_text(encoding="utf-8")
        assert sha == f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n"
        assert gzip.decompress(path.read_bytes()).decode("utf-8").count("\n") == len(old)
    # The log keeps every newer entry, and gains one entry per archive saying what was done.
    audit_after = _rows(ws, "_gb_audit")
    kept = [r for r in audit_after if r["action"] != "archive"]
    assert kept == [r for r in audit_before if r not in old_audit]
    assert _rows(ws, "_gb_access_log") == [r for r in reads_before if r not in old_reads]
    said = [r for r in audit_after if r["action"] == "archive"]
    assert {r["actor"] for r in said} == {"system"} and {r["base"] for r in said} == {"_gb"}
    fields = {(r["tbl"], r["field"]): json.loads(r["new"]) for r in said}
    assert fields[("audit", "count")] == 2 and fields[("access_log", "count")] == len(old_reads)
    assert fields[("audit", "first")] == OLD.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert fields[("audit", "archive")] == str(done["audit"].path)
    assert fields[("access_log", "sha256")] == done["access_log"].sha256
    # The next pass has nothing to do.
    assert all(d.count == 0 for d in run(ws))


def test_dry_run_changes_nothing(clinic: Workspace, tmp_path: Path) -> None:
    ws = clinic
    audit_before, reads_before = _rows(ws, "_gb_audit"), _rows(ws, "_gb_access_log")
    done = {d.log: d for d in run(ws, dry_run=True)}
    assert done["audit"].count == 2 and done["access_log"].count == len([r for r in reads_before if r["at"] < READS_CUTOFF])
    assert done["audit"].path is None
    assert _rows(ws, "_gb_audit") == audit_before and _rows(ws, "_gb_access_log") == reads_before
    assert not (Path(ws.config.root) / "archive").exists()
    # The longest period there is reaches back before year 1: nothing is due.
    ws.config.retention.audit = Period.parse("9999y")
    assert [d.count for d in run(ws) if d.log == "audit"] == [0]


def test_the_command_line_archives_and_dry_runs(clinic: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    root, db = clinic.config.root, str(clinic.storage.database)
    assert main(["retention", root, "--db", db, "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "would archive audit: 2 entries" in text and "nothing was changed" in text
    assert not (Path(root) / "archive").exists()
    # The real pass runs at the real time: the old entries go, the recent ones stay.
    assert main(["retention", root, "--db", db]) == 0
    text = capsys.readouterr().out
    assert f"audit: 2 entries from {OLD.strftime('%Y-%m-%dT%H:%M:%SZ')}" in text and "access_log: " in text and "archived to" in text
    assert len(list((Path(root) / "archive").glob("*.jsonl.gz"))) == 2


def test_bad_retention_yaml_names_file_line_and_column(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws", {}, WORKSPACE_YAML + "retention:\n  audit: 6 years\n  acess_log: 3y\n")
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    text = str(caught.value)
    assert "ws/workspace.yaml:18:10: retention/audit: '6 years' is not in the expected form" in text
    assert "ws/workspace.yaml:19:3: unknown key 'acess_log' in retention" in text and "access_log" in text
    root = write_workspace(tmp_path / "ws2", {}, WORKSPACE_YAML + "retention:\n  access_log: 30d\n")
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    assert "ws2/workspace.yaml:18:15: retention/access_log: 30d is shorter than 6m" in str(caught.value)
    root = write_workspace(tmp_path / "ws3", {}, WORKSPACE_YAML + "retention: {audit: 30y, access_log: 26w}\n")
    kept = load_workspace(root).retention
    assert (str(kept.audit), str(kept.access_log), kept.archive_dir) == ("30y", "26w", "data/archive")


def test_the_scheduler_runs_it_daily(clinic: Workspace) -> None:
    from automations.scheduler import Scheduler

    scheduler = Scheduler(clinic)
    scheduler.start()
    try:
        job = scheduler._aps.get_job("gridbase-retention")
        assert job is not None
        local = job.next_run_time.astimezone(clinic.tz)
        assert (local.hour, local.minute) == (3, 17)
        job.func()  # what the job does at 03:17
    finally:
        scheduler.shutdown()
    assert [r["at"] for r in _rows(clinic, "_gb_audit") if r["at"] < AUDIT_CUTOFF] == []
    assert len(list((Path(clinic.config.root) / "archive").glob("audit-*.jsonl.gz"))) == 1
