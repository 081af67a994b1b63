"""A big import does not stop other writers, stays all-or-nothing, and keeps to role limits.

(An import used to hold the single write lock for the whole file: a sign-in waited 82 s.)
"""

from __future__ import annotations

import csv
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine import PermissionDenied, Workspace
from engine import imports as staged
from engine.transfer import import_file
from tests_support import ROOT

ROWS = 80_000  # a few seconds of writing on a loaded 2-core machine

WORKSPACE = """\
workspace: imp
name: Imports
timezone: Asia/Shanghai
locale: en
roles:
  admin: {name: Admin, admin: true}
  staff: {name: Staff}
  clerk: {name: Clerk, import: {max_rows: 50}}
people:
  admin: {name: Admin, roles: [admin]}
  wang: {name: 王芳, roles: [staff]}
  li: {name: 李四, roles: [clerk]}
"""
BASE = """\
base: desk
name: Desk
tables:
  visits:
    name: Visits
    primary: title
    fields:
      title: {type: text, name: Title, required: true}
      amount: {type: number, name: Amount}
      status: {type: single_select, name: Status, options: [open, closed]}
      day: {type: date, name: Day}
      patient: {type: link, name: Patient, table: patients, multiple: false, inverse: visits, inverse_name: Visits}
  patients:
    name: Patients
    primary: name
    fields:
      name: {type: text, name: Name}
      visits_n: {type: rollup, name: Visit count, link: visits, field: title, function: count}
  signins:
    name: Sign-ins
    primary: who
    fields:
      who: {type: text, name: Who}
roles:
  staff:
    visits: {access: edit, create: true}
  clerk:
    visits: {access: edit, create: true}
"""


def _csv(path: Path, rows: int, *, patient: str = "", bad_last: bool = False) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Title", "Amount", "Status", "Day", "Patient"])
        for i in range(rows):
            last = bad_last and i == rows - 1
            out.writerow([f"visit {i}", "not a number" if last else i % 997, "open" if i % 3 else "closed",
                          f"2026-0{1 + i % 9}-1{i % 10}", patient if i % 50 == 0 else ""])
    return path


@pytest.fixture
def ws(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace({"desk": BASE}, WORKSPACE)


def _count(ws: Workspace, sql: str) -> int:
    with ws.storage.reading() as conn:
        return int(conn.execute(sql).fetchone()[0])


def _write_while(ws: Workspace, work: Callable[[], object]) -> tuple[object, list[float]]:
    """Run `work` in a thread; meanwhile create one record at a time; return its result and
    each write's latency in seconds."""
    signins = ws.base("desk").table("signins")
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    latencies: list[float] = []
    while worker.is_alive():
        began = time.perf_counter()
        signins.create({"who": "someone signing in"}, actor="admin")
        latencies.append(time.perf_counter() - began)
        time.sleep(0.01)
    worker.join()
    return outcome[0], latencies


def _p95(latencies: list[float]) -> float:
    """The 95th percentile: with the few hundred writes a test makes on a shared 2-core machine, a
    99th is its one slowest write (a garbage collection, another test's burst); the p99 of the
    1,000,000-row import is measured by hand (README). Before this module, writers waited for
    the whole import, so even the p95 was seconds."""
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def test_other_writes_keep_going_while_a_big_file_is_imported(ws: Workspace, tmp_path: Path) -> None:
    patient = ws.base("desk").table("patients").create({"name": "张三"}, actor="admin")["id"]
    path = _csv(tmp_path / "big.csv", ROWS, patient=patient)
    began = time.perf_counter()
    report, latencies = _write_while(ws, lambda: import_file(ws.base("desk").table("visits"), path, actor="admin"))
    whole = time.perf_counter() - began
    assert not isinstance(report, BaseException), report
    assert report.imported == ROWS and report.rejected == 0
    assert len(latencies) >= 20
    # Before the import lock every write waited for the whole import (seconds; this one takes
    # 3-11 s, more on a loaded CI machine, where every write is slower too): 0.5 s, or a fifth of
    # the import where the machine made it slower than that (PostgreSQL's p95 was 0.36 s at load
    # 13, 0.53 s once at a load of 14 with an import of 20 s).
    limit = max(0.5, whole / 5)
    assert _p95(latencies) <= limit, f"p95 of {len(latencies)} concurrent writes: {_p95(latencies):.3f} s; slowest {sorted(latencies)[-5:]}; import {whole:.1f} s"
    assert _count(ws, "SELECT count(*) FROM desk__visits") == ROWS
    # Links on both sides and the rollup over them, as for records created one by one.
    assert ws.base("desk").table("patients").get(patient, actor="admin")["fields"]["visits_n"] == ROWS // 50
    # Every imported row has its audit entry and its event, released for automations.
    assert _count(ws, "SELECT count(*) FROM _gb_audit WHERE tbl = 'visits' AND action = 'create'") == ROWS
    assert _count(ws, "SELECT count(*) FROM _gb_outbox WHERE tbl = 'visits' AND processed_at IS NULL") == ROWS


def test_a_bad_last_row_leaves_nothing_and_holds_no_one_up(ws: Workspace, tmp_path: Path) -> None:
    path = _csv(tmp_path / "bad.csv", ROWS // 2, bad_last=True)
    began = time.perf_counter()
    report, latencies = _write_while(ws, lambda: import_file(ws.base("desk").table("visits"), path, actor="admin"))
    whole = time.perf_counter() - began
    assert not isinstance(report, BaseException), report
    assert report.imported == 0 and report.rejected == 1
    assert report.problems[0].startswith(f"row {ROWS // 2 + 1}: Amount")
    assert "nothing was imported" in report.problems[-1]
    # A short import makes few writes beside it, so one slow write (a collection, a busy machine)
    # is its whole tail: what shows nobody was held up is that the writes went on at their usual
    # pace and none waited for the import to end, as they all did before the import lock. Their
    # pace is the machine's: 0.15 s, or a tenth of the import on a machine that made it slower.
    assert len(latencies) >= 5, f"only {len(latencies)} writes during a {whole:.3f} s import"
    assert statistics.median(latencies) <= max(0.15, whole / 10), \
        f"median of {len(latencies)} concurrent writes {statistics.median(latencies):.3f} s, import {whole:.3f} s"
    assert max(latencies) < whole * 0.75, f"a write waited {max(latencies):.3f} s of a {whole:.3f} s import"
    assert _count(ws, "SELECT count(*) FROM desk__visits") == 0
    # Found before anything was written: not written and then undone.
    assert _count(ws, "SELECT count(*) FROM _gb_audit WHERE tbl = 'visits'") == 0
    assert _count(ws, "SELECT count(*) FROM _gb_outbox WHERE tbl = 'visits'") == 0


def test_a_failure_midway_undoes_the_whole_import(ws: Workspace, tmp_path: Path) -> None:
    visits = ws.base("desk").table("visits")
    patient = ws.base("desk").table("patients").create({"name": "张三"}, actor="admin")["id"]
    rows = [{"title": f"v{i}", "patient": [patient]} for i in range(9000)]

    def fail_after_two_chunks(result: object) -> None:
        if len(getattr(result, "ids", [])) >= 2 * staged.CHUNK:
            raise OSError("the disk went away")

    with pytest.raises(OSError):
        staged.import_rows(visits, rows, actor=ws.actor("admin"), progress=fail_after_two_chunks)
    assert _count(ws, "SELECT count(*) FROM desk__visits") == 0
    assert _count(ws, "SELECT count(*) FROM desk__visits__patient__link") == 0
    assert ws.base("desk").table("patients").get(patient, actor="admin")["fields"].get("visits_n") == 0
    assert _count(ws, "SELECT count(*) FROM _gb_audit WHERE tbl = 'visits' AND action = 'create'") == 0
    assert _count(ws, "SELECT count(*) FROM _gb_outbox WHERE tbl = 'visits'") == 0  # automations never saw them
    assert _count(ws, "SELECT count(*) FROM _gb_audit WHERE action = 'import_rollback' AND new LIKE '%disk went away%'") == 1


def test_an_import_killed_midway_is_undone_when_the_workspace_opens(ws: Workspace, tmp_path: Path) -> None:
    root, db = ws.config.root, ws.storage.database
    ws.close()
    script = ("import os, sys\n"
              "from engine import Workspace, imports\n"
              f"ws = Workspace.open({str(root)!r}, db={str(db)!r})\n"
              "def die(result):\n"
              "    if len(result.ids) >= 3 * imports.CHUNK: os._exit(9)\n"
              "rows = ({'title': f'v{i}'} for i in range(20000))\n"
              "imports.import_rows(ws.base('desk').table('visits'), rows, actor=ws.actor('admin'), progress=die)\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    again = Workspace.open(root, db=db)
    try:
        assert _count(again, "SELECT count(*) FROM desk__visits") == 0
        assert _count(again, "SELECT count(*) FROM _gb_outbox WHERE tbl = 'visits'") == 0
        assert _count(again, "SELECT count(*) FROM _gb_audit WHERE action = 'import_rollback'") == 1
    finally:
        again.close()


def test_each_role_imports_at_most_its_limit(ws: Workspace, tmp_path: Path) -> None:
    visits = ws.base("desk").table("visits")
    assert import_file(visits, _csv(tmp_path / "fifty.csv", 50), actor="li").imported == 50
    with pytest.raises(PermissionDenied, match=r"more than 50 rows.*split the file.*import: max_rows"):
        import_file(visits, _csv(tmp_path / "fifty-one.csv", 51), actor="li")
    # A role without a limit of its own gets the default; admins have none.
    big = _csv(tmp_path / "default.csv", staged.DEFAULT_MAX_ROWS + 1)
    with pytest.raises(PermissionDenied, match=f"more than {staged.DEFAULT_MAX_ROWS} rows"):
        import_file(visits, big, actor="wang")
    assert _count(ws, "SELECT count(*) FROM desk__visits") == 50
    assert import_file(visits, big, actor="admin").imported == staged.DEFAULT_MAX_ROWS + 1
