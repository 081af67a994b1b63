"""Each field type filters with its own operators and sorts by its own key, in a real table.

What a person notices: a filter finds the rows it says (a checkbox by 是, a person by name, a
day of a moment in the workspace's timezone, a select by option); an operator a field does not
take is refused with the field, the operator and the ones it does take, both in a query and
in the YAML; a sort orders as the value means (options in their declared order, numbers as
numbers, durations as lengths, moments as moments).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from engine import ConfigError, QueryError, Workspace
from engine.permissions import Actor

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

BASE = """\
base: ft
name: FT
tables:
  t:
    name: T
    primary: title
    fields:
      title: {type: text, name: 标题}
      n: {type: number, name: 数量, precision: 1}
      money: {type: currency, name: 金额}
      pct: {type: percent, name: 比例}
      stars: {type: rating, name: 评分}
      spent: {type: duration, name: 用时}
      ok: {type: checkbox, name: 完成}
      status: {type: single_select, name: 状态, options: [待受理, 处理中, 已办结]}
      tags: {type: multi_select, name: 标签, options: [紧急, 投诉, 咨询]}
      day: {type: date, name: 日期}
      at: {type: datetime, name: 时间}
      owner: {type: person, name: 负责人}
      team: {type: person, name: 成员, multiple: true}
      mail: {type: email, name: 邮箱}
      double: {type: formula, name: 两倍, formula: "{n} * 2"}
"""

ROWS = [
    {"title": "甲", "n": 10, "money": "¥300", "pct": "5%", "stars": 1, "spent": "2h", "ok": "是", "status": "已办结",
     "tags": "紧急、投诉", "day": "2026-11-20", "at": "2026-11-25 07:30", "owner": "li", "team": ["li", "boss"],
     "mail": "jia@example.org"},
    {"title": "乙", "n": 2.5, "money": "¥20", "pct": "50%", "stars": 5, "spent": "15m", "ok": "否", "status": "待受理",
     "tags": "咨询", "day": "2026-11-25", "at": "2026-11-24 23:59", "owner": "李四", "team": ["boss"],
     "mail": "yi@example.org"},
    {"title": "丙", "n": -1, "money": "¥1000", "pct": "12.5%", "stars": 3, "spent": "1:00", "status": "处理中",
     "day": "2026-12-01", "at": "2026-11-26 00:00", "owner": "boss"},
    {"title": "丁"},
]
NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
def table(make_workspace: Callable[..., Workspace]) -> Any:
    ws = make_workspace({"ft": BASE})
    ws.clock = lambda: NOW
    t = ws.base("ft").table("t")
    for row in ROWS:
        t.create(row, actor=Actor.engine())
    return t


def titles(table: Any, flt: Any = None, sort: list[str] | None = None) -> list[str]:
    records = table.query(actor=Actor.engine(), filter=flt, sort=sort or ["title"]).records
    found = [r["fields"]["title"] for r in records]
    return found if sort else sorted(found)


@pytest.mark.parametrize(("flt", "expected"), [
    ({"title": {"contains": "甲"}}, ["甲"]),
    ({"title": {"starts_with": "乙"}}, ["乙"]),
    ({"n": {"gt": 2}}, ["乙", "甲"]),
    ({"n": {"between": [-1, 2.5]}}, ["丙", "乙"]),
    ({"n": {"in": ["10", "-1"]}}, ["丙", "甲"]),
    ({"money": {"gte": "¥300"}}, ["丙", "甲"]),  # read as the type reads it: the symbol is fine
    ({"pct": {"lt": "12.5%"}}, ["甲"]),
    ({"stars": {"gte": "★★★"}}, ["丙", "乙"]),
    ({"spent": {"gt": "30m"}}, ["丙", "甲"]),
    ({"ok": "是"}, ["甲"]),
    ({"ok": {"neq": True}}, ["丁", "丙", "乙"]),
    ({"status": {"not_in": ["已办结"]}}, ["丁", "丙", "乙"]),
    ({"status": "处理中"}, ["丙"]),
    ({"tags": {"has_any": ["咨询", "投诉"]}}, ["乙", "甲"]),
    ({"tags": {"has_all": ["紧急", "投诉"]}}, ["甲"]),
    ({"tags": {"not_contains": "紧急"}}, ["丁", "丙", "乙"]),
    ({"tags": {"is_empty": True}}, ["丁", "丙"]),
    ({"day": {"lte": "2026年11月25日"}}, ["乙", "甲"]),
    ({"day": {"today": True}}, ["乙"]),
    ({"day": {"next_n_days": 7}}, ["丙", "乙"]),
    ({"day": {"past_n_days": 7}}, ["乙", "甲"]),
    ({"at": "2026-11-25"}, ["甲"]),  # a day given for a moment: that whole day in Shanghai
    ({"at": {"this_week": True}}, ["丙", "乙", "甲"]),
    ({"at": {"gt": "2026-11-25 07:30"}}, ["丙"]),
    ({"owner": "李四"}, ["乙", "甲"]),  # a person by name
    ({"owner": {"is_not_empty": True}}, ["丙", "乙", "甲"]),
    ({"team": "王主任"}, ["乙", "甲"]),
    ({"mail": {"contains": "YI@"}}, ["乙"]),
    ({"double": {"gt": 4}}, ["乙", "甲"]),  # a formula by its result kind
])
def test_each_type_filters_with_its_own_operators(table: Any, flt: Any, expected: list[str]) -> None:
    assert titles(table, flt) == sorted(expected)


@pytest.mark.parametrize(("field", "op", "takes"), [
    ("n", "contains", "eq, neq, gt, gte, lt, lte, between, in, not_in, is_empty, is_not_empty"),
    ("ok", "gt", "eq, neq, is_empty, is_not_empty"),
    ("tags", "starts_with", "eq, neq, contains, not_contains, has_any, has_all, is_empty, is_not_empty"),
    ("title", "today", "eq, neq, contains, not_contains, starts_with"),
    ("day", "has_all", "today, yesterday, tomorrow, this_week"),
])
def test_an_operator_the_field_does_not_take_is_refused_clearly(table: Any, field: str, op: str, takes: str) -> None:
    with pytest.raises(QueryError) as refused:
        table.query(actor=Actor.engine(), filter={field: {op: "1"}})
    message = str(refused.value)
    assert f"'{op}'" in message and f"field '{field}'" in message and takes in message


def test_a_value_the_type_cannot_read_is_refused_with_the_reason(table: Any) -> None:
    with pytest.raises(QueryError) as refused:
        table.query(actor=Actor.engine(), filter={"n": {"gt": "many"}})
    assert "number field 'n'" in str(refused.value) and "expected a number" in str(refused.value)
    with pytest.raises(QueryError):
        table.query(actor=Actor.engine(), filter={"ok": "maybe"})


def test_the_grid_can_list_the_operators_of_a_field(table: Any) -> None:
    fields = table.fields
    assert fields["ok"].filter_ops == ("eq", "neq", "is_empty", "is_not_empty")
    assert "today" in fields["at"].filter_ops and "contains" not in fields["at"].filter_ops
    assert fields["team"].filter_ops != fields["owner"].filter_ops  # several people, or one
    assert "gt" in fields["double"].filter_ops  # a formula's, by its result


@pytest.mark.parametrize(("key", "expected"), [
    ("n", ["丙", "乙", "甲", "丁"]),
    ("money", ["乙", "甲", "丙", "丁"]),
    ("pct", ["甲", "丙", "乙", "丁"]),
    ("stars", ["甲", "丙", "乙", "丁"]),
    ("spent", ["乙", "丙", "甲", "丁"]),
    ("status", ["乙", "丙", "甲", "丁"]),  # declared order: 待受理, 处理中, 已办结
    ("day", ["甲", "乙", "丙", "丁"]),
    ("at", ["乙", "甲", "丙", "丁"]),
    ("double", ["丙", "乙", "甲", "丁"]),
])
def test_each_type_sorts_by_its_own_key(table: Any, key: str, expected: list[str]) -> None:
    ascending = [t for t in titles(table, sort=[key, "title"]) if t != "丁"]
    assert ascending == [t for t in expected if t != "丁"]
    descending = [t for t in titles(table, sort=[f"-{key}", "title"]) if t != "丁"]
    assert descending == list(reversed(ascending))


def test_options_and_people_sort_in_their_order_blanks_last(table: Any) -> None:
    # options as declared (紧急, 投诉, 咨询), by the first chosen; people by name (李四, 王主任, ...)
    assert titles(table, sort=["tags", "title"]) == ["甲", "乙", "丁", "丙"]
    assert titles(table, sort=["owner", "title"]) == ["乙", "甲", "丙", "丁"]
    assert titles(table, sort=["team", "title"]) == ["甲", "乙", "丁", "丙"]
    assert titles(table, sort=["-owner", "title"])[:2] == ["丁", "丙"]


def test_checkbox_sorts_unchecked_first(table: Any) -> None:
    assert titles(table, sort=["ok", "title"])[-1] == "甲"


def test_the_yaml_refuses_an_operator_the_field_does_not_take(make_workspace: Callable[..., Workspace]) -> None:
    bad = BASE + "    views:\n      v: {type: grid, name: V, filter: {ok: {contains: 是}}}\n"
    with pytest.raises(ConfigError) as refused:
        make_workspace({"ft": bad})
    text = str(refused.value)
    assert "operator 'contains' does not apply to checkbox field 'ok'" in text
    assert "it applies to: eq, neq, is_empty, is_not_empty" in text
