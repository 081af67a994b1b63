"""In Chromium on a phone: a conditional question appears when the answer it depends on is
chosen, disappears again when that answer changes, and the record keeps only what was asked.
No console errors and no host but the server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import Workspace
from tests.browser.conftest import serving, signed_in
from tests.conftest import write_workspace
from tests.views.conftest import WORKSPACE
from tests.views.test_form_logic import LOGIC_BASE

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture(scope="module")
def logic(tmp_path_factory: pytest.TempPathFactory, session_database: Callable[[str], str | None]) -> Iterator[dict[str, Any]]:
    from gridbase.app import create_app

    tmp: Path = tmp_path_factory.mktemp("logic")
    root = write_workspace(tmp / "ws", {"cases": LOGIC_BASE}, WORKSPACE)
    ws = Workspace.open(root, db=session_database("browser_logic"))
    ws.apply()
    with serving(create_app(ws, automations=False)) as port:
        yield {"url": f"http://127.0.0.1:{port}", "host": f"127.0.0.1:{port}", "ws": ws}
    ws.close()


def choose(page: Any, key: str, option: str) -> None:
    """Pick an option in the form's option combobox (editors.js) by tapping it."""
    page.locator(f"#f-{key}").click()
    page.locator(f".field[data-field={key}] [role=option]", has_text=option).first.click()


def test_conditional_question_on_a_phone(logic: dict[str, Any], browser: Any, shots: Path) -> None:
    url = logic["url"]
    context, page, watch = signed_in(browser, url, "admin", **PHONE)
    page.goto(url + "/f/cases/logic")
    phone = page.locator(".field[data-field=phone]")
    score = page.locator(".field[data-field=score]")
    due = page.locator(".field[data-field=due]")
    assert phone.is_hidden() and score.is_hidden() and due.is_hidden()
    page.fill("#f-title", "Asked on a phone")
    choose(page, "status", "Doing")
    phone.wait_for(state="visible")
    assert score.is_visible() and due.is_hidden()
    page.fill("#f-phone", "13800001111")
    due.wait_for(state="visible")  # a question depending on an answered one
    page.fill("#f-score", "6")
    page.screenshot(path=str(shots / "form-logic-phone.png"), full_page=True)
    # another answer hides the phone again (and the question that depends on it)
    choose(page, "status", "Done")
    phone.wait_for(state="hidden")
    assert due.is_hidden() and score.is_visible()
    choose(page, "status", "Doing")
    phone.wait_for(state="visible")
    page.locator("form.form-card button[type=submit]").click()
    page.locator(".thanks").wait_for()
    recs = logic["ws"].base("cases").table("cases").query(actor="admin").records
    (rec,) = recs
    assert rec["fields"]["status"] == "Doing" and rec["fields"]["phone"] == "13800001111" and rec["fields"]["score"] == 6
    # Done hides the phone: a submission then keeps no phone
    page.goto(url + "/f/cases/logic")
    page.fill("#f-title", "No phone")
    choose(page, "status", "Done")
    page.locator("form.form-card button[type=submit]").click()
    page.locator(".thanks").wait_for()
    recs = logic["ws"].base("cases").table("cases").query(actor="admin").records
    other = next(r for r in recs if r["fields"]["title"] == "No phone")
    assert "phone" not in other["fields"]
    assert watch.errors == [], watch.errors
    assert watch.hosts <= {logic["host"]}, watch.hosts
    context.close()
