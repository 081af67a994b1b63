"""A writer killed with SIGKILL loses nothing it acknowledged and leaves an intact database."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests_support import ROOT, write_workspace

BASE = """\
base: log
name: Log
tables:
  entries:
    name: 记录
    primary: title
    fields:
      title: {type: text, name: 标题}
      n: {type: number, name: 序号}
"""

WRITER = """
import sys
from engine import Workspace
ws = Workspace.open(sys.argv[1], db=sys.argv[2])
ws.apply()
table = ws.base("log").table("entries")
i = 0
while True:
    rec = table.create({"title": f"entry {i}", "n": i}, actor="admin")
    sys.stdout.write(rec["id"] + "\\n")
    sys.stdout.flush()
    i += 1
"""


@pytest.mark.sqlite_only("a killed writer process leaves the SQLite file whole: PRAGMA integrity_check of the file, its WAL replayed")
def test_sigkill_during_writes_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws", {"log": BASE})
    db = tmp_path / "kill.db"
    acknowledged: list[str] = []
    for round_ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(db)], stdout=subprocess.PIPE,
                                cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True)
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        target = 50 + round_ * 37
        while len(acknowledged) < target * (round_ + 1) and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acknowledged.append(line.strip())
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {r[0] for r in conn.execute("SELECT _id FROM log__entries")}
        audited = {r[0] for r in conn.execute("SELECT DISTINCT record FROM _gb_audit WHERE action = 'create'")}
        events = {r[0] for r in conn.execute("SELECT record FROM _gb_outbox WHERE event = 'created'")}
    finally:
        conn.close()
    assert len(acknowledged) > 100
    missing = [a for a in acknowledged if a not in stored]
    assert missing == []
    # Row, audit entry and outbox event are one transaction: all three or none.
    assert stored == audited == events


