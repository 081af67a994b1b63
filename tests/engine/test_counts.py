"""Kept row counts (engine.counts): a count asked again without a write in between is not
counted again, and after any write — by this process or another one on the same file — the
number a person is told is the exact one, never the kept one."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine import Workspace, counts
from engine import imports as staged
from tests.views.conftest import BASE, WORKSPACE

OPEN = {"status": {"neq": "Done"}}


def kept(ws: Workspace) -> counts.Counts:
    return counts.of(ws.storage)


def test_a_count_is_kept_until_a_write_and_always_exact(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"cases": BASE}, WORKSPACE)
    table = ws.base("cases").table("cases")
    table.insert_many(({"title": f"t{i}", "status": ["Open", "Done"][i % 2]} for i in range(20)), actor="admin")
    assert table.count(actor="admin", filter=OPEN) == 10
    hits = kept(ws).hits
    assert table.count(actor="admin", filter=OPEN) == 10
    assert table.query(actor="admin", filter=OPEN, limit=5).total == 10
    assert kept(ws).hits == hits + 2  # the same query asked again: not counted again

    done = table.query(actor="admin", filter={"status": "Done"}, limit=1).records[0]["id"]
    table.update(done, {"status": "Open"}, actor="admin")
    assert table.count(actor="admin", filter=OPEN) == 11
    created = table.create({"title": "new"}, actor="admin")
    assert table.count(actor="admin", filter=OPEN) == 12
    table.delete(created["id"], actor="admin")
    assert table.count(actor="admin", filter=OPEN) == 11
    table.restore(created["id"], actor="admin")
    assert table.query(actor="admin", filter=OPEN, limit=5).total == 12

    # Another process on the same file writes: this one has no word of it but the database's.
    other = Workspace.open(ws.config.root, db=ws.storage.database)
    try:
        other.base("cases").table("cases").insert_many([{"title": "elsewhere"}] * 3, actor="admin")
    finally:
        other.close()
    assert table.count(actor="admin", filter=OPEN) == 15


def test_people_with_different_rows_never_share_a_count(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"cases": BASE}, WORKSPACE)
    table = ws.base("cases").table("cases")
    table.insert_many(({"title": f"t{i}", "reporter": "li" if i < 3 else "wang"} for i in range(10)), actor="admin")
    assert table.count(actor="admin") == 10
    assert table.count(actor="li") == 3  # staff read the rows they reported
    assert table.count(actor="admin") == 10
    assert table.count(actor="li") == 3


def test_the_grid_is_told_the_kept_count_or_an_estimate(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"cases": BASE}, WORKSPACE)
    table = ws.base("cases").table("cases")
    table.insert_many(({"title": f"t{i}"} for i in range(8)), actor="admin")
    first = table.query(actor="admin", limit=2, with_total=False, known_total=True)
    assert first.total is None and "estimate" not in first.meta  # never counted: nothing to say
    assert table.query(actor="admin", limit=2).total == 8
    second = table.query(actor="admin", limit=2, with_total=False, known_total=True)
    assert second.total == 8  # counted, and nothing written since
    created = table.create({"title": "one more"}, actor="admin")
    assert table.query(actor="admin", limit=2, with_total=False, known_total=True).total == 9  # a creation: added
    table.update(created["id"], {"status": "Done"}, actor="admin")
    third = table.query(actor="admin", limit=2, with_total=False, known_total=True, filter=OPEN)
    assert third.total is None and "estimate" not in third.meta  # never counted with this filter
    assert table.query(actor="admin", limit=2, filter=OPEN).total == 8
    table.update(created["id"], {"status": "Open"}, actor="admin")
    fourth = table.query(actor="admin", limit=2, with_total=False, known_total=True, filter=OPEN)
    assert fourth.total is None and fourth.meta["estimate"] == 8  # "about 8" until counted again
    assert table.query(actor="admin", limit=2, filter=OPEN).total == 9


def test_a_count_inside_a_write_is_not_kept(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"cases": BASE}, WORKSPACE)
    table = ws.base("cases").table("cases")
    table.insert_many(({"title": f"t{i}"} for i in range(4)), actor="admin")
    assert table.count(actor="admin") == 4
    try:
        with ws.storage.transaction():
            table.create({"title": "not yet"}, actor="admin")
            assert table.count(actor="admin") == 5  # its own write, uncommitted
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert table.count(actor="admin") == 4


def test_a_kept_count_is_not_counted_again_and_stays_exact(make_workspace: Callable[..., Workspace]) -> None:
    """On either store (PostgreSQL as SQLite): asked again, the count runs no count query; after
    creations only the new rows are counted; after any other write the number is the rows' own."""
    ws = make_workspace({"cases": BASE}, WORKSPACE)
    table = ws.base("cases").table("cases")
    table.insert_many(({"title": f"t{i}", "status": ["Open", "Done"][i % 2]} for i in range(20)), actor="admin")
    ran: list[str] = []
    reader = ws.storage.conn  # this thread's reader: the grid's count runs here
    reader.set_trace_callback(ran.append)

    def told() -> tuple[int, list[str]]:
        """The count the admin is told of open cases, and the count queries it ran."""
        ran.clear()
        total = table.count(actor="admin", filter=OPEN)
        return total, [s for s in ran if s.startswith("SELECT count(*)")]

    def rows() -> int:
        """What the rows say, nothing kept."""
        kept(ws).forget()
        return table.count(actor="admin", filter=OPEN)

    assert told()[0] == 10
    assert told() == (10, [])  # kept: no count query at all
    table.create({"title": "new"}, actor="admin")
    total, queries = told()
    assert total == 11 and len(queries) == 1 and "_id IN" in queries[0]  # only the new row counted
    assert told() == (11, [])

    done = table.query(actor="admin", filter={"status": "Done"}, limit=1).records[0]["id"]
    table.update(done, {"status": "Open"}, actor="admin")
    assert told()[0] == 12 == rows()
    table.delete(done, actor="admin")
    assert told()[0] == 11 == rows()

    def fail_once_written(result: object) -> None:
        if getattr(result, "ids", None):
            raise OSError("the disk went away")  # its rows were in, its events held

    with pytest.raises(OSError):
        staged.import_rows(table, ({"title": f"i{i}"} for i in range(50)), actor=ws.actor("admin"),
                           progress=fail_once_written)
    assert told()[0] == 11 == rows()
    assert told() == (11, [])

    # Another store on the same database (another process's connections) writes.
    other = Workspace.open(ws.config.root, db=ws.storage.database)
    try:
        other.base("cases").table("cases").insert_many([{"title": "elsewhere"}] * 3, actor="admin")
    finally:
        other.close()
    total, queries = told()
    assert total == 14 and len(queries) == 1 and "_id IN" in queries[0]
    assert rows() == 14
    reader.set_trace_callback(None)
