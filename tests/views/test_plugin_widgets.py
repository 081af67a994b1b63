"""A plugin's dashboard widgets: drawn by their entry's class or template, computed for the viewer.

A plugin registered in code adds `donut` (a subclass of the built-in pie chart: drawn as a chart
with no change to the pages) and `shares` (its own card: a template over data it computes with
the viewer as actor). Neither is named anywhere in views/.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from engine import Workspace, plugins
from engine.hookspecs import hookimpl
from engine.widgets import WidgetType
from engine.widgets.builtin import PieChart
from tests.views.test_boards import BASE, WORKSPACE, add, board_client  # noqa: F401 - fixtures


class Donut(PieChart):
    """A pie with a hole (drawn as the built-in pie is)."""

    type = "donut"


class Shares(WidgetType):
    """How many records the viewer may read, and their titles."""

    type = "shares"
    template = '<p class="shares" data-count="{{ data.count }}">{% for t in data.titles %}<b>{{ t }}</b>{% endfor %}</p>'

    def compute(self, table: Any, widget: Any, actor: Any) -> dict[str, Any]:
        access = table.access(actor)
        page = table.query(actor=actor, filter=widget.filter, limit=50)
        return {"count": page.total, "titles": [table.display(r, table.tdef.primary, access) for r in page.records]}


WIDGETS = """\
      - {type: donut, title: Donut by status, table: tickets, group_by: status}
      - {type: shares, title: Shares, table: tickets}
      - {type: shares, title: Secret shares, table: secrets}
  admins:
"""


@pytest.fixture
def bws(make_workspace: Callable[..., Workspace]) -> Iterator[Workspace]:
    plugins.reset()
    plugin = SimpleNamespace(gridbase_widgets=hookimpl(lambda: [Donut, Shares]))
    plugins.plugin_manager().register(plugin, name="test_widgets")
    try:
        assert "  admins:\n" in BASE
        yield make_workspace({"ops": BASE.replace("  admins:\n", WIDGETS, 1)}, WORKSPACE)
    finally:
        plugins.reset()


def test_a_subclass_of_a_builtin_chart_is_drawn_as_that_chart(board_client, bws):  # noqa: F811
    add(bws, title="a", status="Open", owner="li")
    add(bws, title="b", status="Done", owner="wang")
    client = board_client("admin")
    page = client.get("/b/ops/d/main").text
    index = len(bws.config.bases["ops"].dashboards["main"].widgets) - 3
    assert f'data-spec-url="/b/ops/d/main/w/{index}.json"' in page
    spec = client.get(f"/b/ops/d/main/w/{index}.json").json()
    assert spec["mark"]["type"] == "arc"
    assert {v["label"]: v["value"] for v in spec["data"]["values"]} == {"Open": 1, "Done": 1}


def test_a_plugin_card_shows_only_what_the_viewer_may_read_escaped(board_client, bws):  # noqa: F811
    add(bws, title="<script>x</script>", status="Open", owner="li")
    add(bws, title="theirs", status="Open", owner="wang")
    bws.base("ops").table("secrets").create({"name": "k", "value": 1}, actor="admin")
    shown: dict[str, str] = {}
    for person in ("admin", "li", "zhao"):
        page = board_client(person).get("/b/ops/d/main")
        assert page.status_code == 200
        shown[person] = page.text
    cards = {p: re.findall(r'<p class="shares" data-count="(\d+)">(.*?)</p>', html) for p, html in shown.items()}
    assert [int(n) for n, _ in cards["admin"]] == [2, 1]  # the tickets, and the secrets
    assert [int(n) for n, _ in cards["li"]] == [1, 1]  # li reads only the tickets they own (a row rule)
    assert [int(n) for n, _ in cards["zhao"]] == [2]  # zhao may not read the secrets: that widget is skipped
    assert "theirs" not in cards["li"][0][1] and "Secret shares" not in shown["zhao"]
    assert "&lt;script&gt;x&lt;/script&gt;" in cards["li"][0][1] and "<script>x" not in shown["li"]
