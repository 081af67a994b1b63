"""A worker killed with SIGKILL at random moments: every notification lands exactly once in the
inbox, and every delivery reaches its receiver at least once, with duplicates only as the same
idempotency key (which receivers dedupe)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from automation_servers import Env

from automations import deliver_due, process_pending, recover_sending

ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import sys, time
from engine import Workspace
from automations import deliver_due, process_pending
ws = Workspace.open(sys.argv[1], db=sys.argv[2])
while True:
    n = process_pending(ws, limit=3)
    m = deliver_due(ws, limit=2)
    if not n and not m:
        time.sleep(0.005)
"""


def test_sigkill_worker_never_loses_or_repeats_a_notification(env: Env) -> None:
    ws = env.make("""
        alert:
          when: {created: tickets}
          do: [{notify: {to: ["person:li", "person:boss"], title: "新：{{ record.title }}", channels: [hook]}}]
    """)
    ws.clock = lambda: datetime.now(UTC)
    env.hook.delay = 0.01  # widen the window between "received" and "marked sent"
    table = ws.base("desk").table("tickets")
    rng = random.Random(20260302)
    created: list[str] = []
    kills = 0
    for _round in range(6):
        proc = subprocess.Popen([sys.executable, "-c", WORKER, ws.config.root, str(ws.storage.database)], cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + rng.uniform(0.2, 0.6)
        while time.monotonic() < deadline:
            created.append(table.create({"title": f"工单{len(created)}"}, actor="admin")["id"])
            time.sleep(rng.uniform(0.01, 0.03))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
    # Restart: whatever was in flight when the last worker died is sent again.
    recover_sending(ws, older_than=timedelta(0))
    while process_pending(ws) or deliver_due(ws):
        pass
    pending = ws.storage.conn.execute("SELECT count(*) FROM _gb_deliveries WHERE status != 'sent'").fetchone()[0]
    assert pending == 0
    n = len(created)
    assert n > 20 and kills == 6
    # The inbox: exactly one row per (record, person).
    rows = ws.storage.conn.execute("SELECT record, person, count(*) FROM _gb_notifications GROUP BY record, person").fetchall()
    assert len(rows) == 2 * n and all(count == 1 for _, _, count in rows)
    assert {r for r, _, _ in rows} == set(created)
    runs = ws.storage.conn.execute("SELECT count(*), count(DISTINCT record) FROM _gb_runs").fetchone()
    assert tuple(runs) == (n, n)
    # The receivers: every delivery key arrived; a repeat is only ever the same key.
    assert len(env.hook.by_key) == n and len(env.mail.by_key) == n
    repeats = sum(c - 1 for c in env.hook.by_key.values()) + sum(c - 1 for c in env.mail.by_key.values())
    print(f"{n} tickets, {kills} kills, {repeats} channel-level repeat(s) (same idempotency key)")
    assert repeats <= kills  # at most the one delivery in flight per kill
