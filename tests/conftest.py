"""Shared fixtures: a temporary workspace factory and the dental example.

GRIDBASE_TEST_DATABASE=postgresql runs the suite against a throwaway PostgreSQL server
(tests/pg_server.py) instead of SQLite files: `database` (and `make_workspace`, built on it)
then gives each test a schema of its own. Every test runs on both stores unless it is marked
`sqlite_only` (it is about SQLite itself: its file, its PRAGMAs, its single writer). The
PostgreSQL run keeps the tests that reach the store it puts under test — those taking
`database`, `make_workspace`, `session_database` or `pg_url`, and those marked `stores` — and
leaves out the rest, which open SQLite files of their own (or none) and would only repeat the
SQLite run; GRIDBASE_TEST_EVERYTHING=1 keeps those too.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pg_server
import pytest

from engine import Workspace
from tests_support import DENTAL, ROOT, WORKSPACE_YAML, write_workspace  # noqa: F401 (re-exported)

ON_POSTGRES = pg_server.on_postgres()


# What puts a test on the store under test (make_workspace takes database).
STORE_FIXTURES = ("database", "session_database", "pg_url")


def on_this_store(item: pytest.Item, everything: bool) -> bool:
    """Whether the PostgreSQL run keeps `item` (see the module's docstring)."""
    if item.get_closest_marker("sqlite_only"):
        return False
    fixtures = getattr(item, "fixturenames", ())
    return everything or bool(item.get_closest_marker("stores")) or any(name in fixtures for name in STORE_FIXTURES)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not ON_POSTGRES:
        return
    everything = bool(os.environ.get("GRIDBASE_TEST_EVERYTHING"))
    kept = [item for item in items if on_this_store(item, everything)]
    config.hook.pytest_deselected(items=[item for item in items if not on_this_store(item, everything)])
    items[:] = kept


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """The URL of a throwaway PostgreSQL server for this test session (skipped without the binaries)."""
    reason = pg_server.missing()
    if reason:
        pytest.skip(reason)
    server = pg_server.start()
    try:
        yield server.url()
    finally:
        server.stop()


def schema_url(url: str, name: str) -> str:
    """A fresh schema (named after `name`) of the PostgreSQL server at `url`, as a database URL."""
    return pg_server.in_schema(url, pg_server.name_for(name))


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str | Path]:
    """database() -> where a test's workspace lives: a temp SQLite file, or (GRIDBASE_TEST_DATABASE=
    postgresql) a fresh schema of the session's PostgreSQL server, as a URL."""
    def make() -> str | Path:
        if not ON_POSTGRES:
            return tmp_path / "test.db"
        return schema_url(request.getfixturevalue("pg_url"), request.node.name)
    return make


@pytest.fixture(scope="session")
def session_database(request: pytest.FixtureRequest) -> Callable[[str], str | None]:
    """session_database(name) -> where a workspace shared by many tests lives: None (the
    workspace's own SQLite file), or (GRIDBASE_TEST_DATABASE=postgresql) a fresh schema's URL."""
    def make(name: str) -> str | None:
        return schema_url(request.getfixturevalue("pg_url"), name) if ON_POSTGRES else None
    return make


@pytest.fixture
def make_workspace(tmp_path: Path, database: Callable[[], str | Path]) -> Iterator[Callable[..., Workspace]]:
    """make_workspace(bases={name: yaml}, workspace=yaml) -> applied Workspace on a temp SQLite file
    (or a fresh PostgreSQL schema, see the module's docstring)."""
    opened: list[Workspace] = []
    where: list[str | Path] = []

    def make(bases: dict[str, str], workspace: str = WORKSPACE_YAML, *, apply: bool = True) -> Workspace:
        root = write_workspace(tmp_path / "ws", bases, workspace)
        if not where:
            where.append(database())
        ws = Workspace.open(root, db=where[0])
        if apply:
            ws.apply()
        opened.append(ws)
        return ws

    yield make
    for ws in opened:
        ws.close()


@pytest.fixture
def dental_copy(tmp_path: Path) -> Path:
    target = tmp_path / "dalian_dental"
    shutil.copytree(DENTAL, target, ignore=shutil.ignore_patterns("data"))
    return target
