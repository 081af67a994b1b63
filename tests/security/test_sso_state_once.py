"""An SSO flow's `state` is taken once by the server, and not after it expired (engine.sso, engine.sessions).

The browser drops its flow cookie after the callback, but an attacker who copied the cookie and the
callback URL must not be able to play them again: the server keeps each state it issued and spends
it at the first callback. (The replay through a real server is in tests/views/test_sso_signin.py.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from engine import Workspace, sessions
from engine.sso import Pending, take

BASE = """\
base: notes
name: Notes
tables:
  notes:
    name: Notes
    primary: title
    fields:
      title: {type: text, name: Title}
"""


@pytest.mark.stores
def test_a_state_is_taken_once_for_its_provider_and_not_after_it_expired(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"notes": BASE})
    sessions.begin_flow(ws, "feishu", "state-1", 600)
    assert not sessions.take_flow(ws, "corp_sso", "state-1")  # another provider's callback: refused, and spent
    assert not take(ws, Pending("feishu", "state-1", "n", "v", "/"))

    sessions.begin_flow(ws, "feishu", "state-2", 600)
    assert take(ws, Pending("feishu", "state-2", "n", "v", "/"))
    assert not take(ws, Pending("feishu", "state-2", "n", "v", "/"))  # the replay
    assert not take(ws, Pending("feishu", "never-issued", "n", "v", "/"))

    sessions.begin_flow(ws, "feishu", "state-3", 600)
    now = ws.now()
    ws.clock = lambda: now + timedelta(seconds=601)
    assert not take(ws, Pending("feishu", "state-3", "n", "v", "/"))  # expired


def test_a_flows_row_is_never_a_pending_sign_in(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"notes": BASE})
    sessions.begin_flow(ws, "feishu", "state-4", 600)
    assert sessions.pending_person(ws, "state-4") is None
