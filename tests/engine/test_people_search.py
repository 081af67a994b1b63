"""engine.people.search: the people editor's search. Enabled people only; any part of the
name, key or e-mail, in any case; those starting with the term first; at most `limit`."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine import Workspace, people
from tests.views.editors_support import BASE, WORKSPACE

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)


def test_search_finds_any_part_and_only_enabled_people(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"clinic": BASE}, WORKSPACE)
    keys = lambda term, **kw: [p["key"] for p in people.search(ws.storage, term, **kw)]  # noqa: E731
    assert sorted(keys("赵")) == ["zhao_lei", "zhao_liu"]
    assert keys("磊") == ["zhao_lei"] and keys("LEI@EXAMPLE") == ["zhao_lei"]  # name, e-mail in any case
    assert keys("_li") == ["zhao_liu"] and sorted(keys("zhao_l")) == ["zhao_lei", "zhao_liu"]  # part of the key
    assert keys("a")[0] == "admin"  # a name or key that starts with the term comes first
    assert len(keys("", limit=2)) == 2
    assert keys("%") == [] and keys("_") != []  # no LIKE wildcards: "%" is a character like any other
    people.set_disabled(ws.storage, "zhao_liu", True)
    assert keys("赵") == ["zhao_lei"]
    found = people.search(ws.storage, "赵磊")
    assert found == [{"key": "zhao_lei", "name": "赵磊", "department": "qc"}]
