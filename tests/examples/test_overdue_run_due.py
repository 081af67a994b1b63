"""超时升级 as an admin tries it (issue 19, item 11): `gridbase automations DIR run-due --at`
past a complaint's deadline shows the escalation once, on a copy, for the complaint nobody
touched, and not for the one closed in time; later checks never escalate it again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from automations import list_runs, process_pending, tick
from engine import Workspace
from gridbase.cli import main
from tests.examples.conftest import Template


def local_text(moment: datetime) -> str:
    return (moment + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")  # Asia/Shanghai, no DST


def test_run_due_shows_the_escalation_once(dental_template: Template, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    root = dental_template.root
    with dental_template.copied(tmp_path) as db:
        run_due_on(root, db, tmp_path, capsys)


def run_due_on(root: Path, db: Path | str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = Workspace.open(root, db=db)
    complaints = ws.base("complaints").table("complaints")
    late = complaints.create({"title": "收费与报价不一致", "category": "收费问题", "owner": "sun_hao",
                              "department": "口腔修复中心"}, actor="lin_xue")
    done = complaints.create({"title": "空调太冷", "category": "环境设施"}, actor="lin_xue")
    complaints.update(done["id"], {"status": "已办结", "result": "已调高温度"}, actor="lin_xue")
    ws.close()  # the server has not run yet: the new-complaint notices are still pending
    now = datetime.now(UTC)

    def run_due(at: datetime, *extra: str) -> list[str]:
        assert main(["automations", str(root), "run-due", "--at", local_text(at), "--db", str(db), *extra]) == 0
        printed: str = capsys.readouterr().out
        return [line for line in printed.splitlines() if "(complaints.overdue)" in line]

    assert run_due(now + timedelta(days=2, hours=23)) == []  # before the 3-day deadline
    keep = tmp_path / "copy.db"
    escalated = run_due(now + timedelta(days=3, minutes=10), "--keep", str(keep))
    assert escalated == [f"  超时升级 (complaints.overdue) [matches] {late['id']}: ok"]
    assert run_due(now + timedelta(days=3, minutes=10)) == escalated  # trying it again: the same answer

    real = Workspace.open(root, db=db)
    try:
        assert [r for r in list_runs(real) if r["automation"] == "overdue"] == []  # the real database is untouched
    finally:
        real.close()
    copy = Workspace.open(root, db=keep)
    try:
        later = now + timedelta(days=4)
        copy.clock = lambda: later  # a day on, still overdue: no second escalation
        copy.refresh_time_dependent()
        process_pending(copy)
        tick(copy, later)
        process_pending(copy)
        runs: list[dict[str, Any]] = [r for r in list_runs(copy) if r["automation"] == "overdue"]
        assert [(r["record"], r["status"]) for r in runs] == [(late["id"], "ok")]
        per_person = copy.storage.conn.execute(
            "SELECT person, count(*) FROM _gb_notifications WHERE record = ? AND title = ? GROUP BY person",
            (late["id"], "投诉超时未办结：收费与报价不一致")).fetchall()
        assert per_person and all(n == 1 for _person, n in per_person)  # each told once
        assert "sun_hao" in {p for p, _n in per_person}
    finally:
        copy.close()
