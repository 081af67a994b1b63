"""WCAG 2.1 AA on the demo's pages: axe-core (tests/vendor/axe.min.js, default rules) in real
Chromium finds no critical or serious violation on any page, in Chinese and in English, on a
desk screen and (forms) on a phone. A failure names the rule, the page and the elements."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_server import on_postgres

from engine import Workspace, hl7intake
from tests.browser.conftest import CHROMIUM, launch_browser, serving
from tests.examples.conftest import MOBILE_UA, PASSWORD

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)")]

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe.min.js"
SERIOUS = ("critical", "serious")
# Both languages on SQLite; on PostgreSQL (the run CI's time budget is tightest on) the Chinese
# pages only: the English ones read the same records through the same queries.
LOCALES = ["zh-CN"] if on_postgres() else ["zh-CN", "en"]

# Signed-in pages of the demo, as the admin sees them (every view type, dashboards, admin pages).
PAGES = [
    "/", "/b/patients/t/patients", "/b/patients/t/visits/v/consultant", "/b/patients/t/patients/v/by_source",
    "/b/patients/t/visits/v/calendar", "/b/patients/t/patients/new", "/b/patients/d/overview",
    "/b/complaints/t/complaints", "/b/complaints/d/overview", "/b/directives/t/documents",
    "/b/directives/t/tasks/timeline/timeline",
    "/b/directives/d/overview", "/inbox", "/admin/people", "/admin/runs", "/admin/dead", "/admin/audit",
    "/admin/intake",
]
PHONE_FORMS = ["/f/complaints/report", "/f/complaints/phone_log", "/f/mine"]
PUBLIC = ["/login", "/f/complaints/public_report"]


@pytest.fixture(scope="module")
def server(dental_seeded: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from gridbase.app import create_app

    tmp = tmp_path_factory.mktemp("dental_axe")
    template = dental_seeded(scale=0.01)
    db = template.copy(tmp, "dental")
    ws = Workspace.open(template.root, db=db)
    ws.apply()
    hl7intake.receive(ws, "MSH|^~\\&|HIS|D|G|D|20261207||ADT^A99|AXE01|P|2.5\r")  # a refused message to list
    patient = ws.base("patients").table("patients").query(actor="admin", limit=1).records
    with serving(create_app(ws, automations=False)) as port:
        yield {"url": f"http://127.0.0.1:{port}", "ws": ws, "record": f"/b/patients/t/patients/r/{patient[0]['id']}"}
    ws.close()
    template.drop(db)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


def violations(page: Any) -> list[str]:
    """axe's critical and serious findings on the page as lines: rule, impact, elements."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map("
                          "v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 4).map("
                          "n => n.target.join(' ') + ' :: ' + (n.failureSummary || '').split('\\n').slice(1, 2).join('')"
                          ")})))")
    return [f"{v['id']} ({v['impact']}): {v['help']}\n      " + "\n      ".join(v["nodes"])
            for v in found if v["impact"] in SERIOUS]


def context(browser: Any, locale: str, *, phone: bool = False) -> Any:
    options: dict[str, Any] = {"bypass_csp": True, "locale": locale}  # only so axe can be injected
    if phone:
        options.update(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, user_agent=MOBILE_UA)
    else:
        options.update(viewport={"width": 1280, "height": 900})
    return browser.new_context(**options)


def sign_in(page: Any, url: str, locale: str) -> None:
    page.goto(url + "/login")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click(".form-actions button[type=submit]")
    page.wait_for_url(url + "/")
    if locale == "en":
        with page.expect_navigation():
            page.select_option("#lang-select", "en")
        page.wait_for_load_state()


@pytest.mark.parametrize("locale", LOCALES)
def test_no_serious_violation_on_any_page(server: dict[str, Any], browser: Any, locale: str) -> None:
    url = server["url"]
    problems: dict[str, list[str]] = {}
    anonymous = context(browser, locale)
    page = anonymous.new_page()
    for path in PUBLIC:
        page.goto(url + path)
        problems[path] = violations(page)
    anonymous.close()
    desk = context(browser, locale)
    page = desk.new_page()
    sign_in(page, url, locale)
    for path in [*PAGES, server["record"]]:
        page.goto(url + path)
        page.wait_for_load_state("networkidle")
        problems[path] = violations(page)
    desk.close()
    phone = context(browser, locale, phone=True)
    page = phone.new_page()
    sign_in(page, url, locale)
    for path in PHONE_FORMS:
        page.goto(url + path)
        problems[f"{path} (phone)"] = violations(page)
    phone.close()
    found = {path: lines for path, lines in problems.items() if lines}
    assert not found, "\n".join(f"{path}:\n  " + "\n  ".join(lines) for path, lines in found.items())
