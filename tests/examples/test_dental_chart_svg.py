"""The dental dashboards' charts drawn on the server (issue 27, item 2: a dashboard fast on a phone):
each chart arrives as inline SVG of its marks (bars, lines, pie slices) with no chart script
needed, drawn from the same figures as its Vega-Lite spec, and the drawings are cached."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree

import pytest

from engine import Workspace
from gridbase.app import create_app
from tests.examples.conftest import Clock, chart_values, local, sign_in
from tests.examples.conftest import TestClient as _TestClient
from views.pages import charts, dashboards

DASHBOARDS = ["/b/complaints/d/overview", "/b/directives/d/overview", "/b/patients/d/overview"]
MARKS = {"bar": "mark-rect", "line": "mark-line", "area": "mark-area", "pie": "mark-arc"}
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def client(dental_seeded: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Any]]:
    tmp = tmp_path_factory.mktemp("dental_svg")
    template = dental_seeded(seed_value=7, scale=0.1, at=local(2026, 6, 15, 10, 0))
    db = template.copy(tmp, "dental")
    ws = Workspace.open(template.root, db=db)
    ws.clock = Clock(local(2026, 6, 15, 10, 0))
    ws.apply()
    with _TestClient(create_app(ws, automations=False), base_url="http://testserver") as c:
        assert sign_in(c, "admin").status_code == 303
        yield ws, c
    ws.close()
    template.drop(db)


def charts_of(html: str) -> dict[int, str]:
    """{widget index: the inline SVG of its chart (its first, narrowest drawing)} of a dashboard page."""
    found = re.findall(r'<section class="dash-card wide" data-widget="(\d+)">.*?<div class="chart" [^>]*data-drawn[^>]*>\s*'
                       r'<div class="chart-svg chart-svg-\w+" data-width="\d+">(<svg.*?</svg>)', html, re.S)
    return {int(index): svg for index, svg in found}


def test_every_chart_of_the_dental_dashboards_is_drawn_on_the_server(client: tuple[Workspace, Any]) -> None:
    ws, c = client
    kinds: set[str] = set()
    for path in DASHBOARDS:
        html = c.get(path).text
        ddef = ws.base(path.split("/")[2]).bdef.dashboards["overview"]
        charts = charts_of(html)
        expected = [i for i, w in enumerate(ddef.widgets) if w.type in MARKS]
        assert sorted(charts) == expected and expected, path
        assert "<script" not in "".join(charts.values())
        for index, svg in charts.items():
            widget = ddef.widgets[index]
            kinds.add(widget.type)
            root = ElementTree.fromstring(svg)
            marks = [g for g in root.iter(f"{SVG_NS}g") if MARKS[widget.type] in (g.get("class") or "").split()]
            assert marks and any(len(g) for g in marks), (path, widget.title)
            texts = {t.text for t in root.iter(f"{SVG_NS}text")}
            sizes = {float(t.get("font-size", "0px").removesuffix("px")) for t in root.iter(f"{SVG_NS}text")}
            assert min(sizes) >= dashboards.CHART_FONT, (widget.title, sizes)
            # the labels drawn are the groups of the chart's own figures
            labels = set(chart_values(c.get(f"{path}/w/{index}.json").json()))
            if widget.type != "pie" and len(labels) <= 12:
                assert labels <= texts, (widget.title, labels - texts)
    assert kinds == {"bar", "line", "pie"}  # every chart kind the dental dashboards use


def test_a_second_view_draws_nothing(client: tuple[Workspace, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    _ws, c = client
    first = c.get(DASHBOARDS[0]).text
    drawn: list[Any] = []
    real = charts.render
    monkeypatch.setattr(charts, "render", lambda spec: drawn.append(spec) or real(spec))
    again = c.get(DASHBOARDS[0]).text
    assert drawn == [] and charts_of(again) == charts_of(first)
