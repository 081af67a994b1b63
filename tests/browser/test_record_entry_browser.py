"""In the browser: the linked-record picker (type, pick, save; on the new-record page, the
record page and a grid cell), a date-time cell that is not emptied by one Backspace (and the
formula next to it refreshed after a real edit), and a form whose date defaults to today.
One server for the module; no console errors and no host but the server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import Workspace
from tests.browser.conftest import serving, signed_in
from tests.conftest import write_workspace
from tests.views.entry_support import BASE, WORKSPACE, seed

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory, session_database: Callable[[str], str | None]) -> Iterator[dict[str, Any]]:
    from gridbase.app import create_app

    tmp: Path = tmp_path_factory.mktemp("entry")
    root = write_workspace(tmp / "ws", {"clinic": BASE}, WORKSPACE)
    ws = Workspace.open(root, db=session_database("browser_entry"))
    ws.apply()
    ids = seed(ws)
    with serving(create_app(ws, automations=False)) as port:
        yield {"url": f"http://127.0.0.1:{port}", "host": f"127.0.0.1:{port}", "ws": ws, "ids": ids}
    ws.close()


def visit(clinic: dict[str, Any], rid: str) -> dict[str, Any]:
    fields: dict[str, Any] = clinic["ws"].base("clinic").table("visits").get(rid, actor="admin")["fields"]
    return fields


def clean(watch: Any, clinic: dict[str, Any]) -> None:
    assert watch.errors == [], watch.errors
    assert watch.hosts <= {clinic["host"]}, watch.hosts


def test_new_record_with_the_picker(clinic: dict[str, Any], browser: Any, shots: Path) -> None:
    url, ids = clinic["url"], clinic["ids"]
    context, page, watch = signed_in(browser, url, "wang")
    page.goto(url + "/b/clinic/t/visits/v/all")
    page.locator("a.btn-primary", has_text="+").click()
    page.wait_for_url("**/b/clinic/t/visits/new?view=all")
    page.fill("#f-title", "Picked in the browser")
    page.locator("#f-patient").fill("张")
    options = page.locator("[data-field=patient] .link-results li[role=option]")
    options.first.wait_for()
    assert sorted(options.all_inner_texts()) == ["张三", "张三丰"]  # ward A only
    options.filter(has_text="张三丰").click()
    chip = page.locator("[data-field=patient] .link-chip")
    assert chip.inner_text().strip().startswith("张三丰")
    # a single link: picking another replaces it (by keyboard this time)
    page.locator("#f-patient").fill("李")
    page.locator("[data-field=patient] .link-results li[role=option]", has_text="李四").wait_for()
    page.locator("#f-patient").press("Enter")
    assert chip.count() == 1 and chip.inner_text().strip().startswith("李四")
    # a multiple link keeps several
    helpers = page.locator("#f-helpers")
    for name in ("张三丰", "张三"):
        helpers.fill(name)
        page.locator("[data-field=helpers] .link-results li[role=option]", has_text=name).first.wait_for()
        page.locator("[data-field=helpers] .link-results li[role=option]").filter(has_text=name).first.click()
    assert page.locator("[data-field=helpers] .link-chip").count() == 2
    page.locator("[data-field=helpers] .link-chip", has_text="张三丰").locator(".link-remove").click()
    assert page.locator("[data-field=helpers] .link-chip").count() == 1
    page.screenshot(path=str(shots / "new-record-picker.png"), full_page=True)
    page.locator(".form-actions button[type=submit]", has_text="Save").first.click()
    page.wait_for_url("**/b/clinic/t/visits/r/rec*")
    assert "李四" in page.locator("td[data-field=patient]").inner_text()
    rid = page.url.rsplit("/", 1)[-1]
    fields = visit(clinic, rid)
    assert fields["patient"] == [ids["李四"]] and fields["helpers"] == [ids["张三"]]
    assert fields["title"] == "Picked in the browser"
    clean(watch, clinic)
    context.close()


def test_link_cells_on_the_record_page_and_in_the_grid(clinic: dict[str, Any], browser: Any) -> None:
    url, ids = clinic["url"], clinic["ids"]
    rid = ids["visit"]
    context, page, watch = signed_in(browser, url, "wang")
    page.goto(f"{url}/b/clinic/t/visits/r/{rid}")
    search = page.locator("td[data-field=helpers] .link-search")
    search.fill("李")
    page.locator("td[data-field=helpers] .link-results li[role=option]", has_text="李四").click()
    page.locator("td[data-field=helpers] .link-chip", has_text="李四").wait_for()
    page.locator("td[data-field=helpers]:not(.is-saving)").wait_for()
    assert visit(clinic, rid)["helpers"] == [ids["李四"]]
    page.locator("td[data-field=helpers] .link-chip", has_text="李四").locator(".link-remove").click()
    page.locator("td[data-field=helpers] .link-chip").wait_for(state="detached")
    page.locator("td[data-field=helpers]:not(.is-saving)").wait_for()
    assert not visit(clinic, rid).get("helpers")
    # In the grid: double-click the link cell, pick, and the cell shows the new record.
    page.goto(url + "/b/clinic/t/visits/v/all")
    cell = page.locator(f"tr[data-id={rid}] td[data-field=patient]")
    assert cell.locator(".link-picker").count() == 0  # the column's picker is built in the cell when edited
    cell.dblclick()
    grid_search = cell.locator(".link-search")
    assert grid_search.get_attribute("aria-label") == cell.get_attribute("data-label")
    assert cell.locator(".link-chip input[type=hidden]").count() == cell.locator(".link-chip .link-remove").count()
    grid_search.fill("张三丰")
    cell.locator(".link-results li[role=option]", has_text="张三丰").click()
    page.locator(f"tr[data-id={rid}] td[data-field=patient]:not(.is-saving) .link-chip", has_text="张三丰").wait_for()
    assert visit(clinic, rid)["patient"] == [ids["张三丰"]]
    # By keyboard: Enter opens the cell's picker, what is typed is searched, Enter keeps the
    # first match; Enter opens the picker again and Escape closes it, the focus back on the cell.
    cell.focus()
    page.keyboard.press("Enter")
    page.keyboard.type("李四")
    cell.locator(".link-results li[role=option]", has_text="李四").wait_for()
    page.keyboard.press("Enter")
    page.locator(f"tr[data-id={rid}] td[data-field=patient]:not(.is-saving) .link-chip", has_text="李四").wait_for()
    assert visit(clinic, rid)["patient"] == [ids["李四"]]
    cell.focus()
    page.keyboard.press("Enter")
    assert cell.locator(".link-search").evaluate("el => el === document.activeElement")
    page.keyboard.press("Escape")
    assert "is-editing" not in (cell.get_attribute("class") or "")
    # The focus is on the cell, also when the saves' late refreshes redraw it (editors.js asks
    # for a saved record's cells again 1.5 s and 5 s on; live updates too): wait, then check.
    page.wait_for_function("sel => document.activeElement === document.querySelector(sel)",
                           arg=f"tr[data-id={rid}] td[data-field=patient]", timeout=5000)
    clean(watch, clinic)
    context.close()


def test_one_backspace_in_a_datetime_cell_keeps_the_value(clinic: dict[str, Any], browser: Any, shots: Path) -> None:
    url, rid = clinic["url"], clinic["ids"]["visit"]
    before = visit(clinic, rid)
    context, page, watch = signed_in(browser, url, "wang")
    page.goto(url + "/b/clinic/t/visits/v/all")
    cell = page.locator(f"tr[data-id={rid}] td[data-field=at]")
    shown = cell.inner_text().strip()
    due = page.locator(f"tr[data-id={rid}] td[data-field=due]")
    due_before = due.inner_text().strip()
    cell.dblclick()
    editor = cell.locator("input[type=datetime-local]")
    editor.wait_for()
    editor.press("Backspace")
    page.locator("h1, .toolbar .record-count").first.click()
    error = cell.locator(".cell-error")
    error.wait_for()
    assert error.inner_text() == page.locator("body").get_attribute("data-msg-bad-date")
    page.screenshot(path=str(shots / "datetime-kept.png"))
    assert cell.inner_text().replace(error.inner_text(), "").strip() == shown
    assert visit(clinic, rid)["at"] == before["at"] and visit(clinic, rid)["due"] == before["due"]
    # A real edit saves, and the formula computed from it (Due) is refreshed in its row.
    page.locator(f"tr[data-id={rid}] td[data-field=at]").dblclick()
    editor = page.locator(f"tr[data-id={rid}] td[data-field=at] input[type=datetime-local]")
    editor.fill("2026-06-20T08:00")
    editor.press("Enter")
    page.locator(f"tr[data-id={rid}] td[data-field=at]:not(.is-editing)", has_text="2026-06-20 08:00").wait_for()
    page.locator(f"tr[data-id={rid}] td[data-field=due]", has_text="2026-06-23").wait_for()
    assert due.inner_text().strip() != due_before
    assert visit(clinic, rid)["at"] == "2026-06-20T00:00:00.000Z"
    # Clearing takes the explicit button.
    page.locator(f"tr[data-id={rid}] td[data-field=at]").dblclick()
    page.locator(f"tr[data-id={rid}] td[data-field=at] .date-clear").click()
    page.locator(f"tr[data-id={rid}] td[data-field=at]:not(.is-editing):not(.is-saving)").wait_for()
    page.locator(f"tr[data-id={rid}] td[data-field=due]:not(:has-text('2026'))").wait_for()
    assert not visit(clinic, rid).get("at")
    assert [s for s, u in watch.failed] == []
    clean(watch, clinic)
    context.close()


def test_a_form_date_defaults_to_today(clinic: dict[str, Any], browser: Any) -> None:
    url, ws = clinic["url"], clinic["ws"]
    today = ws.now().astimezone(ws.tz).date().isoformat()
    context, page, watch = signed_in(browser, url, "admin")
    page.goto(url + "/b/clinic/t/patients")
    page.locator("summary", has_text="Forms").click()
    page.locator(".forms-menu a", has_text="Register a patient").click()
    page.wait_for_url("**/f/clinic/register")
    assert page.locator("#f-since").input_value() == today
    page.fill("#f-name", "Form in the browser")
    page.click(".form-card button[type=submit]")
    page.locator(".thanks").wait_for()
    found = ws.base("clinic").table("patients").query(actor="admin", search="Form in the browser").records
    assert len(found) == 1 and found[0]["fields"]["since"] == today
    clean(watch, clinic)
    context.close()
