"""Group commit: simultaneous writes share a transaction, each is answered only once it is
committed, and one failing write costs the others nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future

import pytest

from engine import Workspace
from engine.errors import ValidationError
from tests.engine.test_records import BASE as DESK  # the help-desk base of the record service tests


def _count(ws: Workspace, sql: str) -> int:
    return int(ws.storage.conn.execute(sql).fetchone()[0])


def test_writes_that_arrive_together_share_one_commit(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"desk": DESK})
    tickets = ws.base("desk").table("tickets")
    commits: list[str] = []
    ws.storage.conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    gate = threading.Event()
    blocker = ws.storage.write_soon(gate.wait)  # holds the writer while the others queue up
    futures: list[Future[dict[str, object]]] = [
        ws.storage.write_soon(lambda i=i: tickets.create({"title": f"工单{i}", "amount": i}, actor="admin")) for i in range(20)]
    assert not any(f.done() for f in futures)  # nobody hears back before the commit
    gate.set()
    records = [f.result(timeout=30) for f in futures]
    blocker.result(timeout=30)
    ws.storage.conn.set_trace_callback(None)
    assert [r["fields"]["amount"] for r in records] == list(range(20))
    assert _count(ws, "SELECT count(*) FROM desk__tickets") == 20
    assert _count(ws, "SELECT count(*) FROM _gb_audit WHERE action = 'create'") == 20
    assert len(commits) <= 2  # the blocker's group, then everything that queued behind it


def test_a_failing_write_is_rolled_back_alone(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"desk": DESK})
    tickets = ws.base("desk").table("tickets")
    gate = threading.Event()
    ws.storage.write_soon(gate.wait)

    def half_then_fail() -> None:
        tickets.create({"title": "写了一半"}, actor="admin")
        tickets.create({"amount": 1}, actor="admin")  # the title is required: refused

    good = ws.storage.write_soon(lambda: tickets.create({"title": "好的"}, actor="admin"))
    bad = ws.storage.write_soon(half_then_fail)
    after = ws.storage.write_soon(lambda: tickets.create({"title": "之后"}, actor="admin"))
    gate.set()
    with pytest.raises(ValidationError, match="标题 is required"):
        bad.result(timeout=30)
    assert good.result(timeout=30)["fields"]["title"] == "好的"
    assert after.result(timeout=30)["fields"]["title"] == "之后"
    titles = [r[0] for r in ws.storage.conn.execute("SELECT title FROM desk__tickets ORDER BY _rowid")]
    assert titles == ["好的", "之后"]  # nothing of the failed write, not even its first half
    assert _count(ws, "SELECT count(*) FROM _gb_audit") == 2
    assert _count(ws, "SELECT count(*) FROM _gb_outbox") == 2


def test_a_lone_write_that_fails_leaves_nothing_and_wakes_nobody(make_workspace: Callable[..., Workspace]) -> None:
    # A write that finds no other waiting runs without a savepoint: failing, it takes its whole
    # transaction with it, and the worker is not woken for the event it wrote and lost.
    ws = make_workspace({"desk": DESK})
    tickets = ws.base("desk").table("tickets")
    woken: list[int] = []
    ws.outbox.listeners.append(woken.append)

    def half_then_fail() -> None:
        tickets.create({"title": "写了一半"}, actor="admin")
        tickets.create({"amount": 1}, actor="admin")  # the title is required: refused

    with pytest.raises(ValidationError, match="标题 is required"):
        ws.storage.write_soon(half_then_fail).result(timeout=30)
    assert _count(ws, "SELECT count(*) FROM desk__tickets") == 0
    assert _count(ws, "SELECT count(*) FROM _gb_outbox") == 0
    assert woken == []
    alone = ws.storage.write_soon(lambda: tickets.create({"title": "之后"}, actor="admin")).result(timeout=30)
    assert alone["fields"]["title"] == "之后"
    assert woken and _count(ws, "SELECT count(*) FROM _gb_audit") == 1
