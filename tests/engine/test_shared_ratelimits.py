"""Rate limits whichever process a request reaches: on PostgreSQL, and on SQLite under
`gridbase serve --workers N` (the storage's `several_processes`), the token buckets live in the
database (engine.ratelimits), so two processes count against one bucket; SQLite's one server
keeps them in memory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from engine import Workspace
from engine.ratelimits import RateLimiter, SharedRateLimiter, for_store
from tests_support import ROOT, WORKSPACE_YAML

pytestmark = pytest.mark.stores


def test_a_shared_bucket_fills_at_its_rate_and_keeps_keys_and_names_apart(
        make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({}, WORKSPACE_YAML)
    api = SharedRateLimiter(ws.storage, "api", rate=1.0, burst=3)
    assert [api.take("token-a", now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert api.take("token-a", now=100.0) == pytest.approx(1.0)  # empty: a token comes in a second
    assert api.take("token-a", now=100.5) == pytest.approx(0.5)
    assert api.take("token-a", now=101.0) == 0.0  # refilled at one a second
    assert api.take("token-b", now=100.0) == 0.0  # another key has its own bucket
    assert SharedRateLimiter(ws.storage, "form", rate=1.0, burst=3).take("token-a", now=100.0) == 0.0
    assert api.take("token-a", now=1000.0) == 0.0  # long idle: full again, never more than the burst
    assert [api.take("token-a", now=1000.0) for _ in range(3)][-1] > 0
    api.prune(now=2000.0)  # idle buckets are forgotten, and start full again
    assert api.take("token-a", now=2000.0) == 0.0


def test_the_store_decides_where_buckets_live(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({}, WORKSPACE_YAML)
    limiter = for_store(ws.storage, "api", 5.0, 10.0)
    # PostgreSQL: any number of servers may connect; a SQLite file: one server unless told otherwise.
    expected = SharedRateLimiter if ws.storage.dialect.name == "postgresql" else RateLimiter
    assert type(limiter) is expected
    ws.storage.several_processes = True  # a worker of `gridbase serve --workers N`
    assert type(for_store(ws.storage, "api", 5.0, 10.0)) is SharedRateLimiter


TAKE = """
import sys
from engine.ratelimits import for_store
from engine.stores import open_store
store = open_store(sys.argv[1], sys.argv[2])
store.several_processes = True
limiter = for_store(store, "api", 0.001, 5)
print(",".join("ok" if limiter.take("token") == 0 else "wait" for _ in range(3)))
store.close()
"""


def test_two_processes_count_against_one_bucket(make_workspace: Callable[..., Workspace], tmp_path: Path) -> None:
    ws = make_workspace({}, WORKSPACE_YAML)
    ws.storage.several_processes = True  # always so on PostgreSQL; on SQLite, a worker of `serve --workers N`
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    other = subprocess.run([sys.executable, "-c", TAKE, str(ws.storage.database), str(tmp_path / "ws")],
                           capture_output=True, text=True, env=env, timeout=60, check=True)
    assert other.stdout.strip() == "ok,ok,ok"  # the other process took three of the five
    here = for_store(ws.storage, "api", 0.001, 5)
    assert [here.take("token") == 0 for _ in range(3)] == [True, True, False]  # two left for this one
