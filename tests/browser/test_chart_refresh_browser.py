"""In Chromium: a dashboard opened while its chart's newer drawing is on the way (chart_refresh.py)
shows the older drawing with its caption and the exact table, then takes the newer drawing in by
itself (charts.js fetches the card again), without a reload."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import Workspace
from tests.browser.conftest import serving, signed_in
from tests.conftest import write_workspace
from tests.views.conftest import BASE, WORKSPACE
from tests.views.test_chart_refresh import DASHBOARD, PAGE

pytestmark = pytest.mark.browser

CARD = 'section.dash-card[data-widget="0"]'


@pytest.fixture(scope="module")
def refresh_server(tmp_path_factory: pytest.TempPathFactory,
                   session_database: Callable[[str], str | None]) -> Iterator[dict[str, Any]]:
    from gridbase.app import create_app

    tmp: Path = tmp_path_factory.mktemp("chart_refresh")
    root = write_workspace(tmp / "ws", {"cases": BASE + DASHBOARD}, WORKSPACE + "chart_refresh: 5\n")
    ws = Workspace.open(root, db=session_database("browser_chart_refresh"))
    ws.apply()
    with serving(create_app(ws, automations=False)) as port:
        yield {"url": f"http://127.0.0.1:{port}", "ws": ws}
    ws.close()


def drawn_labels(page: Any) -> list[str]:
    """The labels in the chart's server drawing (its narrowest one)."""
    return list(page.eval_on_selector_all(f"{CARD} .chart-svg-small svg text", "ts => ts.map(t => t.textContent)"))


def test_a_stale_chart_takes_its_newer_drawing_in_without_a_reload(refresh_server: dict[str, Any], browser: Any) -> None:
    url, ws = refresh_server["url"], refresh_server["ws"]
    table = ws.base("cases").table("cases")
    table.create({"title": "a", "status": "Open"}, actor="admin")
    context, page, watch = signed_in(browser, url, "admin", locale="en-US")
    page.goto(url + PAGE)
    assert "Open" in drawn_labels(page) and page.locator(".chart-as-of").count() == 0

    table.create({"title": "b", "status": "Done"}, actor="admin")
    page.goto(url + PAGE)
    caption = page.locator(f"{CARD} .chart-as-of")
    assert caption.inner_text().startswith("Chart as of ") and "Done" not in drawn_labels(page)
    page.eval_on_selector(f"{CARD} .chart-data", "d => { d.open = true; }")  # no focus: Vega would draw it afresh
    assert "Done" in page.locator(f"{CARD} .chart-table").inner_text()  # the table is exact
    page.evaluate("window.notReloaded = true")

    page.wait_for_function(f"""() => !document.querySelector('{CARD} .chart-as-of') &&
        Array.from(document.querySelectorAll('{CARD} .chart-svg-small svg text')).some(t => t.textContent === 'Done')""",
                           timeout=30_000)
    assert page.evaluate("window.notReloaded === true")  # the card was taken in, the page not reloaded
    assert page.locator(f"{CARD} .chart-data").get_attribute("open") is not None  # the open table stays open
    assert not watch.errors, watch.errors
    context.close()


def test_a_stale_chart_drawn_again_by_vega_loses_its_caption(refresh_server: dict[str, Any], browser: Any) -> None:
    """Reaching for the chart draws it with Vega from the newest figures: when the card is fetched
    again, Vega's drawing stays and the caption goes."""
    url, ws = refresh_server["url"], refresh_server["ws"]
    table = ws.base("cases").table("cases")
    context, page, watch = signed_in(browser, url, "admin", locale="en-US")
    table.create({"title": "c", "status": "Doing"}, actor="admin")
    page.goto(url + PAGE)  # drawn now (or shown stale, if the last drawing is recent)
    table.create({"title": "d", "status": "Doing"}, actor="admin")
    page.goto(url + PAGE)
    assert page.locator(f"{CARD} .chart-as-of").count() == 1
    page.locator(f"{CARD} .chart svg:visible").first.hover()
    page.locator(f"{CARD} .chart.vega-embed svg .mark-rect path").first.wait_for(timeout=15000)
    page.wait_for_selector(f"{CARD} .chart-as-of", state="detached", timeout=30_000)
    assert page.locator(f"{CARD} .chart.vega-embed svg .mark-rect path").count() > 0  # Vega's drawing stayed
    assert page.locator(f"{CARD} .chart-svg").count() == 0 and not watch.errors, watch.errors
    context.close()
