"""`gridbase runs` prints the run history."""

from __future__ import annotations

import json

import pytest
from automation_servers import Env

from automations import process_pending
from gridbase.cli import main

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)


def test_runs_command(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    ws = env.make("""
        good:
          when: {created: tickets}
          do: [{notify: {to: "person:boss", title: "{{ record.title }}"}}]
        bad:
          when: {created: tickets}
          do: [{update: {n: 不是数字}}]
    """)
    ws.base("desk").table("tickets").create({"title": "甲"}, actor="admin")
    process_pending(ws)
    root, db = ws.config.root, str(ws.storage.database)
    assert main(["runs", root, "--db", db]) == 0
    text = capsys.readouterr().out
    assert "desk.good [created]" in text and "FAILED" in text and "recipients=['boss']" in text
    assert main(["runs", root, "--db", db, "--status", "failed", "--format", "json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["automation"] for r in runs] == ["bad"] and runs[0]["steps"][0]["ok"] is False
    assert main(["runs", root, "--db", db, "--automation", "nothing"]) == 0
    assert capsys.readouterr().out.strip() == "no runs"
