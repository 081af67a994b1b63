"""`Table.query(reverse=True)`: a view read from its end is the same rows in the opposite
order, ties included (the grid's last rows of a big view)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine import Workspace
from tests.views.conftest import BASE, WORKSPACE

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)


def test_reverse_is_the_forward_order_backwards(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"cases": BASE}, WORKSPACE)
    table = ws.base("cases").table("cases")
    table.insert_many(({"title": f"t{i % 7}", "score": i % 3} for i in range(40)), actor="admin")
    for sort in ([], ["title"], ["-score", "title"], ["score"]):
        forward = [r["id"] for r in table.query(actor="admin", sort=sort, limit=100).records]
        backward = [r["id"] for r in table.query(actor="admin", sort=sort, limit=100, reverse=True).records]
        assert backward == forward[::-1], sort
        last = [r["id"] for r in table.query(actor="admin", sort=sort, limit=5, offset=3, reverse=True).records]
        assert last == forward[::-1][3:8]


def test_ties_keep_creation_order_in_the_direction_of_the_last_key(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"cases": BASE}, WORKSPACE)
    table = ws.base("cases").table("cases")
    made = [table.create({"title": f"t{i}", "score": i % 2}, actor="admin")["id"] for i in range(6)]
    evens, odds = made[0::2], made[1::2]
    up = [r["id"] for r in table.query(actor="admin", sort=["score"], limit=10).records]
    assert up == evens + odds  # going up: oldest first among equals
    down = [r["id"] for r in table.query(actor="admin", sort=["-score"], limit=10).records]
    assert down == odds[::-1] + evens[::-1]  # going down: newest first among equals
    assert [r["id"] for r in table.query(actor="admin", sort=["-score"], limit=10, reverse=True).records] == up

