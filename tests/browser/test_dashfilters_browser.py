"""In Chromium: choosing a dashboard filter changes the number cards and the pivot, the link keeps
the choice, a custom range shows its day inputs, and axe finds nothing serious on the page."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import Workspace
from tests.browser.conftest import serving, signed_in
from tests.conftest import write_workspace
from tests.engine.test_dashfilters import BASE, LAST, ROWS
from tests.examples.test_accessibility import violations
from tests.views.test_dashboard_filters import WORKSPACE

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def desk_server(tmp_path_factory: pytest.TempPathFactory, session_database: Callable[[str], str | None]) -> Iterator[dict[str, Any]]:
    from gridbase.app import create_app

    tmp: Path = tmp_path_factory.mktemp("dashfilters")
    root = write_workspace(tmp / "ws", {"desk": BASE}, WORKSPACE)
    ws = Workspace.open(root, db=session_database("browser_desk"))
    ws.apply()
    table = ws.base("desk").table("cases")
    for title, cat, dept, tags, owner, amount, at in ROWS:
        table.create({"title": title, "category": cat, "dept": dept, "tags": tags, "owner": owner,
                      "amount": amount, "at": at.isoformat()}, actor="admin")
    with serving(create_app(ws, automations=False)) as port:
        yield {"url": f"http://127.0.0.1:{port}", "ws": ws}
    ws.close()


def cases(page: Any) -> str:
    return str(page.locator('section.dash-card.number:has(h2:text-is("Cases")) a.value').inner_text()).strip()


def pivot_total(page: Any) -> str:
    return str(page.locator(".pivot-table tfoot td.total").inner_text()).strip()


def test_choosing_filters_changes_cards_and_pivot(desk_server: dict[str, Any], browser: Any) -> None:
    url = desk_server["url"]
    context, page, watch = signed_in(browser, url, "admin", locale="en-US", bypass_csp=True)  # bypass: only to inject axe
    page.goto(url + "/b/desk/d/main")
    assert cases(page) == "3" and pivot_total(page) == "3"
    card = page.locator('section.dash-card.number:has(h2:text-is("Cases"))')
    assert card.locator(".dash-compare .sr-only").inner_text().startswith("Up 1 (50.0%) from the previous period")
    assert page.locator(".dash-range").is_hidden()  # shown only for a custom range

    with page.expect_navigation():
        page.get_by_label("Period", exact=True).select_option("last_month")
    assert "period=last_month" in page.url and "period_from" not in page.url  # hidden days are not sent
    assert cases(page) == "2" and pivot_total(page) == "2"

    with page.expect_navigation():
        page.get_by_label("Category", exact=True).select_option("Quality")
    assert re.search(r"cat=Quality", page.url)
    assert cases(page) == "0" and page.locator(".pivot-table").count() == 1
    with page.expect_navigation():
        page.get_by_label("Category", exact=True).select_option("")
    # The link reproduces the view: open it afresh.
    kept = page.url
    page.goto(kept)
    assert cases(page) == "2" and page.get_by_label("Period", exact=True).input_value() == "last_month"

    page.get_by_label("Period", exact=True).select_option("custom")
    assert page.locator(".dash-range").is_visible()
    page.get_by_label("From", exact=True).fill(LAST.isoformat())
    with page.expect_navigation():
        page.get_by_label("To", exact=True).fill(LAST.isoformat())
    assert f"period_from={LAST.isoformat()}" in page.url
    assert cases(page) == "2" and pivot_total(page) == "2"

    found = violations(page)
    assert not found, "\n".join(found)
    assert not watch.errors, watch.errors
    context.close()
