"""A chart drawn on the server as SVG (charts.chart_svg): hostile group names stay text,
unsafe SVG is never sent, each chart comes at a small phone's, a phone's and a desktop's width
(slanted labels steeper where 45° would overlap), and the drawings
are kept in a bounded LRU keyed by the spec."""

from __future__ import annotations

import json
import re
import threading
from typing import Any
from xml.etree import ElementTree

import pytest

from gridbase.app import create_app
from tests.views.conftest import WORKSPACE, sign_in
from tests.views.conftest import TestClient as Client
from views.pages import charts

HOSTILE = ["<script>alert(1)</script>", "&<>\"'", "<img src=x onerror=alert(2)>"]


@pytest.fixture
def ws(make_workspace: Any) -> Any:
    options = ", ".join(json.dumps({"name": name}) for name in HOSTILE)  # JSON is YAML
    ws = make_workspace({"c": f"""\
base: c
name: C
tables:
  t:
    name: T
    primary: s
    fields:
      s: {{type: single_select, name: "S <b>", options: [{options}]}}
dashboards:
  d:
    name: D
    widgets:
      - {{type: bar, title: "<i>bars</i>", table: t, group_by: s}}
      - {{type: pie, title: pie, table: t, group_by: s}}
"""}, WORKSPACE)
    table = ws.base("c").table("t")
    for name in HOSTILE + HOSTILE[:1]:
        table.create({"s": name}, actor="admin")
    return ws


def test_hostile_labels_are_drawn_as_text(client_for: Any) -> None:
    html = client_for("admin").get("/b/c/d/d").text
    svgs = re.findall(r'<div class="chart-svg chart-svg-\w+" data-width="\d+">(<svg.*?</svg>)', html, re.S)
    assert len(svgs) == 2 * len(charts.WIDTHS)
    for svg in svgs:
        assert "<script" not in svg and "<img" not in svg and "onerror=" not in svg.replace("onerror=alert", "")
        root = ElementTree.fromstring(svg)
        assert not [el for el in root.iter() if el.tag.endswith(("script", "foreignObject", "img"))]
        assert not [name for el in root.iter() for name in el.attrib if name.lower().startswith("on")]
        texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
        if "mark-arc" not in svg:  # the bars name each group under its bar, as it was typed
            assert set(HOSTILE) <= texts, texts
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html


def test_unsafe_svg_is_never_sent() -> None:
    ok = '<svg xmlns="http://www.w3.org/2000/svg"><g><text>a &lt;b&gt;</text></g></svg>'
    assert charts.safe_svg(ok) == ok
    for bad in ['<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
                '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>x</p></foreignObject></svg>',
                '<svg xmlns="http://www.w3.org/2000/svg"><g style="fill:red"/></svg>',
                '<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
                '<a x:href="javascript:alert(1)"><text>x</text></a></svg>',
                "<svg", "<html/>"]:
        assert charts.safe_svg(bad) is None, bad


def spec(n: int) -> dict[str, Any]:
    return {"$schema": "https://vega.github.io/schema/vega-lite/v6.json", "height": 100, "mark": "bar",
            "data": {"values": [{"label": f"g{n}", "value": n}]},
            "encoding": {"x": {"field": "label", "type": "nominal"}, "y": {"field": "value", "type": "quantitative"}}}


def test_the_cache_is_bounded_and_keyed_by_the_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "SVG_CACHE_SIZE", 2)
    monkeypatch.setattr(charts, "_svg_cache", type(charts._svg_cache)())
    drawn: list[Any] = []
    real = charts.render
    monkeypatch.setattr(charts, "render", lambda s: drawn.append(s) or real(s))
    each = len(charts.WIDTHS)  # one drawing per width
    one = charts.chart_svg(spec(1))
    assert one is not None and ">g1<" in one
    assert charts.chart_svg(spec(1)) == one and len(drawn) == each  # the same spec: drawn once
    two = charts.chart_svg(spec(2))  # other figures: another drawing, never the first one's
    assert two is not None and ">g2<" in two and ">g1<" not in two and len(drawn) == 2 * each
    charts.chart_svg(spec(1))  # used again: now the most recent
    charts.chart_svg(spec(3))  # over the bound: the least recently used (2) goes
    assert len(charts._svg_cache) == 2 and len(drawn) == 3 * each
    charts.chart_svg(spec(1))
    assert len(drawn) == 3 * each
    charts.chart_svg(spec(2))
    assert len(drawn) == 4 * each and len(charts._svg_cache) == 2


def test_each_width_is_drawn_whole_at_that_width() -> None:
    """The picture (axes, title) fits each width of WIDTHS, its text at its drawn size: a card
    as wide shows it unscaled (app.css picks the widest that fits)."""
    markup = charts.chart_svg({**spec(4), "title": "A title", "config": {"axis": {"labelFontSize": 12, "titleFontSize": 12}}})
    assert markup is not None
    found = re.findall(r'<div class="chart-svg chart-svg-(\w+)" data-width="(\d+)">(<svg.*?</svg>)', markup, re.S)
    assert [(name, int(width)) for name, width, _svg in found] == list(charts.WIDTHS)
    for _name, width, svg in found:
        root = ElementTree.fromstring(svg)
        assert float(root.get("width") or 0) == float(width)
        sizes = {float(t.get("font-size", "0px").removesuffix("px")) for t in root.iter("{http://www.w3.org/2000/svg}text")}
        assert min(sizes) >= 12


def test_warming_draws_once_then_never_again(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[Any] = []
    real = charts.render
    monkeypatch.setattr(charts, "render", lambda s: drawn.append(s) or real(s))
    monkeypatch.setattr(charts, "warmed", type(charts.warmed)())
    charts.warm()
    assert len(drawn) == 1 and charts.warmed.is_set()
    assert charts.warm() == 0.0 and len(drawn) == 1  # warm already: nothing drawn


def test_a_spec_vl_convert_refuses_falls_back_to_the_browser() -> None:
    assert charts.chart_svg({"mark": "no-such-mark", "data": {"values": []}}) is None


def test_the_app_warms_the_renderer_when_a_page_first_lists_a_dashboard(ws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not at start (its engine holds ~60 MB for good: a server of forms and the API never needs
    it), but once a page offers a dashboard with charts, and then only once."""
    drawn: list[Any] = []
    threads: list[Any] = []
    real = charts.start_warming

    def fresh() -> None:
        monkeypatch.setattr(charts, "warmed", threading.Event())
        monkeypatch.setattr(charts, "render", lambda s: drawn.append(s) or "<svg/>")
        monkeypatch.setattr(charts, "start_warming", lambda w: threads.append(real(w)) or threads[-1])

    def visit(app: Any, path: str) -> None:
        with Client(app, base_url="http://testserver") as client:
            assert client.get("/login").status_code == 200  # no sidebar: nothing offered
            assert threads == [] and drawn == []  # started, nothing warmed
            assert sign_in(client, "admin").status_code == 303
            assert client.get(path).status_code == 200
            for thread in threads:
                if thread is not None:
                    thread.join(timeout=30)

    assert charts.has_charts(ws)
    fresh()
    visit(create_app(ws, automations=False), "/")
    assert threads == [] and drawn == []  # off unless asked (tests, commands that serve no one)
    visit(create_app(ws, automations=False, warm_charts=True), "/")
    assert len(drawn) == 1 and charts.warmed.is_set()  # one small drawing, on a thread of its own
    assert [t for t in threads if t is not None] and all(t is None for t in threads[1:])
    monkeypatch.undo()
    threads.clear()
    drawn.clear()
    fresh()
    monkeypatch.setattr(charts, "has_charts", lambda w: False)
    visit(create_app(ws, automations=False, warm_charts=True), "/")
    assert threads == [] and drawn == []  # no chart in the workspace: nothing to warm


def test_slanted_labels_turn_steeper_only_where_45_degrees_would_overlap() -> None:
    """Twelve treatments' labels at 45° lie on one another in the 248-px drawing (a 320-px
    phone's): that drawing slants them steeper, never upright; wider drawings keep 45°."""
    values = [{"label": f"治疗{i:02d}", "value": i} for i in range(12)]
    slanted = {"data": {"values": values}, "mark": "bar",
               "encoding": {"x": {"field": "label", "type": "nominal",
                                  "axis": {"labelAngle": -45, "labelLimit": 0, "labelOverlap": False}},
                            "y": {"field": "value", "type": "quantitative"}}}
    angles = {width: charts.steeper_labels(slanted, width)["encoding"]["x"]["axis"]["labelAngle"]
              for _name, width in charts.WIDTHS}
    assert angles[min(angles)] in (-60, -75) and {a for w, a in angles.items() if w >= 320} == {-45}
    assert slanted["encoding"]["x"]["axis"]["labelAngle"] == -45  # the spec itself is left alone
    flat = {**slanted, "encoding": {**slanted["encoding"], "x": {"field": "label", "type": "nominal", "axis": {"labelAngle": 0}}}}
    assert charts.steeper_labels(flat, 248) is flat  # labels side by side stay so
    plain = spec(1)
    assert charts.steeper_labels(plain, 248) is plain  # no slanted axis: nothing to do
