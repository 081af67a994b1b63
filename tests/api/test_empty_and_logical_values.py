"""As Airtable: empty values are left out of records, and a formula's true/false is 1/0.

Item 3 of issue 26: a checkbox-like formula came back as `false` in most records. Airtable
leaves out `""`, `[]`, `false` and null, in list, get, create and update answers; its logical
functions and comparisons give 1 and 0, and a 0 is a value, returned like any number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pyairtable import Api
from starlette.applications import Starlette

from engine import Workspace
from tests.api.conftest import Server, serve
from views.api import routes

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

DESK = """\
base: desk
name: Desk
tables:
  tickets:
    name: Tickets
    primary: title
    fields:
      title: {type: text, name: Title}
      note: {type: long_text, name: Note}
      age: {type: number, name: Age}
      done: {type: checkbox, name: Done}
      tags: {type: multi_select, name: Tags, options: [a, b]}
      old: {type: formula, name: Old, formula: "{age} > 3"}
      both: {type: formula, name: Both, formula: "AND({done}, {age} > 3)"}
      always: {type: formula, name: Always, formula: "TRUE()"}
      label: {type: formula, name: Label, formula: "IF({age} > 3, 'old', '')"}
      sum: {type: formula, name: Sum, formula: "{age} + TRUE()"}
"""


@pytest.fixture
def desk(make_workspace: Callable[..., Workspace]) -> Iterator[Server]:
    ws = make_workspace({"desk": DESK})
    ws.sync_people()
    app = Starlette(routes=list(routes))
    app.state.ws = ws
    app.state.api_rate = None
    server, thread, url = serve(app)
    try:
        yield Server(ws, url, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def table(desk: Server) -> Any:
    return Api(desk.token("admin"), endpoint_url=desk.url, timeout=(5, 60), retry_strategy=None).table("desk", "Tickets")


def test_empty_values_are_left_out_of_create_update_get_and_list(table: Any) -> None:
    made = table.create({"Title": "empty", "Note": "", "Tags": [], "Done": False})
    assert made["fields"] == {"Title": "empty", "Always": 1, "Sum": 1, "Old": 0, "Both": 0}
    assert table.get(made["id"])["fields"] == made["fields"]
    changed = table.update(made["id"], {"Age": 5, "Note": "hi", "Tags": ["a"]})
    assert changed["fields"] == {"Title": "empty", "Age": 5, "Note": "hi", "Tags": ["a"], "Old": 1, "Both": 0,
                                 "Always": 1, "Label": "old", "Sum": 6}
    cleared = table.update(made["id"], {"Note": None, "Tags": [], "Age": 0})
    assert cleared["fields"] == {"Title": "empty", "Age": 0, "Old": 0, "Both": 0, "Always": 1, "Sum": 1}
    [listed] = table.all()
    assert listed["fields"] == cleared["fields"]
    assert table.all(cell_format="string", time_zone="Asia/Shanghai", user_locale="en")[0]["fields"]["Old"] == "0"


def test_logical_formulas_give_one_and_zero_and_filter_as_before(table: Any) -> None:
    table.batch_create([{"Title": "a", "Age": 9, "Done": True}, {"Title": "b", "Age": 1, "Done": True}])
    rows = {r["fields"]["Title"]: r["fields"] for r in table.all()}
    assert (rows["a"]["Old"], rows["a"]["Both"], rows["b"]["Old"], rows["b"]["Both"]) == (1, 1, 0, 0)
    assert [r["fields"]["Title"] for r in table.all(formula="{Both} = 1")] == ["a"]
    assert [r["fields"]["Title"] for r in table.all(formula="AND({Old}, {Done})")] == ["a"]
    schema = {f.name: f for f in table.schema().fields}
    assert schema["Old"].options.result.type == "number"  # as Airtable describes a logical formula


def test_the_web_app_still_shows_a_logical_formula_as_its_own_display(desk: Server) -> None:
    tickets = desk.ws.base("desk").table("tickets")
    rec = tickets.create({"title": "x", "age": 9}, actor="admin")
    assert rec["fields"]["old"] is True  # the engine's value is unchanged: the API alone writes 1/0
