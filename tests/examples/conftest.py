"""Fixtures for the Dalian dental example: a fresh copy of the workspace on a controllable
clock, signed-in HTTP clients per person, and small helpers to read what automations did.

Applying the example hashes 32 demo passwords (argon2), so it is done once per session into
a template database that each test copies: a SQLite file copied per test, or
(GRIDBASE_TEST_DATABASE=postgresql) a PostgreSQL database that each test gets a copy of with
`CREATE DATABASE … TEMPLATE` (a copy of its files, far quicker than applying the example
again), dropped after the test. The example's tests therefore run on both stores.
"""

from __future__ import annotations

import importlib.util
import random
import re
import shutil
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pg_server
import pytest

from engine import Workspace
from gridbase.app import create_app
from tests_support import (
    DENTAL,
    csrf_of,  # noqa: F401 (used by the tests of this folder)
)
from tests_support import sign_in as sign_in_as

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient prefers httpx2; httpx works
    from starlette.testclient import TestClient

PASSWORD = "demo1234"
TZ = ZoneInfo("Asia/Shanghai")
MOBILE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
             "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")


def local(*args: int) -> datetime:
    """A moment given in Asia/Shanghai wall-clock time."""
    return datetime(*args, tzinfo=TZ)  # type: ignore[misc]


class Clock:
    """A settable clock for `ws.clock`."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment.astimezone(UTC)

    def set(self, moment: datetime) -> None:
        self.moment = moment


def copy_example(target: Path) -> Path:
    shutil.copytree(DENTAL, target, ignore=shutil.ignore_patterns("data", "__pycache__"))
    return target


@dataclass
class Template:
    """The example applied once: its folder and its database (a SQLite file, or the URL of a
    PostgreSQL database that no one stays connected to, so that it can be copied)."""

    root: Path
    db: Path | str

    def copy(self, folder: Path, name: str = "dental") -> Path | str:
        """A copy of the applied database for one test: a file in `folder`, or a new PostgreSQL
        database (drop it with `drop`)."""
        if isinstance(self.db, Path):
            target = folder / f"{name}.db"
            shutil.copyfile(self.db, target)
            return target
        template = urlsplit(self.db).path.lstrip("/")
        return pg_server.create_database(self.db, pg_server.name_for(name), template=template)

    def drop(self, db: Path | str) -> None:
        """Drop a copy made by `copy` (a file goes with its test's folder)."""
        if isinstance(db, str):
            pg_server.drop_database(db, urlsplit(db).path.lstrip("/"))

    @contextmanager
    def copied(self, folder: Path, name: str = "dental") -> Iterator[Path | str]:
        db = self.copy(folder, name)
        try:
            yield db
        finally:
            self.drop(db)


@pytest.fixture(scope="session")
def dental_template(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest,
                    session_database: Callable[[str], str | None]) -> Template:
    """The example applied once (on the store under test: it takes session_database); tests copy
    its database."""
    tmp = tmp_path_factory.mktemp("dental_template")
    root = copy_example(tmp / "dalian_dental")
    db: Path | str = tmp / "template.db"
    if pg_server.on_postgres():
        server = request.getfixturevalue("pg_url")
        db = pg_server.with_schema(pg_server.create_database(server, "dental_template"), "dental")
        pg_server.in_schema(db, "dental")
    ws = Workspace.open(root, db=db)
    ws.apply()
    ws.close()
    if isinstance(db, Path):
        for suffix in ("-wal", "-shm"):
            assert not Path(str(db) + suffix).exists() or Path(str(db) + suffix).stat().st_size == 0
    return Template(root, db)


@pytest.fixture(scope="session")
def dental_seeded(dental_template: Template, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Template]:
    """dental_seeded(seed_value=, scale=, at=) -> the example with sample data, seeded once per
    session for each set of arguments (on `at`'s clock, its time-dependent formulas brought to
    it; without `at`, the real clock): seeding is the slow part of the modules that show the
    sample data, and several seed the same. Tests copy its database, as dental_template's."""
    made: dict[tuple[int, float, datetime | None], Template] = {}

    def make(seed_value: int = 2026, scale: float = 0.05, at: datetime | None = None) -> Template:
        key = (seed_value, scale, at)
        if key not in made:
            db = dental_template.copy(tmp_path_factory.mktemp("dental_seeded"), f"seeded_{seed_value}")
            ws = Workspace.open(dental_template.root, db=db)
            try:
                if at is not None:
                    ws.clock = Clock(at)
                ws.apply()
                seed(ws, seed_value=seed_value, scale=scale)
                if at is not None:
                    ws.refresh_time_dependent()
            finally:
                ws.close()
            made[key] = Template(dental_template.root, db)
        return made[key]
    return make


@pytest.fixture
def clock() -> Clock:
    return Clock(local(2026, 6, 15, 10, 0))


def open_dental(template: Template, db: Path | str, clock: Clock) -> Workspace:
    ws = Workspace.open(template.root, db=db)
    ws.clock = clock
    ws.apply()
    return ws


@pytest.fixture
def ws(dental_template: Template, tmp_path: Path, clock: Clock) -> Iterator[Workspace]:
    with dental_template.copied(tmp_path) as db:
        workspace = open_dental(dental_template, db, clock)
        yield workspace
        workspace.close()


def seed_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dental_seed_for_tests", DENTAL / "seed.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed(ws: Workspace, *, seed_value: int = 2026, scale: float = 0.05) -> dict[str, int]:
    """Seed like `gridbase seed` does: sample data is history, so its outbox is marked processed."""
    counts: dict[str, int] = seed_module().seed(ws, rng=random.Random(seed_value), scale=scale)
    with ws.storage.transaction():
        ws.storage.conn.execute("UPDATE _gb_outbox SET processed_at = ? WHERE processed_at IS NULL",
                                (ws.now().strftime("%Y-%m-%dT%H:%M:%SZ"),))
    return counts


# -- HTTP ------------------------------------------------------------------------------------
def sign_in(client: TestClient, person: str, password: str = PASSWORD) -> Any:
    return sign_in_as(client, person, password)


class Browser:
    """A signed-in TestClient with the CSRF token of its session at hand."""

    def __init__(self, client: TestClient, person: str) -> None:
        self.client = client
        self.person = person
        self.csrf = csrf_of(client.get("/").text)

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.client.post(path, data={**(data or {}), "csrf_token": self.csrf}, **kw)

    def cell(self, base: str, table: str, rid: str, field: str, value: Any) -> Any:
        return self.post(f"/b/{base}/t/{table}/r/{rid}/cell/{field}", {"value": value})


@pytest.fixture
def app(ws: Workspace) -> Any:
    return create_app(ws, automations=False)


@pytest.fixture
def as_person(app: Any) -> Iterator[Callable[..., Browser]]:
    """as_person("lin_xue") -> a Browser signed in through the real /login form."""
    clients: list[TestClient] = []

    def make(person: str, headers: dict[str, str] | None = None) -> Browser:
        client = TestClient(app, base_url="http://testserver", headers=headers)
        client.__enter__()
        clients.append(client)
        response = sign_in(client, person)
        assert response.status_code == 303, response.text
        return Browser(client, person)

    yield make
    for c in clients:
        c.__exit__(None, None, None)


# -- reading what happened --------------------------------------------------------------------
def rows(ws: Workspace, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    cur = ws.storage.conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def notified(ws: Workspace, record: str, title_prefix: str = "") -> list[str]:
    """Person keys with an inbox row about `record` whose title starts with `title_prefix` (sorted, repeats kept)."""
    found = ws.storage.conn.execute(
        "SELECT person FROM _gb_notifications WHERE record = ? AND substr(title, 1, length(?)) = ? ORDER BY person",
        (record, title_prefix, title_prefix)).fetchall()
    return [r[0] for r in found]


def runs_of(ws: Workspace, automation: str, record: str | None = None) -> list[dict[str, Any]]:
    return rows(ws, "SELECT * FROM _gb_runs WHERE automation = ? AND (? IS NULL OR record = ?) ORDER BY id",
                (automation, record, record))


def people_with(ws: Workspace, *, role: str | None = None, dept: str | None = None) -> set[str]:
    return {k for k, p in ws.config.people.items()
            if (role is None or role in p.roles) and (dept is None or dept in (p.departments or [p.department]))}


def record_row(ws: Workspace, base: str, table: str, rid: str) -> dict[str, Any]:
    found = rows(ws, f'SELECT * FROM "{base}__{table}" WHERE _id = ?', (rid,))
    assert found, f"no record {rid} in {base}.{table}"
    return found[0]


def dashboard_numbers(html: str) -> dict[str, str]:
    """Number cards of a dashboard page: {title: value text}."""
    cards = re.findall(r'<section class="dash-card number" data-widget="\d+">\s*<h2>(.*?)</h2>\s*'
                       r'<a class="value"[^>]*>(.*?)</a>', html, re.S)
    return {title.strip(): value.strip() for title, value in cards}


def chart_values(spec: dict[str, Any]) -> dict[str, float]:
    """{label: value} from a widget's Vega-Lite spec (data inlined)."""
    data = spec.get("data", {}).get("values")
    if data is None:  # altair may put the values under `datasets`
        datasets = spec.get("datasets", {})
        name = spec.get("data", {}).get("name")
        data = datasets.get(name, [])
    return {d["label"]: d["value"] for d in data}
