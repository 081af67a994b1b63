"""Which tests the PostgreSQL run keeps (tests/conftest.py): every test that reaches the store
under test, unless it is marked `sqlite_only` — and every such mark says why."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import on_this_store
from tests_support import ROOT


class Item:
    """What the selection reads of a collected test: its fixtures and its marks."""

    def __init__(self, fixtures: tuple[str, ...] = (), marks: tuple[str, ...] = ()) -> None:
        self.fixturenames = list(fixtures)
        self.marks = set(marks)

    def get_closest_marker(self, name: str) -> Any:
        return name if name in self.marks else None


def test_tests_that_reach_the_store_run_on_postgresql_unless_sqlite_only() -> None:
    for fixtures in (("make_workspace", "database", "tmp_path"), ("session_database",), ("pg_url",)):
        assert on_this_store(Item(fixtures), everything=False)  # type: ignore[arg-type]
        assert not on_this_store(Item(fixtures, ("sqlite_only",)), everything=True)  # type: ignore[arg-type]
    assert on_this_store(Item((), ("stores",)), everything=False)  # type: ignore[arg-type]
    # A test of no store (or of a SQLite file of its own) would only repeat the SQLite run.
    assert not on_this_store(Item(("tmp_path",)), everything=False)  # type: ignore[arg-type]
    assert on_this_store(Item(("tmp_path",)), everything=True)  # type: ignore[arg-type]


def test_every_sqlite_only_mark_says_why() -> None:
    marks = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.search(r"mark\.sqlite_only\b", line):
                marks.append((path.name, line.strip()))
    assert len(marks) >= 5
    unexplained = [m for m in marks if not re.search(r"mark\.sqlite_only\(\s*[\"'].{10,}", m[1])]
    assert unexplained == []


def test_the_dental_example_tests_reach_the_store_under_test() -> None:
    """The example is applied into the store under test (its template fixture takes
    session_database), and no example test copies a SQLite file of its own around it."""
    conftest = (ROOT / "tests" / "examples" / "conftest.py").read_text(encoding="utf-8")
    assert re.search(r"def dental_template\([^)]*session_database", conftest)
    for path in sorted((ROOT / "tests" / "examples").glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        assert "shutil.copyfile" not in text and "dental_template[" not in text, path.name


def test_the_browser_tests_serve_the_store_under_test() -> None:
    """Every workspace a browser test serves lives on the store under test (it takes
    session_database), so the PostgreSQL run keeps the browser tests; none opens a SQLite file of
    its own."""
    served = 0
    for path in sorted((ROOT / "tests" / "browser").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"db=[^,)]*\.db", text), path.name
        for name, arguments, body in re.findall(r"\ndef (\w+)\(([^)]*)\)(.*?)(?=\n\S)", text, re.S):
            if "Workspace.open(" in body or "open_group(" in body:
                assert "session_database" in arguments, f"{path.name}: {name}"
                served += 1
    assert served >= 9
