"""Issue 27 item 3: every task of the three dental workflows with the keyboard alone, in Chromium.

No click, no `fill`: each step is a key a person presses (Tab until the focus reaches what they
want, Enter, arrows, typing), on the seeded demo behind a real server. What is checked is what a
person relies on: the first Tab stop is the skip link and it lands in the main content; the
grid is one Tab stop, moved in with the arrows, Shift+Space opens a row; a kanban card is one
Tab stop, Alt+→ moves it and Enter opens it; comboboxes take ↓ and Enter; forms are sent with
Enter and say thank you with the focus on the heading; and the record changed in the database.

- patients: a consultant opens a patient from the grid, follows the patient's visit and enters
  its fee and "converted";
- complaints: a staff member fills the QR form on a phone, quality control moves the complaint
  across the board and adds a comment;
- directives: the office clerk logs a document (dates, a select, people), a department head
  sets a task's execution status in their grid.

And one race a fast typist meets: Enter in a person picker and the form's button in the same
instant — the form waits for the person to be found (dispatched in one script, so it is exact).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from engine import Workspace, comments
from tests.browser.conftest import CHROMIUM, launch_browser, serving
from tests.examples.conftest import MOBILE_UA, PASSWORD, record_row, rows

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)")]

ACTIVE = """() => { const a = document.activeElement; if (!a) return '(none)';
    return a.tagName.toLowerCase() + (a.id ? '#' + a.id : '') + (a.className && a.className.baseVal === undefined ? '.' + String(a.className).split(' ').join('.') : '')
      + ' ' + JSON.stringify((a.getAttribute('aria-label') || a.textContent || a.value || '').trim().slice(0, 30)); }"""


@pytest.fixture(scope="module")
def server(dental_seeded: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from gridbase.app import create_app

    tmp = tmp_path_factory.mktemp("dental_keyboard_workflows")
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


def new_page(browser: Any, *, phone: bool = False) -> Any:
    options: dict[str, Any] = {"locale": "zh-CN"}
    if phone:
        options.update(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, user_agent=MOBILE_UA)
    else:
        options.update(viewport={"width": 1280, "height": 900})
    page = browser.new_context(**options).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    return page


def is_focused(page: Any, selector: str) -> bool:
    return bool(page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector))


def focus_lands_on(page: Any, selector: str) -> bool:
    """Whether the page's autofocus puts the focus on `selector`: the browser moves it in a
    rendering step after the load event, so this waits for it (up to 5 s)."""
    try:
        page.wait_for_function("(s) => !!document.activeElement && document.activeElement.matches(s)",
                               arg=selector, timeout=5000)
    except PlaywrightTimeout:
        return False
    return True


def tab_to(page: Any, selector: str, limit: int = 30, key: str = "Tab") -> int:
    """Press Tab until the focus is on `selector`; the number of presses (fails past `limit`)."""
    trail = []
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        if is_focused(page, selector):
            return presses
        trail.append(page.evaluate(ACTIVE))
    raise AssertionError(f"{selector} not reached in {limit} presses of {key}; the focus went: " + " → ".join(trail))


def skip_to_main(page: Any) -> None:
    """The first Tab stop of every page is the skip link; Enter puts the focus in the main content."""
    page.keyboard.press("Tab")
    assert is_focused(page, "a.skip-link[href='#main']"), page.evaluate(ACTIVE)
    page.keyboard.press("Enter")
    assert is_focused(page, "#main"), page.evaluate(ACTIVE)


def sign_in(page: Any, url: str, person: str) -> None:
    page.goto(url + "/login")
    assert is_focused(page, "#username")  # the sign-in page starts there
    page.keyboard.type(person)
    page.keyboard.press("Tab")
    assert is_focused(page, "#password")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == url + "/"


def pick(page: Any, text: str) -> None:
    """In a combobox (option or person picker): type, wait for the list, ↓ to the option, Enter."""
    page.keyboard.type(text)
    listed = """(text) => { const a = document.activeElement; const id = a && a.getAttribute('aria-controls');
        const list = id && document.getElementById(id);
        return !!list && !list.hidden && [...list.querySelectorAll('[role=option]')].some(o => o.textContent.includes(text)); }"""
    page.wait_for_function(listed, arg=text)
    current = """(text) => { const a = document.activeElement; const id = a.getAttribute('aria-activedescendant');
        const o = id && document.getElementById(id); return !!o && o.textContent.includes(text); }"""
    for _ in range(10):
        if page.evaluate(current, text):
            break
        page.keyboard.press("ArrowDown")
    assert page.evaluate(current, text), f"{text} is not among the options"
    box = page.evaluate_handle("() => document.activeElement")
    page.keyboard.press("Enter")
    # As a person would, see the choice taken (a chip, the box emptied) before going on: Enter on a
    # list drawn for an earlier term looks the typed term up first.
    page.wait_for_function("""([el, text]) => !el.isConnected || (!el.value.includes(text) && [...(el.closest('.cbx')
        || document).querySelectorAll('.cbx-chip')].some(c => c.textContent.includes(text)))""", arg=[box, text])


def test_patients_a_consultant_opens_a_patient_and_enters_the_visit_fee(server: dict[str, Any], browser: Any) -> None:
    url, ws = server["url"], server["ws"]
    page = new_page(browser)
    sign_in(page, url, "gao_yue")
    skip_presses = 1
    page.keyboard.press("Tab")
    assert is_focused(page, "a.skip-link")  # before the header and the sidebar
    # the sidebar: the patients table
    presses = tab_to(page, "a[href='/b/patients/t/patients']", limit=25)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert skip_presses + presses < 25
    page.wait_for_selector("table.grid td.cell.is-active")
    # The grid is one Tab stop: past the views and the toolbar, straight into the active cell.
    skip_to_main(page)
    presses = tab_to(page, "table.grid td.cell", limit=20)
    assert presses <= 14
    assert page.evaluate("""() => [...document.querySelectorAll('table.grid tbody a[href], table.grid tbody button,'
        + ' table.grid tbody input, table.grid tbody [tabindex]')].filter(e => e.tabIndex >= 0).length""") == 1
    # Arrows move inside it; Shift+Space opens the row's record.
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    assert is_focused(page, "tr[data-index='2'] td.cell.is-active"), page.evaluate(ACTIVE)
    patient = page.get_attribute("tr[data-index='2']", "data-id")
    with page.expect_navigation():
        page.keyboard.press("Shift+Space")
    assert page.url.endswith(f"/b/patients/t/patients/r/{patient}")
    # The patient's visit: a link in the visits cell.
    skip_to_main(page)
    tab_to(page, "td.cell[data-field=visits] a[href*='/t/visits/r/']", limit=25)
    visit = page.evaluate("() => document.activeElement.getAttribute('href')").rsplit("/", 1)[1]
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/t/visits/r/{visit}")
    # On the visit: Enter edits the fee, Enter saves it; Space ticks "converted".
    skip_to_main(page)
    tab_to(page, "td.cell[data-field=fee]", limit=30)
    page.keyboard.press("Enter")
    assert is_focused(page, "td.cell[data-field=fee] input"), page.evaluate(ACTIVE)
    page.keyboard.press("Control+a")
    page.keyboard.type("3800")
    with page.expect_response(lambda r: r.request.method == "POST" and "/fee" in r.url) as saved:
        page.keyboard.press("Enter")
    assert saved.value.status == 200
    assert is_focused(page, "td.cell[data-field=fee]"), page.evaluate(ACTIVE)  # the focus stays on the cell
    assert float(record_row(ws, "patients", "visits", visit)["fee"]) == 3800
    before = record_row(ws, "patients", "visits", visit)["converted"]
    tab_to(page, "td.cell[data-field=converted]", limit=10, key="Shift+Tab")
    with page.expect_response(lambda r: r.request.method == "POST" and "/converted" in r.url) as saved:
        page.keyboard.press("Space")
    assert saved.value.status == 200
    assert bool(record_row(ws, "patients", "visits", visit)["converted"]) is not bool(before)
    assert page.errors == []
    page.context.close()


def test_complaints_qr_form_on_a_phone_then_the_board_and_a_comment(server: dict[str, Any], browser: Any) -> None:
    url, ws = server["url"], server["ws"]
    # A nurse scans the QR code with her phone: the form, filled with the keyboard (a phone's too).
    phone = new_page(browser, phone=True)
    sign_in(phone, url, "du_juan")
    phone.goto(url + "/f/complaints/report")
    skip_to_main(phone)
    phone.keyboard.press("Tab")
    assert is_focused(phone, "#f-title"), phone.evaluate(ACTIVE)  # the first field is the next stop
    phone.keyboard.type("候诊区饮水机没有热水")
    phone.keyboard.press("Tab")
    assert is_focused(phone, "#f-category"), phone.evaluate(ACTIVE)
    pick(phone, "环境")
    phone.keyboard.press("Tab")
    assert is_focused(phone, "#f-description"), phone.evaluate(ACTIVE)
    phone.keyboard.type("下午三点起二楼候诊区饮水机只有冷水。")
    tab_to(phone, "form button[type=submit]", limit=8)
    with phone.expect_navigation():
        phone.keyboard.press("Enter")
    assert focus_lands_on(phone, "h1"), phone.evaluate(ACTIVE)  # the thank-you heading is read first
    found = rows(ws, 'SELECT _id, category, status FROM "complaints__complaints" WHERE title = ?', ("候诊区饮水机没有热水",))
    assert len(found) == 1 and found[0]["category"] == "环境设施"
    rid, status = found[0]["_id"], found[0]["status"]
    assert phone.errors == []
    phone.context.close()

    # Quality control: the board, the card moved one column on, then a comment on it.
    page = new_page(browser)
    sign_in(page, url, "chen_jing")
    page.goto(url + "/b/complaints/t/complaints")
    skip_to_main(page)
    tab_to(page, "a[href='/b/complaints/t/complaints/kanban/board']", limit=15)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector(".kanban .card[data-move-url]")
    skip_to_main(page)
    card = f".kanban .card[data-record='{rid}']"
    tab_to(page, card, limit=40)
    # one Tab stop a card: its title's link is not a second one
    assert page.evaluate("(s) => document.querySelector(s + ' .card-title a').tabIndex", card) == -1
    columns = page.eval_on_selector_all(".kanban-column", "cols => cols.map(c => c.getAttribute('data-value'))")
    column = page.evaluate("(s) => document.querySelector(s).closest('.kanban-column').getAttribute('data-value')", card)
    assert column == status
    with page.expect_response(lambda r: r.request.method == "POST" and "/move/" in r.url) as moved:
        page.keyboard.press("Alt+ArrowRight")
    assert moved.value.status == 200
    after = columns[columns.index(status) + 1]
    page.wait_for_function("(s) => document.activeElement && document.activeElement.matches(s)", arg=card)
    assert page.evaluate("(s) => document.querySelector(s).closest('.kanban-column').getAttribute('data-value')", card) == after
    assert after in page.inner_text(".kanban-status")  # announced
    assert record_row(ws, "complaints", "complaints", rid)["status"] == after
    with page.expect_navigation():
        page.keyboard.press("Enter")  # Enter on the card opens it
    assert page.url.endswith(f"/r/{rid}")
    skip_to_main(page)
    tab_to(page, "#comment-body", limit=40)
    page.keyboard.type("已联系后勤，今天修好。")
    page.keyboard.press("Tab")
    assert is_focused(page, "form button[type=submit]"), page.evaluate(ACTIVE)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.body.innerText.includes('已联系后勤，今天修好。')"
                           " && !document.querySelector('#comment-body').value")
    said = comments.for_record(ws.base("complaints").table("complaints"), rid, actor="admin")
    assert [(c.body, c.author) for c in said][-1:] == [("已联系后勤，今天修好。", "chen_jing")]
    assert page.errors == []
    page.context.close()


def test_directives_a_clerk_logs_a_document_and_a_head_sets_a_task_status(server: dict[str, Any], browser: Any) -> None:
    url, ws = server["url"], server["ws"]
    page = new_page(browser)
    sign_in(page, url, "song_jia")
    page.goto(url + "/f/directives/log")
    skip_to_main(page)
    page.keyboard.press("Tab")
    assert is_focused(page, "#f-title"), page.evaluate(ACTIVE)
    page.keyboard.type("关于做好冬季传染病防控工作的通知")
    page.keyboard.press("Tab")
    page.keyboard.type("大卫健发〔2026〕88号")
    page.keyboard.press("Tab")
    assert is_focused(page, "#f-issuer"), page.evaluate(ACTIVE)
    pick(page, "市卫健委")
    tab_to(page, "#f-deadline", limit=8)
    page.keyboard.type("12312026")  # the browser's own date input: its fields move on as they fill (mm/dd/yyyy here)
    assert page.input_value("#f-deadline") == "2026-12-31"
    tab_to(page, ".field[data-field=departments] input.cbx-input", limit=8)
    pick(page, "赵磊")
    tab_to(page, ".field[data-field=owners] input.cbx-input", limit=6)
    pick(page, "冯艳")
    tab_to(page, "form button[type=submit]", limit=8)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert focus_lands_on(page, "h1"), page.evaluate(ACTIVE)
    doc = rows(ws, 'SELECT * FROM "directives__documents" WHERE title = ?', ("关于做好冬季传染病防控工作的通知",))
    assert len(doc) == 1
    assert (doc[0]["issuer"], doc[0]["deadline"]) == ("市卫健委", "2026-12-31")
    assert "zhao_lei" in (doc[0]["departments"] or "") and "feng_yan" in (doc[0]["owners"] or ""), doc[0]
    page.context.close()

    # A department head sets one of their tasks to done, in their own grid, with arrows and Enter.
    # Whether the seed left a task in progress depends on today's date: make one so.
    task = rows(ws, 'SELECT _id, assignee FROM "directives__tasks" ORDER BY _id LIMIT 1')[0]
    ws.base("directives").table("tasks").update(task["_id"], {"status": "执行中"}, actor="admin")
    page = new_page(browser)
    sign_in(page, url, task["assignee"])
    page.goto(url + "/b/directives/t/tasks/v/mine")
    page.wait_for_selector("table.grid td.cell.is-active")
    skip_to_main(page)
    tab_to(page, "table.grid td.cell", limit=20)
    index = int(page.get_attribute(f"tr[data-id='{task['_id']}']", "data-index") or 0)
    columns = page.eval_on_selector_all("table.grid thead th[data-field]", "ths => ths.map(th => th.dataset.field)")
    for _ in range(index):
        page.keyboard.press("ArrowDown")
    for _ in range(columns.index("status")):
        page.keyboard.press("ArrowRight")
    status_cell = f"tr[data-id='{task['_id']}'] td.cell[data-field=status]"
    assert is_focused(page, status_cell), page.evaluate(ACTIVE)
    page.keyboard.press("Enter")
    with page.expect_response(lambda r: r.request.method == "POST" and "/status" in r.url) as saved:
        pick(page, "已完成")
    assert saved.value.status == 200
    assert record_row(ws, "directives", "tasks", task["_id"])["status"] == "已完成"
    page.wait_for_function("(s) => document.activeElement && document.activeElement.closest(s)", arg=status_cell)
    assert page.errors == []
    page.context.close()


def test_a_form_sent_right_after_enter_in_a_person_picker_waits_for_the_pick(server: dict[str, Any], browser: Any) -> None:
    """Enter in a person search box and the form's button in the same instant (before the
    search has answered): the form is held until the person is found, then sent with them."""
    url, ws = server["url"], server["ws"]
    page = new_page(browser)
    sign_in(page, url, "song_jia")
    page.goto(url + "/f/directives/log")
    page.focus("#f-title")
    page.keyboard.type("关于加强院感督查的通知")
    page.focus("#f-issuer")
    pick(page, "市卫健委")
    page.focus("#f-deadline")
    page.keyboard.type("12302026")
    page.focus(".field[data-field=departments] input.cbx-input")
    pick(page, "赵磊")
    with page.expect_navigation():
        page.evaluate("""() => { const box = document.querySelector('.field[data-field=owners] input.cbx-input');
            box.focus(); box.value = '冯艳';  // typed, not yet searched: Enter must look it up
            box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true, cancelable: true}));
            box.closest('form').querySelector('button[type=submit]').click(); }""")
    doc = rows(ws, 'SELECT * FROM "directives__documents" WHERE title = ?', ("关于加强院感督查的通知",))
    assert len(doc) == 1
    assert "feng_yan" in (doc[0]["owners"] or ""), doc[0]
    assert page.errors == []
    page.context.close()
