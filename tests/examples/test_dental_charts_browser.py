"""The dental dashboards as staff see them in headless Chromium (issue 19, item 11): Chinese
category labels lie flat or at 45°, never upright and never cut short with "…"; no chart repeats
its card's title; the running month of a trend is drawn dashed; the complaints table has no
"全部" tab beside 全部投诉. Screenshots go to screenshots/ (git-ignored)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import Workspace
from tests.browser.conftest import CHROMIUM, SCREENSHOTS, launch_browser, serving
from tests.examples.conftest import PASSWORD, Clock, local

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)")]

DASHBOARDS = ["/b/complaints/d/overview", "/b/directives/d/overview", "/b/patients/d/overview"]


@pytest.fixture(scope="module")
def server(dental_seeded: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from gridbase.app import create_app

    tmp = tmp_path_factory.mktemp("dental_charts")
    template = dental_seeded(seed_value=7, scale=0.1, at=local(2026, 6, 15, 10, 0))
    db = template.copy(tmp, "dental")
    ws = Workspace.open(template.root, db=db)
    ws.clock = Clock(local(2026, 6, 15, 10, 0))
    ws.apply()
    with serving(create_app(ws, automations=False)) as port:
        yield {"url": f"http://127.0.0.1:{port}", "ws": ws}
    ws.close()
    template.drop(db)


@pytest.fixture(scope="module")
def page(server: dict[str, Any]) -> Iterator[Any]:
    for browser in launch_browser():
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        tab = context.new_page()
        tab.goto(server["url"] + "/login")
        tab.fill("#username", "admin")
        tab.fill("#password", PASSWORD)
        tab.click(".form-actions button[type=submit]")
        tab.wait_for_url(server["url"] + "/")
        yield tab
        context.close()


CHART_FACTS = """() => Array.from(document.querySelectorAll('.chart')).map((chart) => {
  const card = chart.closest('section, article, .card, li, div[class*=card]');
  const heading = card ? (card.querySelector('h2, h3, h4') || {}).textContent || '' : '';
  // the drawing shown (the server sends one per width, the page shows the one that fits)
  const shown = (t) => t.getClientRects().length > 0;
  const labels = Array.from(chart.querySelectorAll('.role-axis-label text')).filter(shown).map((t) => ({
    text: t.textContent, transform: t.getAttribute('transform') || '',
    hidden: t.getAttribute('opacity') === '0' || getComputedStyle(t).opacity === '0'}));
  const titles = Array.from(chart.querySelectorAll('.role-title-text text, .role-title text')).filter(shown).map((t) => t.textContent);
  const dashed = Array.from(chart.querySelectorAll('path')).filter(shown).some((p) => (p.getAttribute('stroke-dasharray') || '') !== '');
  return {heading: heading.trim(), labels, titles, dashed};
})"""


@pytest.mark.parametrize("path", DASHBOARDS)
def test_chart_labels_read_well(server: dict[str, Any], page: Any, path: str) -> None:
    page.goto(server["url"] + path)
    charts = page.locator(".chart")
    charts.first.wait_for()
    for i in range(charts.count()):  # charts are drawn as they come near the screen
        charts.nth(i).scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelectorAll('.chart').length > 0 && "
                           "Array.from(document.querySelectorAll('.chart')).every((c) => c.querySelector('svg'))")
    page.screenshot(path=str(SCREENSHOTS / f"dental_charts_{path.split('/')[2]}.png"), full_page=True)
    charts = page.evaluate(CHART_FACTS)
    assert charts
    for chart in charts:
        assert chart["titles"] == [], chart  # the card's heading is the only title
        for label in chart["labels"]:
            assert not label["text"].endswith("…"), label  # never cut short
            assert "rotate(-90" not in label["transform"] and "rotate(270" not in label["transform"], label
    if path.endswith("patients/d/overview"):  # all twelve treatments are named, none dropped for lack of room
        [treatments] = [c for c in charts if c["heading"] == "各治疗项目就诊数"]
        named = [label for label in treatments["labels"] if not label["hidden"] and not label["text"].isdigit()]
        assert len(named) == 12
    if path.endswith("complaints/d/overview"):
        trend = [c for c in charts if c["heading"] == "每月投诉数"]
        assert trend and trend[0]["dashed"]  # June 2026 is still running on the 15th


def test_complaints_tabs_have_no_duplicate_all(server: dict[str, Any], page: Any) -> None:
    page.goto(server["url"] + "/b/complaints/t/complaints/v/open")
    tabs = page.locator("nav.view-tabs a").all_inner_texts()
    assert "全部投诉" in tabs and "全部" not in tabs


TEXT_SIZES = """() => Array.from(document.querySelectorAll('.chart[data-drawn]')).map((chart) => {
  // what a person sees: the drawing shown, its text at its computed size times the drawing's scale
  const svg = Array.from(chart.querySelectorAll('svg')).find((s) => s.getClientRects().length > 0);
  if (!svg) return {shown: 0};
  const scale = svg.getBoundingClientRect().width / svg.width.baseVal.value;
  const sizes = Array.from(svg.querySelectorAll('text')).filter((t) => t.textContent.trim())
    .map((t) => parseFloat(getComputedStyle(t).fontSize) * scale);
  return {shown: 1, card: chart.clientWidth, drawn: svg.width.baseVal.value, smallest: Math.min(...sizes)};
})"""


OVERFLOW = """() => ({page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  cards: Array.from(document.querySelectorAll('.dash-card')).filter((c) => c.scrollWidth > c.clientWidth + 1)
    .map((c) => (c.querySelector('h2') || {}).textContent)})"""


@pytest.mark.parametrize("width", [320, 375, 768])
def test_chart_text_is_12_px_on_a_phone_and_a_tablet(server: dict[str, Any], page: Any, width: int) -> None:
    """Issue 27 item 5: the server's drawings are not scaled below 12 px, on a 320-px phone too
    (its card is 270 px: the narrowest drawing fits it), and nothing overflows sideways."""
    from tests.examples.conftest import MOBILE_UA

    phone = page.context.browser.new_context(viewport={"width": width, "height": 844}, is_mobile=True, has_touch=True,
                                             user_agent=MOBILE_UA, locale="zh-CN", java_script_enabled=False)
    phone.add_cookies(page.context.cookies())  # the same person, signed in; no script: the server's drawing
    try:
        tab = phone.new_page()
        assert_charts_read_well(tab, server["url"] + "/b/complaints/d/overview", width)
    finally:
        phone.close()


def test_chart_text_is_12_px_on_a_desktop(server: dict[str, Any], page: Any) -> None:
    assert_charts_read_well(page, server["url"] + "/b/complaints/d/overview", 1280)


def assert_charts_read_well(viewer: Any, url: str, width: int) -> None:
    viewer.goto(url)
    charts = viewer.evaluate(TEXT_SIZES)
    assert charts and all(c["shown"] for c in charts), (width, charts)
    for chart in charts:
        assert chart["smallest"] >= 12 - 0.01, (width, chart)
        assert chart["drawn"] <= chart["card"], (width, chart)  # drawn for its card, never wider
    overflow = viewer.evaluate(OVERFLOW)
    assert overflow == {"page": 0, "cards": []}, (width, overflow)
