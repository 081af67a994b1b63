"""Fuzzing the boundaries: the YAML loader and validator, and the filter compiler.

Whatever text or filter comes in, the answer is the engine's own error (ConfigError,
QueryError, ValidationError) or a result — never another exception, never a changed table.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import ConfigError, QueryError, ValidationError, Workspace
from engine.loader import load_workspace
from tests_support import WORKSPACE_YAML, write_workspace

BASE = """\
base: f
name: F
tables:
  t:
    name: T
    primary: title
    fields:
      title: {type: text, name: Title}
      n: {type: number, name: N}
      d: {type: date, name: D}
      ok: {type: checkbox, name: OK}
      tags: {type: multi_select, name: Tags, options: [a, b]}
      who: {type: person, name: Who}
"""

yaml_chars = st.sampled_from(list(string.printable) + ["中", "文", "：", "\t", "&", "*", "!", "|", ">", "%", "@", "`"])
yaml_text = st.lists(yaml_chars, max_size=300).map("".join)
lines = st.lists(st.sampled_from([
    "base: f", "name: x", "tables:", "  t:", "    name: T", "    fields:", "      a: {type: text}",
    "      b: {type: lookup, link: a, field: z}", "      c: {type: formula, formula: \"{a} & 'x'\"}",
    "    views:", "      v: {type: kanban, group_by: a}", "roles:", "  ghost: {t: {access: read}}",
    "automations:", "  x: {when: {created: t}, do: [{notify: {to: [\"{a}\"]}}]}", "- item", "  - [1, 2", "key: &a [*a]",
    "dashboards: {d: {widgets: [{type: bar, table: t}]}}", "tables: []", "  t: 3",
]), max_size=25).map("\n".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(yaml_text, lines))
def test_any_base_file_gives_a_result_or_config_error(tmp_path_factory: Any, text: str) -> None:
    root = tmp_path_factory.mktemp("fuzz")
    write_workspace(root / "ws", {})
    (root / "ws" / "bases" / "b.yaml").write_text(text, encoding="utf-8")
    try:
        load_workspace(root / "ws")
    except ConfigError as exc:
        assert exc.issues and all(i.line >= 1 and i.col >= 1 and i.message for i in exc.issues)


scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(allow_nan=True),
                   st.text(max_size=20), st.sampled_from(["$me", "$today", "$now", "$my_department", "a", "2026-01-01", "'; DROP TABLE x; --"]))
ops = st.sampled_from(["eq", "neq", "contains", "not_contains", "starts_with", "gt", "gte", "lt", "lte", "between", "in",
                       "not_in", "is_empty", "is_not_empty", "has_any", "has_all", "today", "this_week", "this_month",
                       "past_n_days", "next_n_days", "bogus"])
keys = st.sampled_from(["title", "n", "d", "ok", "tags", "who", "nope", "_id", 'a"b'])
condition = st.one_of(scalar, st.lists(scalar, max_size=3), st.dictionaries(ops, st.one_of(scalar, st.lists(scalar, max_size=3)), max_size=2))
filters = st.recursive(
    st.dictionaries(keys, condition, max_size=3),
    lambda inner: st.one_of(st.fixed_dictionaries({"and": st.lists(inner, max_size=3)}),
                            st.fixed_dictionaries({"or": st.lists(inner, max_size=3)}),
                            st.fixed_dictionaries({"not": inner}),
                            st.fixed_dictionaries({"formula": st.sampled_from(["{n} > 1", "LEN({title}) >", "AND({ok}, {n})", "{nope}"])})),
    max_leaves=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flt=filters, sort=st.lists(st.sampled_from(["title", "-n", "d", "-tags", "nope", "title DESC"]), max_size=2))
def test_any_filter_gives_rows_or_a_query_error(fuzz_ws: Workspace, flt: Any, sort: list[str]) -> None:
    table = fuzz_ws.base("f").table("t")
    try:
        page = table.query(actor="admin", filter=flt, sort=sort, limit=10)
        assert page.total is not None and page.total <= 3
    except (QueryError, ValidationError):
        pass
    assert table.count(actor="admin") == 3


@given(flt=filters)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_filters_in_group_and_aggregate_too(fuzz_ws: Workspace, flt: Any) -> None:
    table = fuzz_ws.base("f").table("t")
    try:
        table.group(actor="admin", by="title", filter=flt)
        table.aggregate(actor="admin", aggregate="sum", field="n", filter=flt)
    except (QueryError, ValidationError):
        pass



@pytest.fixture(scope="module")
def fuzz_ws(tmp_path_factory: Any, session_database: Any) -> Any:
    """One workspace on the store under test for the filter fuzzing (three rows)."""
    root: Path = tmp_path_factory.mktemp("fuzzws")
    write_workspace(root / "ws", {"f": BASE}, WORKSPACE_YAML)
    ws = Workspace.open(root / "ws", db=session_database("fuzz"))
    ws.apply()
    table = ws.base("f").table("t")
    for i in range(3):
        table.create({"title": f"row {i}", "n": i, "d": f"2026-01-0{i + 1}", "ok": i % 2, "tags": ["a"], "who": "li"}, actor="admin")
    yield ws
    ws.close()


@pytest.mark.stores
def test_what_the_fuzzing_found_on_postgresql(fuzz_ws: Workspace) -> None:
    """Found by the two tests above on PostgreSQL, kept as plain cases: grouping a table that has
    a field named d (the group's own column is called d), and yes/no or a number asked of a text
    or list field (compared as text, as SQLite does, never a 500)."""
    table = fuzz_ws.base("f").table("t")
    assert table.group(actor="admin", by="title") == [("row 0", 1.0), ("row 1", 1.0), ("row 2", 1.0)]
    assert table.group(actor="admin", by="tags", aggregate="sum", field="n") == [("a", 3.0)]
    assert table.query(actor="admin", filter={"who": True}).records == []
    assert table.query(actor="admin", filter={"title": {"eq": 5}}).records == []
    assert table.query(actor="admin", filter={"tags": {"has_any": [True, 1]}}).records == []
    assert len(table.query(actor="admin", filter={"tags": {"has_any": [True, "a"]}}).records) == 3
