"""A dashboard under writes (views/pages/chart_refresh.py): within `chart_refresh` seconds of a
chart's last drawing for its reader, a view shows that drawing with the time of its figures and an
exact table, the newer drawing comes from the background (coalesced), a reader never receives a
drawing made for someone else's figures, and a quiet chart is drawn before the page is sent."""

from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.views.conftest import BASE, WORKSPACE
from views.pages import chart_refresh, charts

DASHBOARD = """
dashboards:
  d:
    name: D
    widgets:
      - {type: bar, title: By status, table: cases, group_by: status}
"""
PAGE = "/b/cases/d/d"


class Clocks:
    """The workspace's clock (the time of figures) and chart_refresh's (when a family was drawn)."""

    def __init__(self, ws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.wall = datetime(2026, 11, 30, 2, 31, 5, tzinfo=UTC)  # 10:31:05 in Asia/Shanghai
        self.mono = 1000.0
        ws.clock = lambda: self.wall
        monkeypatch.setattr(chart_refresh, "clock", lambda: self.mono)

    def later(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


@pytest.fixture
def ws(make_workspace: Any, request: pytest.FixtureRequest) -> Any:
    """The test workspace with a dashboard of one chart (workspace.yaml's tail: the parameter, if any)."""
    return make_workspace({"cases": BASE + DASHBOARD}, WORKSPACE + getattr(request, "param", ""))


@pytest.fixture
def clocks(ws: Any, monkeypatch: pytest.MonkeyPatch) -> Clocks:
    return Clocks(ws, monkeypatch)


@pytest.fixture(autouse=True)
def no_drawings_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drawings are kept by their figures for any workspace: none from the tests before."""
    monkeypatch.setattr(charts, "_svg_cache", type(charts._svg_cache)())


@pytest.fixture
def drawings(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every drawing vl-convert makes from here on (one per width of a chart)."""
    made: list[Any] = []
    real = charts.render
    monkeypatch.setattr(charts, "render", lambda spec: made.append(spec) or real(spec))
    return made


def chart(html: str) -> tuple[set[str], str | None, dict[str, str]]:
    """(the labels drawn in the chart's SVG, its caption or None, its table: label -> figure)."""
    svg = re.search(r'<div class="chart" [^>]*data-drawn[^>]*>(.*?)</div>\s*(?:<p class="muted chart-as-of">|<details)',
                    html, re.S)
    assert svg, html
    labels = set(re.findall(r"<text[^>]*>([^<]+)</text>", svg.group(1)))
    caption = re.search(r'<p class="muted chart-as-of">([^<]*)</p>', html)
    table = dict(re.findall(r'<tr><th scope="row">(?:<a [^>]*>)?([^<]+)(?:</a>)?</th><td>([^<]+)</td></tr>', html))
    return labels, caption.group(1) if caption else None, table


def add(ws: Any, status: str, reporter: str = "admin") -> None:
    ws.base("cases").table("cases").create({"title": status, "status": status, "reporter": reporter}, actor="admin")


def test_a_view_within_refresh_shows_the_last_drawing_with_its_time_and_the_exact_table(
        ws: Any, clocks: Clocks, client_for: Any, drawings: list[Any]) -> None:
    add(ws, "Open")
    admin = client_for("admin")
    labels, caption, table = chart(admin.get(PAGE).text)
    assert "Open" in labels and "Done" not in labels and caption is None and table == {"Open": "1"}
    assert len(drawings) == len(charts.WIDTHS)  # a quiet chart: drawn before the page was sent

    clocks.later(3)
    add(ws, "Done")
    page = admin.get(PAGE).text
    labels, caption, table = chart(page)
    assert "Done" not in labels and "Open" in labels  # the picture of the figures of 10:31:05
    assert caption == "Chart as of 10:31:05, updating"
    assert table == {"Open": "1", "Done": "1"}  # the figures are the newest
    assert 'data-redraw-in="7"' in page  # its newer drawing is due 10 s after the last one
    assert len(drawings) == len(charts.WIDTHS)  # nothing drawn for this view

    clocks.later(1)
    add(ws, "Doing")
    labels, caption, table = chart(admin.get(PAGE).text)
    assert caption == "Chart as of 10:31:05, updating" and table == {"Open": "1", "Doing": "1", "Done": "1"}
    assert chart_refresh.wait_idle(hurry=True)
    assert len(drawings) == 2 * len(charts.WIDTHS)  # the two queued figures coalesced: the newest drawn once

    labels, caption, table = chart(admin.get(PAGE).text)
    assert {"Open", "Doing", "Done"} <= labels and caption is None
    assert len(drawings) == 2 * len(charts.WIDTHS)  # that drawing is the one shown now


def test_the_caption_is_in_the_readers_language(ws: Any, clocks: Clocks, client_for: Any) -> None:
    add(ws, "Open")
    admin = client_for("admin")
    admin.cookies.set("lang", "zh-CN")  # the chart's words are Chinese too: its own family
    admin.get(PAGE)
    add(ws, "Done")
    page = admin.get(PAGE).text
    assert chart(page)[1] == "图表数据截至 10:31:05，正在更新"
    assert chart_refresh.wait_idle(hurry=True)


def test_a_reader_never_receives_a_drawing_made_for_someone_else(
        ws: Any, clocks: Clocks, client_for: Any) -> None:
    """li (staff) reads only the records they reported: the admin's drawing, with the admin's
    groups, is never theirs, stale or not."""
    add(ws, "Done", reporter="admin")
    add(ws, "Open", reporter="li")
    admin, li = client_for("admin"), client_for("li")
    assert {"Done", "Open"} <= chart(admin.get(PAGE).text)[0]
    add(ws, "Doing", reporter="li")
    labels, caption, table = chart(li.get(PAGE).text)  # li's chart has no drawing yet: drawn now, li's figures
    assert "Done" not in labels and {"Open", "Doing"} <= labels and caption is None
    assert table == {"Open": "1", "Doing": "1"}
    clocks.later(2)
    add(ws, "Open", reporter="li")
    add(ws, "Done", reporter="admin")
    labels, caption, table = chart(li.get(PAGE).text)  # within refresh: li's own last drawing
    assert caption is not None and "Done" not in labels and {"Open", "Doing"} <= labels
    assert table == {"Open": "2", "Doing": "1"}
    assert "Done" not in li.get(PAGE).text
    labels, caption, _table = chart(admin.get(PAGE).text)  # the admin's stale one is the admin's
    assert caption is not None and {"Done", "Open"} <= labels and "Doing" not in labels
    assert chart_refresh.wait_idle(hurry=True)
    labels, caption, table = chart(li.get(PAGE).text)
    assert caption is None and "Done" not in labels and table == {"Open": "2", "Doing": "1"}


def test_a_quiet_chart_is_drawn_before_the_page_is_sent(
        ws: Any, clocks: Clocks, client_for: Any, drawings: list[Any]) -> None:
    add(ws, "Open")
    admin = client_for("admin")
    chart(admin.get(PAGE).text)
    clocks.later(ws.config.chart_refresh + 1)  # nothing drawn for it for longer than chart_refresh
    add(ws, "Done")
    labels, caption, _table = chart(admin.get(PAGE).text)
    assert {"Open", "Done"} <= labels and caption is None
    assert len(drawings) == 2 * len(charts.WIDTHS)


@pytest.mark.parametrize("ws", ["chart_refresh: 0\n"], indirect=True)
def test_chart_refresh_0_draws_every_change_before_the_page_is_sent(ws: Any, clocks: Clocks, client_for: Any) -> None:
    assert ws.config.chart_refresh == 0
    add(ws, "Open")
    admin = client_for("admin")
    chart(admin.get(PAGE).text)
    add(ws, "Done")
    labels, caption, _table = chart(admin.get(PAGE).text)
    assert {"Open", "Done"} <= labels and caption is None


def test_a_failed_redraw_is_logged_and_the_page_keeps_the_older_drawing(
        ws: Any, clocks: Clocks, client_for: Any, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    add(ws, "Open")
    admin = client_for("admin")
    chart(admin.get(PAGE).text)
    add(ws, "Done")
    assert chart(admin.get(PAGE).text)[1] is not None

    def broken(spec: Any) -> str:
        raise RuntimeError("the renderer broke")

    monkeypatch.setattr(charts, "render", broken)
    with caplog.at_level(logging.ERROR, logger="gridbase.charts"):
        assert chart_refresh.wait_idle(hurry=True)
    assert "chart redraw failed" in caplog.text and "the renderer broke" in caplog.text
    response = admin.get(PAGE)
    assert response.status_code == 200
    labels, caption, table = chart(response.text)
    assert "Open" in labels and "Done" not in labels and caption is not None and table == {"Open": "1", "Done": "1"}
    assert chart_refresh.wait_idle(hurry=True)  # the refresher lives on after the failure
    assert "gridbase-charts-refresh" in {t.name for t in threading.enumerate()}


def test_a_chart_whose_redraw_is_on_the_way_is_not_quiet(ws: Any, clocks: Clocks, client_for: Any) -> None:
    """Past chart_refresh since its last drawing, but with its redraw still queued (the refresher
    busy with other charts): the view shows the older drawing, it does not draw in the request."""
    add(ws, "Open")
    admin = client_for("admin")
    chart(admin.get(PAGE).text)
    add(ws, "Done")
    assert chart(admin.get(PAGE).text)[1] == "Chart as of 10:31:05, updating"  # queued, due in 10 s
    clocks.later(ws.config.chart_refresh + 5)
    add(ws, "Doing")
    labels, caption, table = chart(admin.get(PAGE).text)
    assert caption == "Chart as of 10:31:05, updating" and "Doing" not in labels and "Done" not in labels
    assert table == {"Open": "1", "Doing": "1", "Done": "1"}
    assert chart_refresh.wait_idle(hurry=True)
    labels, caption, _table = chart(admin.get(PAGE).text)
    assert caption is None and {"Open", "Doing", "Done"} <= labels
