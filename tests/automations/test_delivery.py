"""The delivery queue: retries with backoff, the dead letter, retry_dead, stale `sending` rows."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from automation_servers import Env

from automations import deliver_due, list_deliveries, process_pending, recover_sending, retry_dead
from automations.delivery import MAX_ATTEMPTS, backoff
from engine import Workspace

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

HOOKED = """
    push:
      when: {created: tickets}
      do: [{webhook: {url: "URL"}}]
"""


def make(env: Env) -> Workspace:
    ws = env.make(HOOKED.replace("URL", env.hook.url("/desk")))
    ws.base("desk").table("tickets").create({"title": "甲"}, actor="admin")
    process_pending(ws)
    return ws


def row(ws: Workspace) -> dict:
    [delivery] = list_deliveries(ws)
    return delivery


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    for attempts, base in ((1, 30), (2, 60), (3, 120), (5, 480), (20, 3600)):
        for _ in range(20):
            assert base * 0.8 <= backoff(attempts) <= base * 1.2


def test_retryable_failures_back_off_then_dead_letter_then_retry_dead(env: Env) -> None:
    ws = make(env)
    env.hook.statuses = [503] * MAX_ATTEMPTS
    start = env.now[0]
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert deliver_due(ws) == 0
        state = row(ws)
        assert state["attempts"] == attempt and "HTTP 503" in state["last_error"]
        if attempt < MAX_ATTEMPTS:
            assert state["status"] == "pending"
            assert deliver_due(ws) == 0 and row(ws)["attempts"] == attempt  # not due yet
            env.set_now(env.now[0] + timedelta(hours=2))
    assert row(ws)["status"] == "dead"
    env.set_now(env.now[0] + timedelta(days=1))
    assert deliver_due(ws) == 0 and row(ws)["status"] == "dead"
    assert retry_dead(ws, row(ws)["id"]) is True
    assert retry_dead(ws, row(ws)["id"]) is False  # already pending
    assert deliver_due(ws) == 1
    state = row(ws)
    assert state["status"] == "sent" and state["sent_at"] is not None
    assert len(env.hook.requests) == 1 and env.now[0] > start


def test_non_retryable_failure_is_dead_at_once(env: Env) -> None:
    ws = make(env)
    env.hook.statuses = [400]
    deliver_due(ws)
    state = row(ws)
    assert (state["status"], state["attempts"]) == ("dead", 1)


def test_unreachable_smtp_is_retried(env: Env) -> None:
    ws = env.make("""
        mail_owner:
          when: {created: tickets}
          do: [{email: {to: "person:boss", subject: 测试}}]
    """)
    ws.config.channels["mail"].options["port"] = 1  # nothing listens there
    ws.base("desk").table("tickets").create({"title": "甲"}, actor="admin")
    process_pending(ws)
    deliver_due(ws)
    state = row(ws)
    assert (state["status"], state["attempts"]) == ("pending", 1)


def test_stale_sending_rows_go_back_to_pending(env: Env) -> None:
    ws = make(env)
    with ws.storage.transaction() as conn:  # as if the process died during the network call
        conn.execute("UPDATE _gb_deliveries SET status = 'sending'")
    assert deliver_due(ws) == 0
    assert recover_sending(ws) == 0  # too recent: maybe still in flight
    env.set_now(env.now[0] + timedelta(minutes=6))
    assert recover_sending(ws) == 1
    assert deliver_due(ws) == 1 and row(ws)["status"] == "sent"


def test_a_pass_with_nothing_due_does_not_wait_for_the_write_lock(env: Env) -> None:
    # The worker asks after every pass; while someone else writes (a big import, a burst of
    # form posts), finding nothing due must not queue behind them for the lock.
    ws = make(env)
    assert deliver_due(ws) == 1 and deliver_due(ws) == 0  # sent: nothing is due any more
    holding, release = threading.Event(), threading.Event()

    def write() -> None:
        with ws.storage.transaction():
            holding.set()
            release.wait(10)

    writer = threading.Thread(target=write)
    writer.start()
    assert holding.wait(5)
    answered: list[int] = []
    asker = threading.Thread(target=lambda: answered.append(deliver_due(ws)))
    try:
        asker.start()
        asker.join(5)
        assert answered == [0]  # answered while the other write still holds the lock
    finally:
        release.set()
        writer.join()
        asker.join()
