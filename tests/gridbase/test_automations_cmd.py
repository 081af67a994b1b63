"""`gridbase automations DIR run-due --at TIME`: an admin tries a reminder without code, on a copy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from automations.history import list_runs
from engine import Workspace
from gridbase.cli import main
from tests_support import WORKSPACE_YAML

BASE = """\
base: desk
name: Desk
tables:
  tasks:
    name: Tasks
    primary: title
    fields:
      title: {type: text, name: Title}
      due: {type: date, name: Due}
      owner: {type: person, name: Owner}
automations:
  remind:
    name: 到期前提醒
    when: {date: tasks, field: due, offset: -1d, at: "09:00"}
    do:
      - notify: {to: "{owner}", title: "{{ record.title }} 明天到期"}
"""


def local_day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(hours=8) + timedelta(days=days)).date().isoformat()


@pytest.mark.stores
def test_run_due_fires_on_a_copy_and_never_twice(make_workspace: Callable[..., Workspace], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    ws = make_workspace({"desk": BASE}, WORKSPACE_YAML)
    ws.base("desk").table("tasks").create({"title": "年度报告", "due": local_day(5), "owner": "li"}, actor="admin")
    ws.close()
    # The workspace's database: a SQLite file, or on PostgreSQL its URL (copied into a SQLite file to try on).
    where = [str(tmp_path / "ws"), "--db", str(ws.storage.database)]
    at = f"{local_day(4)} 09:30"
    keep = tmp_path / "copy.db"
    assert main(["automations", where[0], "run-due", "--at", at, "--keep", str(keep), *where[1:]]) == 0
    printed = capsys.readouterr().out
    assert "1 run(s)" in printed and "到期前提醒 (desk.remind) [date]" in printed
    assert "recipients=['li']" in printed and "was not changed" in printed
    # The real database has no run and no notification; the kept copy has the run.
    real = Workspace.open(where[0], db=where[2])
    try:
        assert list_runs(real) == []
    finally:
        real.close()
    copy = Workspace.open(where[0], db=keep)
    try:
        assert [r["automation"] for r in list_runs(copy)] == ["remind"]
    finally:
        copy.close()
    # Asked again, the same answer: trying never uses the reminder up.
    assert main(["automations", where[0], "run-due", "--at", at, *where[1:]]) == 0
    assert "1 run(s)" in capsys.readouterr().out
    # Before the reminder's moment nothing is due.
    assert main(["automations", where[0], "run-due", "--at", f"{local_day(3)} 09:30", *where[1:]]) == 0
    assert "0 run(s)" in capsys.readouterr().out


def test_run_due_explains_a_bad_time(make_workspace: Callable[..., Workspace], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    ws = make_workspace({"desk": BASE}, WORKSPACE_YAML)
    ws.close()
    where = [str(tmp_path / "ws"), "--db", str(ws.storage.database)]  # a SQLite file, or a PostgreSQL URL
    assert main(["automations", where[0], "run-due", "--at", "next friday", *where[1:]]) == 1
    assert 'write it as "2026-12-24 09:00"' in capsys.readouterr().err
