"""A group's workspace in real Chromium, served at /w/NAME/: one sign-in on the group's page, then
the grid's scripts (rows, cell edits, live updates) reach the workspace under its path, and no
request goes to the site's root (it would be another app there: a 404)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gridbase.group_app import create_group_app, open_group
from tests.browser.conftest import Watch, serving
from tests.gridbase.test_group_server import GROUP, MARK_ZS, PASSWORD, write_group

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, session_database: Callable[[str], str | None]) -> Iterator[dict[str, Any]]:
    # Each workspace of the group in a database of its own on the store under test (group.yaml
    # names them), or in its folder's SQLite file.
    databases = {key: session_database(f"browser_group_{key}") for key in ("zs", "kfq")}
    group = GROUP
    if all(databases.values()):
        listed = ", ".join(f"{{folder: {key}, db: '{url}'}}" for key, url in databases.items())
        group = GROUP.replace("people:", f"workspaces: [{listed}]\npeople:", 1)
    opened = open_group(write_group(Path(tmp_path_factory.mktemp("group-browser")), group))
    table = opened.workspaces["zs"].base("cases_zs").table("cases")
    rid = table.create({"title": MARK_ZS}, actor="system")["id"]
    with serving(create_group_app(opened, automations=False)) as port:
        yield {"url": f"http://127.0.0.1:{port}", "table": table, "rid": rid}
    for ws in opened.workspaces.values():
        ws.close()


def test_a_cell_edited_in_a_group_workspace_is_saved_through_its_own_path(site: dict[str, Any], browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    watch = Watch(page)
    page.goto(site["url"] + "/")
    page.fill("#username", "gu")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.click("a[href='/w/zs/']")
    page.wait_for_url(site["url"] + "/w/zs/")
    page.goto(site["url"] + "/w/zs/b/cases_zs/t/cases")
    cell = page.locator(f'tr[data-id="{site["rid"]}"] td.cell[data-field="title"]')
    cell.wait_for()
    cell.click()
    page.keyboard.press("Z")
    page.locator("td.cell.is-editing .cell-input").wait_for()
    page.keyboard.press("Enter")
    page.wait_for_function("() => !document.querySelector('td.cell.is-editing')")
    for _ in range(50):  # the save is a request: poll the database briefly
        if site["table"].get(site["rid"], actor="system")["fields"]["title"] == "Z":
            break
        page.wait_for_timeout(100)
    assert site["table"].get(site["rid"], actor="system")["fields"]["title"] == "Z"
    assert watch.errors == [], watch.errors
    assert [url for status, url in watch.failed if "/w/zs/" not in url] == [], watch.failed
    assert watch.failed == [], watch.failed
    context.close()
