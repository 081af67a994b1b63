"""Every read has a time budget (issue 17, item 1): past it the query stops with QueryTimeout.

The budget is `Storage.query_seconds` (GRIDBASE_QUERY_SECONDS), lowered here so that a
legitimately expensive query (a formula filter that is slow on each of 2,000 rows, an SQL
statement that counts to a few hundred million) passes it: SQLite's progress handler stops
the statement, the formula evaluator stops between calls, the reader works on afterwards, the
API answers 422 and a page shows a message, never a 500.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient prefers httpx2; httpx works
    from starlette.testclient import TestClient

from engine import Workspace
from engine.errors import QueryTimeout
from gridbase.app import create_app
from tests.views.conftest import PASSWORD, WORKSPACE
from tests_support import sign_in, write_workspace
from views.messages import render_error

ROWS = 2_000
# About a millisecond per row in Python (REPT and SUBSTITUTE over 450,000 characters, which
# SQL cannot express): seconds over the whole table, no regular expression involved.
SLOW = "LEN(SUBSTITUTE(REPT({title}, 50000), 'o', 'oo')) = 0"
NOTES = f"""\
base: notes
name: Notes
tables:
  notes:
    name: Notes
    primary: title
    fields:
      title: {{type: text, name: Title}}
    views:
      slow: {{type: grid, name: Slow, filter: {{formula: "{SLOW}"}}}}
"""
COUNT_FAR = ("SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
             " WHERE x < 300000000) SELECT x FROM c) AS far")  # the alias PostgreSQL asks for


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory, session_database: Callable[[str], str | None]) -> Iterator[Workspace]:
    tmp = tmp_path_factory.mktemp("budget")
    root = write_workspace(Path(tmp) / "ws", {"notes": NOTES}, WORKSPACE)
    workspace = Workspace.open(root, db=session_database("budget"))
    workspace.apply()
    workspace.sync_people()
    workspace.base("notes").table("notes").insert_many({"title": f"note {i:04d}"} for i in range(ROWS))
    yield workspace
    workspace.close()


@pytest.fixture
def tight(ws: Workspace) -> Iterator[float]:
    """The read budget lowered to 0.3 s for one test."""
    saved = getattr(ws.storage, "query_seconds", None)
    ws.storage.query_seconds = 0.3
    try:
        yield 0.3
    finally:
        ws.storage.query_seconds = saved


@pytest.mark.timeout(120)
def test_an_sql_statement_past_the_budget_is_stopped_and_the_reader_works_on(ws: Workspace, tight: float) -> None:
    started = time.perf_counter()
    with pytest.raises(QueryTimeout, match=r"took longer than 0\.3 s and was stopped: simplify"):
        with ws.storage.reading() as conn:
            conn.execute(COUNT_FAR).fetchone()
    assert time.perf_counter() - started < 2
    with ws.storage.reading() as conn:  # the same reader, a new snapshot, a fresh budget
        assert conn.execute("SELECT count(*) FROM notes__notes").fetchone()[0] == ROWS


@pytest.mark.timeout(120)
def test_a_formula_filter_slow_on_every_row_stops_at_the_budget(ws: Workspace, tight: float) -> None:
    table = ws.base("notes").table("notes")
    started = time.perf_counter()
    with pytest.raises(QueryTimeout):
        table.query(actor="admin", filter={"formula": SLOW}, limit=10)
    assert time.perf_counter() - started < 2
    # Without a budget the same query is answered: it was slow, not wrong.
    ws.storage.query_seconds = None
    assert table.query(actor="admin", filter={"formula": SLOW}, limit=10).records == []


@pytest.mark.timeout(120)
def test_a_page_past_the_budget_shows_a_message_not_a_500(ws: Workspace, tight: float) -> None:
    with TestClient(create_app(ws, automations=False), base_url="http://testserver") as client:
        assert sign_in(client, "admin", PASSWORD).status_code == 303
        started = time.perf_counter()
        page = client.get("/b/notes/t/notes/v/slow")
        assert time.perf_counter() - started < 4  # the view's query, stopped once (not asked again without the filters)
        assert page.status_code == 400, page.text[:500]
        assert "took longer than 0.3 s and was stopped" in page.text
        assert client.get("/b/notes/t/notes").status_code == 200  # the table without that view is fine


def test_the_message_is_translated_for_pages() -> None:
    text = render_error(QueryTimeout(2.5), "zh-CN")
    assert text.startswith("查询超过 2.5 秒，已停止") and "简化" in text
