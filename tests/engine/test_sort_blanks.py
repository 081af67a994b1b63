"""Blank values sort alike on every store: first going up, last going down (SQLite's NULL is the
smallest value; PostgreSQL's the largest unless told). The Airtable JavaScript client's
`sort: [{field: 'Age', direction: 'desc'}]` read the blank ages first on PostgreSQL before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.stores

BASE = """\
base: s
name: S
tables:
  t:
    name: T
    primary: name
    fields:
      name: {type: text, name: Name}
      age: {type: number, name: Age}
      note: {type: text, name: Note}
"""


def test_blanks_come_first_going_up_and_last_going_down(make_workspace: Callable[..., Any]) -> None:
    t = make_workspace({"s": BASE}).base("s").table("t")
    for name, age, note in (("a", 41, "x"), ("b", None, None), ("c", 19, "y"), ("d", 1234, None)):
        t.create({"name": name, "age": age, "note": note}, actor="admin")

    def names(sort: list[str], **kw: Any) -> list[str]:
        return [r["fields"]["name"] for r in t.query(actor="admin", sort=sort, **kw).records]

    assert names(["-age"]) == ["d", "a", "c", "b"]
    assert names(["age"]) == ["b", "c", "a", "d"]
    assert names(["note", "-name"]) == ["d", "b", "a", "c"]
    assert names(["-age"], reverse=True, limit=2) == ["b", "c"]  # the view's last rows, read from its end
