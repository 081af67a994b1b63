"""Issue 27 items 3–5 in real Chromium on the seeded dental demo, with the keyboard only:

- forms announce errors properly: `required`/`aria-required`, help and error tied with
  `aria-describedby`, `aria-invalid`, ONE error summary (an alert with a heading and a link
  naming each wrong field and what is wrong) that takes the focus, its links focus the field;
  the same without JavaScript (server-rendered); the thank-you page's heading has the focus;
- charts are named by their title in the page's language, have a "show as table" table of
  the same figures, draw text of 12 px at least, and their scripts load only with charts;
- menus and the phone's sidebar keep Tab inside while open, close on Escape and give the
  focus back to what opened them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import Workspace
from tests.browser.conftest import CHROMIUM, launch_browser, serving
from tests.examples.conftest import MOBILE_UA, PASSWORD

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)")]

PUBLIC_FORM = "/f/complaints/public_report"
STAFF_FORM = "/f/complaints/report"
DASHBOARD = "/b/complaints/d/overview"
GRID = "/b/patients/t/patients"


@pytest.fixture(scope="module")
def server(dental_seeded: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from gridbase.app import create_app

    tmp = tmp_path_factory.mktemp("dental_keyboard")
    template = dental_seeded(scale=0.01)
    db = template.copy(tmp, "dental")
    ws = Workspace.open(template.root, db=db)
    ws.apply()
    with serving(create_app(ws, automations=False)) as port:
        yield {"url": f"http://127.0.0.1:{port}", "ws": ws}
    ws.close()
    template.drop(db)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


def new_page(browser: Any, *, locale: str = "zh-CN", phone: bool = False, js: bool = True) -> Any:
    options: dict[str, Any] = {"locale": locale, "java_script_enabled": js}
    if phone:
        options.update(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, user_agent=MOBILE_UA)
    else:
        options.update(viewport={"width": 1280, "height": 900})
    return browser.new_context(**options).new_page()


def sign_in(page: Any, url: str, locale: str = "zh-CN") -> None:
    page.goto(url + "/login")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(url + "/")
    if page.input_value("#lang-select") != locale:  # the choice is the person's: an earlier test may have made it
        with page.expect_navigation():
            page.select_option("#lang-select", locale)


def focused(page: Any) -> dict[str, Any]:
    """What has the focus: tag, id, class, its field's key, and whether it is in the summary."""
    return dict(page.evaluate("""() => { const a = document.activeElement; const f = a && a.closest('.field');
        return {tag: a ? a.tagName : null, id: a ? a.id : '', cls: a ? a.className : '',
                field: f ? f.getAttribute('data-field') : null, text: a ? a.textContent.trim() : '',
                summary: !!(a && a.closest('.error-summary')), menu: !!(a && a.closest('details.menu')),
                sidebar: !!(a && a.closest('.sidebar'))}; }"""))


def focus_after_load(page: Any) -> dict[str, Any]:
    """What has the focus once the page's autofocus has run: the browser moves it in a rendering
    step after the load event, so a quick look can still find it on the body."""
    page.wait_for_function("() => document.activeElement && document.activeElement !== document.body",
                           timeout=5000)
    return focused(page)


def tab_to(page: Any, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching `selector` has the focus (as a keyboard user would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} never got the focus with Tab")


def summary_of(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("""() => {
        const alerts = [...document.querySelectorAll('[role=alert]')].filter(e => e.offsetParent !== null);
        const s = document.querySelector('.error-summary');
        return {alerts: alerts.length, heading: s ? s.querySelector('h2').textContent.trim() : null,
                links: s ? [...s.querySelectorAll('a')].map(a => [a.getAttribute('href'), a.textContent.trim()]) : [],
                labelled: s ? s.getAttribute('aria-labelledby') : null};
    }"""))


def control_state(page: Any, key: str) -> dict[str, Any]:
    """The accessibility attributes of field `key`'s input as a screen reader meets them."""
    return dict(page.evaluate("""key => {
        const host = document.querySelector(`.field[data-field="${key}"]`);
        const box = [...host.querySelectorAll('input, textarea, select')].find(e => e.type !== 'hidden' && e.offsetParent !== null);
        const ids = (box.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
        return {required: box.required, ariaRequired: box.getAttribute('aria-required'),
                invalid: box.getAttribute('aria-invalid'),
                described: ids.map(id => (document.getElementById(id) || {textContent: '?' + id}).textContent.trim())};
    }""", key))


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_public_form_errors_are_summarised_and_take_the_focus(server: dict[str, Any], browser: Any, js: bool) -> None:
    url = server["url"]
    page = new_page(browser, phone=True, js=js)
    page.goto(url + PUBLIC_FORM)
    # before any error: required fields say so, help is tied to its field, nothing is invalid
    phone = control_state(page, "patient_phone")
    assert phone == {"required": True, "ariaRequired": "true", "invalid": None, "described": ["方便我们回访您"]}
    assert control_state(page, "patient_name")["required"] is False
    page.fill("#f-patient_phone", "not a phone")
    tab_to(page, ".form-actions button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    summary = summary_of(page)
    # ONE alert: the summary, with a heading, naming each wrong field and what is wrong
    assert summary["alerts"] == 1 and summary["labelled"] == "error-summary-title"
    assert summary["heading"] == "请更正以下 3 个问题"
    assert summary["links"] == [["#f-title", "请填写“您想反映的问题”"], ["#f-description", "请填写“详细说明”"],
                                ["#f-patient_phone", "联系电话: 应为电话号码（数字、空格、+、- 或括号）"]]
    assert focus_after_load(page)["summary"], focused(page)
    # each wrong field: aria-invalid, its error (and help) read with it
    assert control_state(page, "title") == {"required": True, "ariaRequired": "true", "invalid": "true",
                                            "described": ["请填写“您想反映的问题”"]}
    assert control_state(page, "patient_phone")["described"] == ["方便我们回访您", "应为电话号码（数字、空格、+、- 或括号）"]
    assert control_state(page, "patient_name")["invalid"] is None
    # the summary's links lead to the fields
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "请填写“详细说明”"
    page.keyboard.press("Enter")
    assert focused(page)["field"] == "description" and focused(page)["tag"] == "TEXTAREA"
    page.keyboard.type("候诊区空调太冷")
    page.fill("#f-title", "空调")
    page.fill("#f-patient_phone", "not a phone")
    tab_to(page, ".form-actions button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    summary = summary_of(page)  # a wrong value: the field is named with what is wrong with it
    assert summary["heading"] == "请更正以下问题" and summary["alerts"] == 1
    assert summary["links"] == [["#f-patient_phone", "联系电话: 应为电话号码（数字、空格、+、- 或括号）"]]
    assert page.input_value("#f-patient_phone") == "not a phone"  # what was typed is kept
    assert page.input_value("#f-title") == "空调"
    # put right, sent: the thank-you page's heading has the focus
    page.fill("#f-patient_phone", "13800001111")
    tab_to(page, ".form-actions button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert focus_after_load(page)["tag"] == "H1" and focused(page)["text"] == "感谢填写"
    page.context.close()


def test_signed_in_form_and_new_record_page_in_english(server: dict[str, Any], browser: Any) -> None:
    url = server["url"]
    page = new_page(browser, locale="en", phone=True)
    sign_in(page, url, "en")
    page.goto(url + STAFF_FORM)
    assert control_state(page, "description")["described"] == ["请写明时间、地点、经过，越详细越好"]
    tab_to(page, ".form-actions button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    summary = summary_of(page)
    assert summary["alerts"] == 1 and summary["heading"] == "Please correct 2 problems"
    assert [text for _href, text in summary["links"]] == ["一句话说明问题 is required", "问题描述 is required"]
    assert focus_after_load(page)["summary"]
    assert control_state(page, "description")["described"] == ["请写明时间、地点、经过，越详细越好", "问题描述 is required"]
    # the new-record page: the same summary
    page.goto(url + "/b/complaints/t/complaints/new")
    tab_to(page, ".form-actions button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    summary = summary_of(page)
    assert summary["alerts"] == 1 and summary["links"], summary
    assert focus_after_load(page)["summary"]
    first = summary["links"][0][0][len("#f-"):]
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert focused(page)["field"] == first
    assert control_state(page, first)["invalid"] == "true"
    page.context.close()


def chart_facts(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate("""() => [...document.querySelectorAll('.dash-card .chart')].map(c => ({
        title: c.closest('.dash-card').querySelector('h2').textContent.trim(),
        label: c.getAttribute('aria-label'),
        smallest: Math.min(...[...c.querySelectorAll('svg text')].map(t => parseFloat(getComputedStyle(t).fontSize))),
        url: c.getAttribute('data-spec-url')}))"""))


def test_charts_are_named_drawn_large_enough_and_read_as_tables(server: dict[str, Any], browser: Any) -> None:
    url = server["url"]
    page = new_page(browser)
    sign_in(page, url)
    page.goto(url + GRID)
    assert page.locator("script[src*=vega]").count() == 0  # no chart, no chart scripts
    page.goto(url + DASHBOARD)
    for n in range(page.locator(".chart").count()):  # charts come drawn by the server, no script needed
        page.locator(".chart").nth(n).scroll_into_view_if_needed()
        page.locator(".chart").nth(n).locator("svg:visible").first.wait_for(timeout=20000)  # the drawing that fits
    assert page.locator("script[src*=vega]").count() == 0
    charts = chart_facts(page)
    assert len(charts) == 7  # the overview's charts, the campus comparison among them
    assert "Vega visualization" not in page.content() and "aria-roledescription=\"visualization" not in page.content()
    for chart in charts:
        assert chart["label"] == f"图表：{chart['title']}"
        assert page.get_by_role("img", name=chart["label"], exact=True).count() == 1  # its accessible name
        assert chart["smallest"] >= 12, chart
    # "以表格显示", opened with the keyboard: the chart's own figures as a table
    tab_to(page, ".dash-card:nth-child(6) details.chart-data > summary")
    card_title = page.evaluate("() => document.activeElement.closest('.dash-card').querySelector('h2').textContent")
    assert page.evaluate("() => document.activeElement.textContent") == "以表格显示"
    table = page.locator(".dash-card:nth-child(6) table.chart-table")
    assert not table.is_visible()
    page.keyboard.press("Enter")
    assert table.is_visible()
    spec_url = next(c["url"] for c in charts if c["title"] == card_title)
    spec = page.evaluate("u => fetch(u).then(r => r.json())", spec_url)
    values = spec["data"]["values"]
    rows = page.evaluate("""() => [...document.querySelectorAll('.dash-card:nth-child(6) table.chart-table tbody tr')]
        .map(tr => [tr.querySelector('th').textContent.trim(), tr.querySelector('td').textContent.trim()])""")
    assert rows == [[v["label"], f"{int(v['value']):,}"] for v in values] and rows
    headers = page.locator(".dash-card:nth-child(6) table.chart-table thead th").all_inner_texts()
    assert headers[1] == "计数" or headers[1] == "Count" or headers[1]
    page.context.close()


def test_menus_trap_tab_close_on_escape_and_return_focus(server: dict[str, Any], browser: Any) -> None:
    url = server["url"]
    page = new_page(browser)
    sign_in(page, url)
    page.goto(url + "/b/complaints/t/complaints")
    tab_to(page, "details.columns-menu > summary")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.querySelector('details.columns-menu').open")
    page.wait_for_function("() => document.activeElement.closest('details.menu[open]') && !document.activeElement.matches('summary')")
    assert focused(page)["menu"]  # the focus went into the menu
    for _ in range(40):  # more presses than the menu has stops: it never leaves
        page.keyboard.press("Tab")
        assert focused(page)["menu"], focused(page)
    for _ in range(5):
        page.keyboard.press("Shift+Tab")
        assert focused(page)["menu"], focused(page)
    page.keyboard.press("Escape")
    assert not page.evaluate("() => document.querySelector('details.columns-menu').open")
    assert page.evaluate("() => document.activeElement.matches('details.columns-menu > summary')")
    # the forms menu likewise; opening it closes nothing else that stays trapped
    tab_to(page, "details.forms-menu > summary", limit=80)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.closest('details.menu[open]') && !document.activeElement.matches('summary')")
    assert focused(page)["menu"]
    page.keyboard.press("Escape")
    assert page.evaluate("() => document.activeElement.matches('details.forms-menu > summary')")
    page.context.close()


def test_phone_sidebar_traps_tab_and_returns_focus(server: dict[str, Any], browser: Any) -> None:
    url = server["url"]
    page = new_page(browser, phone=True)
    sign_in(page, url)
    page.goto(url + GRID)
    tab_to(page, ".sidebar-toggle")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.body.classList.contains('sidebar-open')")
    assert focused(page)["sidebar"]
    for _ in range(60):
        page.keyboard.press("Tab")
        assert focused(page)["sidebar"], focused(page)
    page.keyboard.press("Escape")
    assert not page.evaluate("() => document.body.classList.contains('sidebar-open')")
    assert page.evaluate("() => document.activeElement.matches('.sidebar-toggle')")
    assert page.url == url + GRID
    page.context.close()


def test_a_native_dialog_traps_tab_closes_on_escape_and_returns_focus(server: dict[str, Any], browser: Any) -> None:
    """Gridbase.openDialog (a11y.js) for any <dialog> a page or a plugin adds: <button data-dialog="id">."""
    url = server["url"]
    page = new_page(browser)
    page.goto(url + "/login")
    page.evaluate("""() => {
        const main = document.querySelector('main') || document.body;
        main.insertAdjacentHTML('beforeend', '<button type="button" id="opener" data-dialog="d1">Open</button>' +
          '<dialog id="d1" aria-label="Test"><button type="button" id="one">One</button><a href="#x">Two</a>' +
          '<button type="button" data-close>Close</button></dialog>');
    }""")
    tab_to(page, "#opener")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.getElementById('d1').open")
    assert page.evaluate("() => document.activeElement.id") == "one"
    for _ in range(7):
        page.keyboard.press("Tab")
        assert page.evaluate("() => !!document.activeElement.closest('#d1')")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("() => !!document.activeElement.closest('#d1')")
    page.keyboard.press("Escape")
    assert not page.evaluate("() => document.getElementById('d1').open")
    assert page.evaluate("() => document.activeElement.id") == "opener"
    # closed by its own button: the focus goes back too
    page.keyboard.press("Enter")
    page.keyboard.press("Shift+Tab")  # to "Close" (the last stop), around from the first
    assert page.evaluate("() => document.activeElement.hasAttribute('data-close')")
    page.keyboard.press("Enter")
    assert not page.evaluate("() => document.getElementById('d1').open")
    assert page.evaluate("() => document.activeElement.id") == "opener"
    # closed and opened again at once (Escape, then Enter on a loaded machine): the close event, which
    # comes a moment later, leaves the new opening alone: the focus in it and Tab still kept inside
    inside = page.evaluate("""() => new Promise((done) => {
        document.getElementById('opener').click();
        document.getElementById('d1').close();
        document.getElementById('opener').click();
        setTimeout(() => done(document.activeElement.id), 50);
    })""")
    assert inside == "one" and page.evaluate("() => document.getElementById('d1').open")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("() => document.activeElement.hasAttribute('data-close')")
    page.context.close()
