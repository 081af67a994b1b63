"""A real server for browser tests: uvicorn in a thread on 127.0.0.1 and a free port.

The workspace is the small `cases` base of the web tests, with a few records. The whole
folder is skipped, with the reason, when Debian's chromium is not installed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from engine import Workspace
from tests.conftest import write_workspace
from tests.views.conftest import BASE, WORKSPACE
from tests_support import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); browser tests need it", allow_module_level=True)



@contextmanager
def serving(app: Any) -> Iterator[int]:
    """Run an ASGI app on a real uvicorn server on 127.0.0.1 in a thread; yield its port."""
    import uvicorn

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield port
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, session_database: Callable[[str], str | None]) -> Iterator[dict[str, Any]]:
    from gridbase.app import create_app

    tmp = tmp_path_factory.mktemp("browser")
    root = write_workspace(tmp / "ws", {"cases": BASE}, WORKSPACE)
    ws = Workspace.open(root, db=session_database("browser_browser"))
    ws.apply()
    table = ws.base("cases").table("cases")
    for title, status, score in (("Broken chair", "Open", 5), ("Cold water", "Doing", 1), ("Door squeaks", "Open", 7),
                                 ("Fixed lamp", "Done", 9)):
        table.create({"title": title, "status": status, "score": score, "phone": "13800001111"}, actor="admin")
    with serving(create_app(ws, automations=False)) as port:
        yield {"url": f"http://127.0.0.1:{port}", "host": f"127.0.0.1:{port}", "ws": ws}
    ws.close()


def launch_browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright through its executable path."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


class Watch:
    """Console errors, page errors and every request host seen by one page."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.hosts: set[str] = set()
        self.failed: list[tuple[int, str]] = []
        # A 4xx answer (e.g. the 422 of a refused cell edit) is logged by Chromium as a console
        # error without its URL; those are kept apart in `failed` so tests can check them.
        page.on("console", lambda msg: self.errors.append(msg.text)
                if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
        page.on("response", lambda res: self.failed.append((res.status, res.url)) if res.status >= 400 else None)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("request", lambda req: self.hosts.add(req.url.split("/")[2] if "://" in req.url else req.url))


def signed_in(browser: Any, url: str, person: str = "admin", **context_options: Any) -> tuple[Any, Any, Watch]:
    """A new browser context signed in through the real login form: (context, page, watch)."""
    from tests.views.conftest import PASSWORD

    options = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN", **context_options}
    context = browser.new_context(**options)
    page = context.new_page()
    watch = Watch(page)
    page.goto(url + "/login")
    page.fill("#username", person)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    return context, page, watch


@pytest.fixture
def shots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS
