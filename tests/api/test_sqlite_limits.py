"""Requests that would pass one of SQLite's limits are refused first, naming our limit.

`listRecords` with 5,000 sort entries or 5,000 fields answered 500 (SQLite: too many terms
in ORDER BY, too many columns in the result); now each is a 422 in Airtable's shape naming
the limit (engine.limits) and its value. Structured filters, search texts and formula
filters over very many fields stay within SQLite's limits at the engine too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine import Workspace, limits
from engine.errors import ConfigError
from engine.limits import LimitExceeded
from engine.loader import load_workspace
from tests_support import write_workspace

LIST = "/v0/crm/contacts/listRecords"


def _limit_error(r: httpx.Response, limit: limits.Limit) -> str:
    assert r.status_code == 422, r.text[:300]
    error = r.json()["error"]
    assert error["type"] == "INVALID_REQUEST_UNKNOWN", error
    assert limit.name in error["message"] and str(limit.value) in error["message"], error
    return str(error["message"])


def test_5000_sort_entries_is_422_naming_the_limit(api_server: Any, seeded: Any) -> None:
    seeded(api_server.ws, 3)
    with api_server.client("admin") as c:
        message = _limit_error(c.post(LIST, json={"sort": [{"field": "Name"}] * 5000}), limits.SORT_ENTRIES)
        assert "5000" in message and "sort by fewer fields" in message
        # 2,001 entries as query parameters (SQLite's own limit is 2,000 terms).
        params = [(f"sort[{i}][field]", "Age") for i in range(2001)]
        _limit_error(c.get("/v0/crm/contacts", params=params), limits.SORT_ENTRIES)
        # Within the limit, the same field many times is answered.
        r = c.post(LIST, json={"sort": [{"field": "Age", "direction": "desc"}] * limits.SORT_ENTRIES.value})
        assert r.status_code == 200, r.text[:300]
        assert [rec["fields"]["Age"] for rec in r.json()["records"]] == [2, 1, 0]
        # A sort index too long to be a number is an unknown parameter, not a 500.
        r = c.get("/v0/crm/contacts", params={f"sort[{'9' * 5000}][field]": "Age"})
        assert r.status_code == 422 and "unknown parameter" in r.json()["error"]["message"], r.text[:300]


def test_5000_fields_is_422_naming_the_limit(api_server: Any, seeded: Any) -> None:
    seeded(api_server.ws, 2)
    with api_server.client("admin") as c:
        _limit_error(c.post(LIST, json={"fields": ["Name"] * 5000}), limits.FIELDS)
        _limit_error(c.get("/v0/crm/contacts", params=[("fields[]", "Age")] * 2500), limits.FIELDS)
        # Up to the limit, a field named twice is returned once (2,001 columns were a 500 too).
        r = c.post(LIST, json={"fields": ["Name", "Age"] * (limits.FIELDS.value // 2)})
        assert r.status_code == 200, r.text[:300]
        assert [sorted(rec["fields"]) for rec in r.json()["records"]] == [["Age", "Name"]] * 2


def test_deep_or_wide_formulas_are_422_saying_which_limit(api_server: Any) -> None:
    with api_server.client("admin") as c:
        r = c.post(LIST, json={"filterByFormula": "NOT(" * 500 + "1" + ")" * 500})
        assert r.status_code == 422 and "more than 100 levels" in r.json()["error"]["message"], r.text[:300]
        r = c.post(LIST, json={"filterByFormula": "OR(" + ",".join(f"{{Name}}='{i}'" for i in range(9000)) + ")"})
        assert r.status_code == 422 and "at most 100000" in r.json()["error"]["message"], r.text[:300]


def test_structured_filters_past_sqlite_depth_are_refused_before_sql(api_server: Any, seeded: Any) -> None:
    seeded(api_server.ws, 3)
    table = api_server.ws.base("crm").table("contacts")
    # 1,500 ORs made an expression deeper than SQLite's 1,000 levels: an sqlite3 error before.
    with pytest.raises(LimitExceeded) as caught:
        table.query(actor="admin", filter={"or": [{"age": i} for i in range(1500)]})
    assert caught.value.limit is limits.FILTER_CONDITIONS and "max_filter_conditions is 200" in str(caught.value)
    # A list of many values for one field is one flat IN test, answered.
    page = table.query(actor="admin", filter={"age": {"in": list(range(5000))}})
    assert len(page.records) == 3
    too_deep: Any = {"age": 1}
    for _ in range(limits.FILTER_DEPTH.value + 1):
        too_deep = {"not": too_deep}
    with pytest.raises(LimitExceeded, match="max_filter_depth is 8"):
        table.query(actor="admin", filter=too_deep)
    with pytest.raises(LimitExceeded, match="max_filter_values"):
        table.count(actor="admin", filter={"age": {"in": list(range(40_000))}})
    # A 60,000-character search was a LIKE pattern past SQLite's 50,000 bytes.
    with pytest.raises(LimitExceeded, match="max_search_length is 1000"):
        table.query(actor="admin", search="x" * 60_000)


def test_formula_filter_over_140_fields_is_answered(make_workspace: Callable[..., Workspace]) -> None:
    """A formula SQL cannot express is evaluated per row with every field it names passed in
    one call: past 127 fields SQLite refused that call (a 500 through the API)."""
    numbers = "\n".join(f"      f{i}: {{type: number, name: F{i}}}" for i in range(140))
    ws = make_workspace({"wide": f"""\
base: wide
name: Wide
tables:
  t:
    name: T
    primary: name
    fields:
      name: {{type: text, name: Name}}
{numbers}
"""})
    table = ws.base("wide").table("t")
    table.insert_many([{"name": "a", **{f"f{i}": i for i in range(140)}},
                       {"name": "b", **{f"f{i}": i + 1 for i in range(140)}}])
    everything = "&".join(f"{{F{i}}}" for i in range(140))
    formula = f"AND(REGEX_MATCH({everything}, '^0'), REGEX_MATCH({{F139}}&'', '^139$'))"
    page = table.query(actor="admin", filter={"formula": formula})
    assert [r["fields"]["name"] for r in page.records] == ["a"]


def test_a_view_past_the_limits_is_refused_at_its_line(tmp_path: Path) -> None:
    """A view declared with 1,500 OR-ed conditions made SQLite's expression too deep: its grid
    page answered 500. Now `gridbase validate` names the view's line and the limit, as for a
    view sorted by 101 entries."""
    many = ", ".join(f"{{n: {i}}}" for i in range(1500))
    root = write_workspace(tmp_path / "ws", {"w": f"""\
base: w
name: W
tables:
  t:
    name: T
    primary: name
    fields:
      name: {{type: text, name: Name}}
      n: {{type: number, name: N}}
    views:
      fine: {{type: grid, name: Fine, filter: {{n: {{in: [{", ".join(map(str, range(5000)))}]}}}}}}
      big: {{type: grid, name: Big, filter: {{or: [{many}]}}}}
      sorted: {{type: grid, name: Sorted, sort: [{", ".join(["n"] * 101)}]}}
"""})
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    assert sorted(str(i).split(" (see")[0] for i in caught.value.issues) == [
        "ws/bases/w.yaml:12:44: tables/t/views/big/filter: too many conditions in the filter: 201, the limit"
        " max_filter_conditions is 200; use fewer conditions, or an 'in' list for many values of one field",
        "ws/bases/w.yaml:13:48: tables/t/views/sorted/sort: too many sort entries: 101, the limit"
        " max_sort_entries is 100; sort by fewer fields (each field once is enough)"]
