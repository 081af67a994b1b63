"""A schedule that is no cron line, in a workspace loaded past `validate`: logged once, skipped, no traceback."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from automation_servers import Env

from automations import tick

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

SH = ZoneInfo("Asia/Shanghai")


def test_a_bad_schedule_is_reported_once_and_skipped(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    ws = env.make("""
        broken:
          when: {schedule: "0 9 * * *"}
          do: [{notify: {to: "person:boss", title: "坏"}}]
        good:
          when: {schedule: "0 9 * * *"}
          do: [{notify: {to: "person:boss", title: "好"}}]
    """)
    ws.config.bases["desk"].automations["broken"].when["schedule"] = "0 25 * * *"  # as if edited after validate
    caplog.set_level(logging.ERROR, logger="automations.scheduler")
    tick(ws, datetime(2026, 3, 2, 8, 0, tzinfo=SH))
    runs = sum(tick(ws, datetime(2026, 3, 2, 9, minute, tzinfo=SH)) for minute in range(3))
    assert runs == 1  # the good one still runs
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].exc_info is None
    assert "desk.broken is skipped: schedule '0 25 * * *' is not a valid cron line: its hour field '25'" in errors[0].getMessage()
