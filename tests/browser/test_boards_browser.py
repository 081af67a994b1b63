"""In the browser: a dashboard's charts render (and a bar opens its records), a kanban card
is dragged to another column, and the calendar shows the month — no console errors, no host
but the server."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from engine import Workspace
from tests.browser.conftest import serving, signed_in
from tests.conftest import write_workspace
from tests.views.conftest import WORKSPACE

pytestmark = pytest.mark.browser

BASE = """\
base: ops
name: 运维
tables:
  tickets:
    name: 工单
    primary: title
    fields:
      title: {type: text, name: 标题}
      status: {type: single_select, name: 状态, options: [待受理, 处理中, 已办结]}
      amount: {type: number, name: 金额}
      day: {type: date, name: 日期}
    views:
      board: {type: kanban, name: 看板, group_by: status, fields: [title, amount]}
      cal: {type: calendar, name: 日历, date_field: day}
dashboards:
  main:
    name: 概览
    widgets:
      - {type: number, title: 工单总数, table: tickets}
      - {type: number, title: 金额合计, table: tickets, aggregate: sum, field: amount}
      - {type: bar, title: 按状态, table: tickets, group_by: status}
      - {type: pie, title: 状态占比, table: tickets, group_by: status}
      - {type: line, title: 每日趋势, table: tickets, group_by: day, bucket: day}
"""


@pytest.fixture(scope="module")
def ops_server(tmp_path_factory: pytest.TempPathFactory, session_database: Callable[[str], str | None]) -> Iterator[dict[str, Any]]:
    from gridbase.app import create_app

    tmp: Path = tmp_path_factory.mktemp("boards")
    root = write_workspace(tmp / "ws", {"ops": BASE}, WORKSPACE)
    ws = Workspace.open(root, db=session_database("browser_ops"))
    ws.apply()
    table = ws.base("ops").table("tickets")
    today = ws.now().astimezone(ws.tz).date()
    for i, (title, status) in enumerate([("漏水", "待受理"), ("停电", "处理中"), ("门锁", "待受理"), ("空调", "已办结")]):
        table.create({"title": title, "status": status, "amount": 10 * (i + 1), "day": today.replace(day=1 + i)}, actor="admin")
    with serving(create_app(ws, automations=False)) as port:
        yield {"url": f"http://127.0.0.1:{port}", "host": f"127.0.0.1:{port}", "ws": ws}
    ws.close()


def test_dashboard_charts_render_and_open_their_records(ops_server: dict[str, Any], browser: Any, shots: Path) -> None:
    url = ops_server["url"]
    context, page, watch = signed_in(browser, url)
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    page.goto(url + "/b/ops/d/main")
    # (Locators, not page.evaluate: the page's CSP forbids eval, as it should.)
    page.locator(".chart svg:visible").nth(2).wait_for(timeout=15000)  # each chart shows the drawing that fits
    # Every chart drew marks (bars, arcs, a line), not an empty frame or an error note.
    assert page.locator(".chart-error").count() == 0
    charts = page.locator(".chart")
    marks = [charts.nth(i).locator("svg path").count() for i in range(charts.count())]
    assert len(marks) == 3 and all(n > 0 for n in marks), marks
    text = page.inner_text("main")
    assert "4" in text and "100" in text  # 4 tickets, 10+20+30+40
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
    # The charts came drawn by the server: no chart script was fetched for them.
    assert page.locator("script[src*=vega]").count() == 0
    assert not [u for u in requested if "vega" in u or "/w/" in u], requested
    # A bar opens the grid filtered to its group, once the pointer has brought Vega in.
    page.locator(".chart svg:visible .mark-rect path").first.hover()
    bar = page.locator(".chart.vega-embed svg .mark-rect path").first
    bar.wait_for(timeout=15000)
    assert page.locator("script[src*=vega]").count() == 3
    bar.click()
    page.wait_for_url("**/b/ops/t/tickets?**")
    assert "f=status" in page.url
    rows = page.locator("table.grid tbody tr[data-id]").count()
    assert 1 <= rows < 4, (page.url, page.locator("table.grid tbody").inner_text())
    assert watch.errors == [], watch.errors
    assert watch.hosts == {ops_server["host"]}, watch.hosts
    context.close()


def test_kanban_drag_changes_the_value_and_calendar_shows_the_month(ops_server: dict[str, Any], browser: Any,
                                                                    shots: Path) -> None:
    url = ops_server["url"]
    ws: Workspace = ops_server["ws"]
    context, page, watch = signed_in(browser, url)
    page.goto(url + "/b/ops/t/tickets/kanban/board")
    card = page.locator(".kanban-column[data-value='待受理'] .card", has_text="漏水")
    target = page.locator(".kanban-column[data-value='已办结'] .cards")
    card.drag_to(target)
    deadline = time.monotonic() + 10
    table = ws.base("ops").table("tickets")
    moved = None
    while time.monotonic() < deadline:
        moved = [r["fields"]["status"] for r in table.query(actor="admin", filter={"title": "漏水"}).records]
        if moved == ["已办结"]:
            break
        time.sleep(0.1)
    assert moved == ["已办结"]
    page.screenshot(path=str(shots / "kanban.png"), full_page=True)
    page.goto(url + "/b/ops/t/tickets/calendar/cal")
    assert page.locator(".calendar .event").count() == 4
    page.screenshot(path=str(shots / "calendar.png"), full_page=True)
    assert watch.errors == [], watch.errors
    assert watch.hosts == {ops_server["host"]}, watch.hosts
    context.close()


def test_kanban_card_moves_by_keyboard_and_says_where(ops_server: dict[str, Any], browser: Any) -> None:
    url = ops_server["url"]
    ws: Workspace = ops_server["ws"]
    context, page, watch = signed_in(browser, url)
    page.goto(url + "/b/ops/t/tickets/kanban/board")
    card = page.locator(".card", has_text="门锁")
    assert card.get_attribute("tabindex") == "0"
    card.focus()
    page.keyboard.press("Alt+ArrowRight")  # 待受理 → 处理中
    expect(page.locator(".kanban-status")).to_contain_text("处理中")
    table = ws.base("ops").table("tickets")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = [r["fields"]["status"] for r in table.query(actor="admin", filter={"title": "门锁"}).records]
        if status == ["处理中"]:
            break
        time.sleep(0.1)
    assert status == ["处理中"]
    # the focus stays on the moved card, so a second press moves it on
    expect(page.locator(".card:focus")).to_contain_text("门锁")
    assert page.locator(".kanban-column[data-value='处理中'] .card", has_text="门锁").count() == 1
    page.keyboard.press("Alt+ArrowLeft")
    expect(page.locator(".kanban-status")).to_contain_text("待受理")
    assert watch.errors == [], watch.errors
    context.close()


def test_a_kanban_follows_changes_made_elsewhere_live(ops_server: dict[str, Any], browser: Any) -> None:
    """A board draws its cards on the server: someone else's change moves the card on an open board too."""
    url, ws = ops_server["url"], ops_server["ws"]
    table = ws.base("ops").table("tickets")
    rid = str(table.query(actor="admin", filter={"title": "停电"}, limit=1).records[0]["id"])
    context, page, watch = signed_in(browser, url)
    page.goto(url + "/b/ops/t/tickets/kanban/board")
    page.locator(f'.kanban-column[data-value="处理中"] .card[data-record="{rid}"]').wait_for(timeout=5000)
    page.wait_for_timeout(800)  # the live stream is open
    table.update(rid, {"status": "待受理"}, actor="admin")
    began = time.monotonic()
    page.locator(f'.kanban-column[data-value="待受理"] .card[data-record="{rid}"]').wait_for(timeout=3000)
    assert time.monotonic() - began < 1.5
    assert page.locator(f'.kanban-column[data-value="处理中"] .card[data-record="{rid}"]').count() == 0
    # the board still works after being drawn anew: the card moves by keyboard
    card = page.locator(f'.card[data-record="{rid}"]')
    card.focus()
    page.keyboard.press("Alt+ArrowRight")
    expect(page.locator(".kanban-status")).to_contain_text("处理中")
    assert watch.errors == [], watch.errors
    context.close()
