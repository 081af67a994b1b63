"""In Chromium: one editor per field type, the same in a grid cell, on the record page and in
a form. The people editor finds 赵磊 from 赵 (by keyboard in the grid, by click on the record
page and in a form); selects are searched and keep their colours; stars by keyboard and click;
a checkbox in one click; a date and a date-time saved in Asia/Shanghai from a browser in New
York; the example plugin's ID-card editor in all three places; files dropped on a cell; the
record page's history names a linked record and an automation; a comment appears in place."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

import plugins.example_plugin as example
from automations import process_pending
from engine import Workspace, plugins
from tests.browser.conftest import serving
from tests.conftest import write_workspace
from tests.views.editors_support import BASE, PASSWORD, WORKSPACE, seed

pytestmark = pytest.mark.browser

GOOD, SHOWN = "11010519491231002X", "110105********002X"
IDS_BASE = """\
base: ids
name: IDs
tables:
  cards:
    name: Cards
    primary: name
    fields:
      name: {type: text, name: Name, required: true}
      id_no: {type: id_card, name: ID number}
    forms:
      register: {name: Register, fields: [name, id_no]}
roles:
  nurse: {cards: {access: edit, create: true}}
"""


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory, session_database: Callable[[str], str | None]) -> Iterator[dict[str, Any]]:
    from gridbase.app import create_app

    plugins.reset()
    plugins.plugin_manager().register(example, name="example_plugin")
    try:
        tmp: Path = tmp_path_factory.mktemp("editors")
        root = write_workspace(tmp / "ws", {"clinic": BASE, "ids": IDS_BASE}, WORKSPACE)
        ws = Workspace.open(root, db=session_database("browser_editors"))
        ws.apply()
        ids = seed(ws)
        ids["card"] = ws.base("ids").table("cards").create({"name": "王五"}, actor="admin")["id"]
        with serving(create_app(ws, automations=False)) as port:
            yield {"url": f"http://127.0.0.1:{port}", "host": f"127.0.0.1:{port}", "ws": ws, "ids": ids}
        ws.close()
    finally:
        plugins.reset()


def login(browser: Any, clinic: dict[str, Any], person: str = "wang", **options: Any) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN", **options)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(clinic["url"] + "/login")
    page.fill("#username", person)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(clinic["url"] + "/")
    return context, page, errors


def task(clinic: dict[str, Any], rid: str | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = clinic["ws"].base("clinic").table("tasks").get(rid or clinic["ids"]["task"], actor="admin")["fields"]
    return fields


def saved(page: Any, selector: str) -> None:
    page.locator(selector + ":not(.is-saving):not(.is-editing)").wait_for()


def test_the_people_editor_finds_zhao_lei_from_zhao_everywhere(clinic: dict[str, Any], browser: Any, shots: Path) -> None:
    url, rid = clinic["url"], clinic["ids"]["task"]
    context, page, errors = login(browser, clinic)
    # A grid cell, by keyboard only: Enter opens the editor, 赵 lists both 赵, ↓ and Enter pick.
    page.goto(url + "/b/clinic/t/tasks")
    cell = page.locator(f"tr[data-id={rid}] td[data-field=owner]")
    cell.focus()
    page.keyboard.press("Enter")
    box = cell.locator("input[role=combobox]")
    box.wait_for()
    box.type("赵")
    options = page.locator(".cbx-list li[role=option]")
    expect(options).to_have_count(2)
    assert sorted(o.split()[0] for o in options.all_inner_texts()) == ["赵六", "赵磊"]
    assert "质控部" in options.filter(has_text="赵磊").inner_text()  # department shown
    assert box.get_attribute("aria-expanded") == "true"
    while "赵磊" not in page.locator(".cbx-list li.is-active").inner_text():
        box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == page.locator(".cbx-list li.is-active").get_attribute("id")
    page.screenshot(path=str(shots / "editors-people-in-grid.png"))
    box.press("Enter")
    page.locator(f"tr[data-id={rid}] td[data-field=owner]:not(.is-editing):not(.is-saving)", has_text="赵磊").wait_for()
    assert task(clinic)["owner"] == "zhao_lei"
    # The record page: one click edits; several people, picked by clicks, kept with Enter.
    page.goto(f"{url}/b/clinic/t/tasks/r/{rid}")
    helpers = page.locator("td[data-field=helpers]")
    helpers.click()
    box = helpers.locator("input[role=combobox]")
    box.type("lei")  # part of the account zhao_lei
    page.locator(".cbx-list li[role=option]", has_text="赵磊").click()
    box.type("王")
    page.locator(".cbx-list li[role=option]", has_text="王芳").click()
    assert helpers.locator(".cbx-chip").all_inner_texts() == ["赵磊×", "王芳×"] or helpers.locator(".cbx-chip").count() == 2
    box.press("Enter")
    saved(page, "td[data-field=helpers]")
    page.locator("td[data-field=helpers]", has_text="王芳").wait_for()
    assert task(clinic)["helpers"] == ["zhao_lei", "wang"]
    # A form: the same editor over the form's own input.
    page.goto(url + "/f/clinic/ask")
    page.fill("#f-title", "Asked in a form")
    owner = page.locator(".field[data-field=owner]")
    assert owner.locator("select[name=owner]").is_hidden()
    owner.locator("input[role=combobox]").type("赵")
    expect(page.locator(".cbx-list li[role=option]")).to_have_count(2)
    page.screenshot(path=str(shots / "editors-people-in-form.png"), full_page=True)
    page.locator(".cbx-list li[role=option]", has_text="赵磊").click()
    page.click(".form-card button[type=submit]")
    page.locator(".thanks").wait_for()
    made = clinic["ws"].base("clinic").table("tasks").query(actor="admin", search="Asked in a form").records
    assert len(made) == 1 and made[0]["fields"]["owner"] == "zhao_lei"
    assert errors == []
    context.close()


def test_selects_are_searched_and_keep_their_colours(clinic: dict[str, Any], browser: Any, shots: Path) -> None:
    url, rid = clinic["url"], clinic["ids"]["task"]
    context, page, errors = login(browser, clinic)
    page.goto(url + "/b/clinic/t/tasks")
    cell = page.locator(f"tr[data-id={rid}] td[data-field=status]")
    cell.dblclick()
    box = cell.locator("input[role=combobox]")
    box.type("do")
    options = page.locator(".cbx-list li[role=option]")
    expect(options).to_have_count(2)
    assert options.all_inner_texts() == ["Doing", "Done"]  # Open does not match
    assert options.filter(has_text="Doing").locator(".badge.opt-yellow").count() == 1
    box.press("ArrowDown")
    box.press("Enter")
    page.locator(f"tr[data-id={rid}] td[data-field=status]:not(.is-editing) .badge.opt-green", has_text="Done").wait_for()
    assert task(clinic)["status"] == "Done"
    # Several options on the record page, by keyboard: type, Enter; type, Enter; Enter keeps.
    page.goto(f"{url}/b/clinic/t/tasks/r/{rid}")
    tags = page.locator("td[data-field=tags]")
    tags.click()
    box = tags.locator("input[role=combobox]")
    for typed in ("fol", "urg"):
        box.type(typed)
        page.locator(".cbx-list li[role=option]").first.wait_for()
        expect(page.locator(".cbx-list li[role=option]")).to_have_count(1)
        box.press("Enter")
    assert tags.locator(".cbx-chip .badge.opt-blue").inner_text() == "Follow-up"
    page.screenshot(path=str(shots / "editors-record-page-multi.png"), full_page=True)
    box.press("Enter")
    page.locator("td[data-field=tags]:not(.is-editing) .badge.opt-red", has_text="Urgent").wait_for()
    assert task(clinic)["tags"] == ["Follow-up", "Urgent"]
    # A form draws the same searchable list.
    page.goto(url + "/f/clinic/ask")
    page.fill("#f-title", "Status from a form")
    page.locator(".field[data-field=status] input[role=combobox]").type("oi")
    page.locator(".cbx-list li[role=option]", has_text="Doing").click()
    assert page.locator(".field[data-field=status] .cbx-chip .badge.opt-yellow").inner_text() == "Doing"
    page.locator(".field[data-field=status] .cbx-remove").click()  # one choice may be cleared, then made again
    assert page.locator(".field[data-field=status] select[name=status]").input_value() == ""
    page.locator(".field[data-field=status] input[role=combobox]").type("oi")
    page.locator(".cbx-list li[role=option]", has_text="Doing").click()
    assert page.locator(".field[data-field=status] select[name=status]").input_value() == "Doing"
    page.click(".form-card button[type=submit]")
    page.locator(".thanks").wait_for()
    made = clinic["ws"].base("clinic").table("tasks").query(actor="admin", search="Status from a form").records
    assert made[0]["fields"]["status"] == "Doing"
    assert errors == []
    context.close()


def test_stars_by_click_and_keyboard_and_a_checkbox_in_one_click(clinic: dict[str, Any], browser: Any) -> None:
    url, rid = clinic["url"], clinic["ids"]["task"]
    context, page, errors = login(browser, clinic)
    page.goto(url + "/b/clinic/t/tasks")
    row = f"tr[data-id={rid}]"
    page.locator(f"{row} td[data-field=stars] .stars .star").nth(3).click()
    page.locator(f"{row} td[data-field=stars]:not(.is-saving)", has_text="★★★★").wait_for()
    assert task(clinic)["stars"] == 4
    stars = page.locator(f"{row} td[data-field=stars]")
    stars.focus()
    page.keyboard.press("Enter")
    slider = stars.locator("[role=slider]")
    assert slider.get_attribute("aria-valuenow") == "4"
    slider.press("ArrowLeft")
    slider.press("ArrowLeft")
    assert slider.get_attribute("aria-valuenow") == "2"
    slider.press("Enter")
    saved(page, f"{row} td[data-field=stars]")
    expect(page.locator(f"{row} td[data-field=stars]")).to_have_attribute("data-value", "2")
    assert task(clinic)["stars"] == 2
    page.locator(f"{row} td[data-field=stars]").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("5")
    page.keyboard.press("Enter")
    expect(page.locator(f"{row} td[data-field=stars]")).to_have_attribute("data-value", "5")
    assert task(clinic)["stars"] == 5
    # The checkbox: one click ticks, one more unticks.
    page.locator(f"{row} td[data-field=done] .cb-toggle").click()
    page.locator(f"{row} td[data-field=done] .cb-toggle[aria-checked=true]").wait_for()
    assert task(clinic)["done"] is True
    page.locator(f"{row} td[data-field=done] .cb-toggle").click()
    page.locator(f"{row} td[data-field=done] .cb-toggle[aria-checked=false]").wait_for()
    assert task(clinic)["done"] is False
    # A rating in a form: stars too.
    page.goto(url + "/f/clinic/ask")
    page.fill("#f-title", "Stars from a form")
    page.locator(".field[data-field=stars] .star[data-star='3']").click()
    assert page.locator(".field[data-field=stars] input[name=stars]").input_value() == "3"
    page.click(".form-card button[type=submit]")
    page.locator(".thanks").wait_for()
    made = clinic["ws"].base("clinic").table("tasks").query(actor="admin", search="Stars from a form").records
    assert made[0]["fields"]["stars"] == 3
    assert errors == []
    context.close()


def test_dates_are_saved_in_the_workspace_timezone(clinic: dict[str, Any], browser: Any) -> None:
    url, rid, ws = clinic["url"], clinic["ids"]["task"], clinic["ws"]
    context, page, errors = login(browser, clinic, timezone_id="America/New_York")
    page.goto(f"{url}/b/clinic/t/tasks/r/{rid}")
    page.locator("td[data-field=at]").click()
    page.locator("td[data-field=at] input[type=datetime-local]").fill("2026-06-20T08:00")
    page.keyboard.press("Enter")
    page.locator("td[data-field=at]:not(.is-editing):not(.is-saving)", has_text="2026-06-20 08:00").wait_for()
    assert task(clinic)["at"] == "2026-06-20T00:00:00.000Z"  # 08:00 in Shanghai, whatever the browser's zone
    before = ws.now().astimezone(ws.tz).date()
    page.locator("td[data-field=due]").click()
    page.locator("td[data-field=due] .date-today").click()
    saved(page, "td[data-field=due]")
    expect(page.locator("td[data-field=due]")).to_have_attribute("data-value", re.compile(r"^\d{4}-"))
    after = ws.now().astimezone(ws.tz).date()
    assert task(clinic)["due"] in (before.isoformat(), after.isoformat())
    assert errors == []
    context.close()


def test_the_plugin_id_card_editor_in_a_cell_the_record_page_and_a_form(clinic: dict[str, Any], browser: Any) -> None:
    url, rid, ws = clinic["url"], clinic["ids"]["card"], clinic["ws"]
    context, page, errors = login(browser, clinic)
    page.goto(url + "/b/ids/t/cards")
    cell = page.locator(f"tr[data-id={rid}] td[data-field=id_no]")
    cell.dblclick()
    box = cell.locator(".idcard-editor input")
    box.type(GOOD.lower()[:17] + "x")
    assert box.input_value() == GOOD  # the plugin's editor: upper-case X, digits only
    assert "1949-12-31" in cell.locator(".idcard-hint").inner_text()
    box.press("Enter")
    page.locator(f"tr[data-id={rid}] td[data-field=id_no]:not(.is-editing)", has_text=SHOWN).wait_for()
    assert ws.base("ids").table("cards").get(rid, actor="admin")["fields"]["id_no"] == GOOD
    page.goto(f"{url}/b/ids/t/cards/r/{rid}")
    page.locator("td[data-field=id_no]").click()
    page.locator("td[data-field=id_no] .idcard-editor input").wait_for()
    page.keyboard.press("Escape")
    page.goto(url + "/f/ids/register")
    page.fill("#f-name", "赵磊")
    page.locator(".field[data-field=id_no] .idcard-editor input").type("11010519491231002")
    page.keyboard.type("X")
    assert page.locator(".field[data-field=id_no] input[name=id_no]").input_value() == GOOD
    page.click(".form-card button[type=submit]")
    page.locator(".thanks").wait_for()
    made = ws.base("ids").table("cards").query(actor="admin", search="赵磊").records
    assert made[0]["fields"]["id_no"] == GOOD
    assert errors == []
    context.close()


def test_files_dropped_on_a_cell_are_uploaded(clinic: dict[str, Any], browser: Any) -> None:
    url, rid = clinic["url"], clinic["ids"]["task"]
    context, page, errors = login(browser, clinic)
    page.goto(f"{url}/b/clinic/t/tasks/r/{rid}")
    page.locator("td[data-field=files]").evaluate("""cell => {
        const data = new DataTransfer();
        data.items.add(new File(["x-ray notes"], "片子.txt", {type: "text/plain"}));
        for (const type of ["dragover", "drop"]) {
            cell.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: data}));
        }
    }""")
    page.locator("td[data-field=files]:not(.is-saving)", has_text="片子.txt").wait_for()
    assert [a["name"] for a in task(clinic)["files"]] == ["片子.txt"]
    # The new-record page: files dropped on the field go with the form.
    page.goto(f"{url}/b/clinic/t/tasks/new")
    page.fill("#f-title", "Dropped on the form")
    page.locator(".field[data-field=files]").evaluate("""field => {
        const data = new DataTransfer();
        data.items.add(new File(["a"], "一.txt", {type: "text/plain"}));
        data.items.add(new File(["b"], "二.txt", {type: "text/plain"}));
        field.dispatchEvent(new DragEvent("drop", {bubbles: true, cancelable: true, dataTransfer: data}));
    }""")
    assert page.locator("#f-files").evaluate("input => input.files.length") == 2
    page.locator(".form-actions button[type=submit]").first.click()
    page.wait_for_url("**/b/clinic/t/tasks/r/rec*")
    made = task(clinic, page.url.rsplit("/", 1)[-1])
    assert sorted(a["name"] for a in made["files"]) == ["一.txt", "二.txt"]
    assert errors == []
    context.close()


def test_the_record_page_history_and_comments(clinic: dict[str, Any], browser: Any) -> None:
    url, ids, ws = clinic["url"], clinic["ids"], clinic["ws"]
    tasks = ws.base("clinic").table("tasks")
    rid = tasks.create({"title": "History"}, actor="admin")["id"]
    context, page, errors = login(browser, clinic)
    page.goto(f"{url}/b/clinic/t/tasks/r/{rid}")
    # A linked record picked on the page, then an automation that writes after an owner is set.
    search = page.locator("td[data-field=patient] .link-search")
    search.fill("张")
    page.locator("td[data-field=patient] .link-results li[role=option]", has_text="张三").click()
    saved(page, "td[data-field=patient]")
    page.locator("td[data-field=patient] .link-chip", has_text="张三").wait_for()
    tasks.update(rid, {"owner": "zhao_lei"}, actor="wang")
    process_pending(ws)
    page.reload()
    history = page.locator("ul.history")
    assert "张三" in history.inner_text() and ids["张三"] not in history.inner_text()
    assert "分派后设为处理中" in history.inner_text() and "automation:" not in history.inner_text()
    # A comment appears in place, without a reload.
    page.evaluate("window.notReloaded = true")
    page.fill("#comment-body", "请 @赵磊 看一下 <b>")
    page.locator("form.comment-form button[type=submit]").click()
    page.locator("ul.comments li", has_text="请 @赵磊 看一下 <b>").wait_for()
    assert page.evaluate("window.notReloaded") is True and page.locator("#comment-body").input_value() == ""
    assert errors == []
    context.close()


def test_long_text_grows_and_cells_say_whether_they_may_be_edited(clinic: dict[str, Any], browser: Any) -> None:
    url, rid = clinic["url"], clinic["ids"]["task"]
    context, page, errors = login(browser, clinic)
    page.goto(f"{url}/b/clinic/t/tasks/r/{rid}")
    editable, readonly = page.locator("td[data-field=title]"), page.locator("td[data-field=seen_by]")
    assert readonly.get_attribute("data-readonly") == "true" and editable.get_attribute("data-readonly") is None
    plain = editable.evaluate("td => getComputedStyle(td).boxShadow")
    editable.hover()
    assert editable.evaluate("td => getComputedStyle(td).boxShadow") != plain  # shown on hover
    readonly.hover()
    assert readonly.evaluate("td => getComputedStyle(td).cursor") == "default"
    readonly.click()
    assert readonly.locator("input, [role=combobox]").count() == 0  # nothing opens
    # Long text: an editor over the page that grows with the lines typed; Shift+Enter is a new line.
    notes = page.locator("td[data-field=notes]")
    notes.click()
    box = notes.locator("textarea")
    height = box.bounding_box()["height"]
    for n in range(8):
        box.type(f"第{n + 1}行")
        box.press("Shift+Enter")
    box.type("完")
    assert box.bounding_box()["height"] > height
    box.press("Enter")
    saved(page, "td[data-field=notes]")
    assert task(clinic)["notes"].splitlines()[0] == "第1行" and task(clinic)["notes"].endswith("完")
    assert errors == []
    context.close()


def test_an_edit_begun_by_typing_starts_from_that_character(clinic: dict[str, Any], browser: Any) -> None:
    """The contract with the keyboard grid: Gridbase.startEdit(cell, {initialText})."""
    url, rid = clinic["url"], clinic["ids"]["task"]
    context, page, errors = login(browser, clinic)
    page.goto(url + "/b/clinic/t/tasks")
    row = f"tr[data-id={rid}]"
    page.locator(f"{row} td[data-field=seen_by]").wait_for()
    start = "([sel, text]) => window.Gridbase.startEdit(document.querySelector(sel), {initialText: text})"
    page.evaluate(start, [f"{row} td[data-field=owner]", "赵"])
    box = page.locator(f"{row} td[data-field=owner] input[role=combobox]")
    assert box.input_value() == "赵"
    expect(page.locator(".cbx-list li[role=option]")).to_have_count(2)
    box.press("Escape")  # cancels: the cell is as it was
    page.locator(f"{row} td[data-field=owner]:not(.is-editing)").wait_for()
    page.evaluate(start, [f"{row} td[data-field=title]", "N"])
    title = page.locator(f"{row} td[data-field=title] input")
    assert title.input_value() == "N"
    title.type("ew title")
    title.press("Enter")
    page.locator(f"{row} td[data-field=title]:not(.is-editing)", has_text="New title").wait_for()
    before = task(clinic)["done"]
    page.evaluate(start, [f"{row} td[data-field=done]", "x"])  # a letter on a checkbox changes nothing
    page.evaluate(start, [f"{row} td[data-field=done]", " "])  # Space flips it
    expect(page.locator(f"{row} td[data-field=done] .cb-toggle")).to_have_attribute("aria-checked", str(not before).lower())
    assert task(clinic)["done"] is (not before) and task(clinic)["title"] == "New title"
    assert errors == []
    context.close()
