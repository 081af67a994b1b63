"""In Chromium: a timeline's bar is dragged two days later, its end is stretched, and the keyboard
moves it back — each change written by the engine as the signed-in person; no console errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine import Workspace
from tests.browser.conftest import serving, signed_in
from tests.conftest import write_workspace
from tests.views.conftest import WORKSPACE
from tests.views.test_timeline import BASE

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def plan_server(tmp_path_factory: pytest.TempPathFactory, session_database: Callable[[str], str | None]) -> Iterator[dict[str, Any]]:
    from gridbase.app import create_app

    tmp: Path = tmp_path_factory.mktemp("timeline")
    root = write_workspace(tmp / "ws", {"plan": BASE}, WORKSPACE)
    ws = Workspace.open(root, db=session_database("browser_plan"))
    ws.apply()
    today = ws.now().astimezone(ws.tz).date()
    rec = ws.base("plan").table("tasks").create(
        {"title": "起草文件", "starts": today.isoformat(), "ends": (today + timedelta(days=2)).isoformat(),
         "owner": "wang", "status": "进行中"}, actor="admin")
    with serving(create_app(ws, automations=False)) as port:
        yield {"url": f"http://127.0.0.1:{port}", "ws": ws, "id": rec["id"], "today": today}
    ws.close()


def dates(server: dict[str, Any]) -> tuple[str, str]:
    fields = server["ws"].base("plan").table("tasks").get(server["id"], actor="admin")["fields"]
    return fields["starts"], fields["ends"]


def test_drag_stretch_and_keys_move_a_bar(plan_server: dict[str, Any], browser: Any, shots: Path) -> None:
    url, today = plan_server["url"], plan_server["today"]
    context, page, watch = signed_in(browser, url, "wang")
    page.goto(url + "/b/plan/t/tasks/timeline/gantt?zoom=day")
    bar = page.locator(f'.tl-bar[data-record="{plan_server["id"]}"]')
    bar.wait_for()
    column = page.locator(".tl-head .tl-col").first.bounding_box()["width"]
    box = bar.bounding_box()
    # drag the bar two columns (days) to the right
    page.mouse.move(box["x"] + 10, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 10 + column, box["y"] + box["height"] / 2, steps=5)
    page.mouse.move(box["x"] + 10 + 2 * column, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    page.wait_for_load_state("load")
    page.locator(f'.tl-bar[data-record="{plan_server["id"]}"][data-start="{(today + timedelta(days=2)).isoformat()}"]').wait_for()
    assert dates(plan_server) == ((today + timedelta(days=2)).isoformat(), (today + timedelta(days=4)).isoformat())
    # stretch its end by one column with the handle
    handle = page.locator(f'.tl-bar[data-record="{plan_server["id"]}"] .tl-handle')
    hb = handle.bounding_box()
    page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
    page.mouse.down()
    page.mouse.move(hb["x"] + hb["width"] / 2 + column, hb["y"] + hb["height"] / 2, steps=5)
    page.mouse.up()
    page.locator(f'.tl-bar[data-record="{plan_server["id"]}"][data-end="{(today + timedelta(days=5)).isoformat()}"]').wait_for()
    assert dates(plan_server)[1] == (today + timedelta(days=5)).isoformat()
    # keyboard: Alt+Left moves the whole bar back a day, and the focus comes back to it
    page.locator(f'.tl-bar[data-record="{plan_server["id"]}"]').focus()
    page.keyboard.press("Alt+ArrowLeft")
    moved_back = page.locator(f'.tl-bar[data-record="{plan_server["id"]}"][data-start="{(today + timedelta(days=1)).isoformat()}"]')
    moved_back.wait_for()
    page.wait_for_function("document.activeElement && document.activeElement.classList.contains('tl-bar')")
    assert dates(plan_server) == ((today + timedelta(days=1)).isoformat(), (today + timedelta(days=4)).isoformat())
    page.screenshot(path=str(shots / "timeline.png"), full_page=True)
    assert watch.errors == []
    history = plan_server["ws"].audit.search(base="plan", table="tasks", record=plan_server["id"])
    assert {e.actor for e in history if e.action == "update"} == {"wang"}
    context.close()
