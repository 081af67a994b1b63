"""The header's unread badge follows new notifications without a reload."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import signed_in

pytestmark = pytest.mark.browser


def _notify(ws: Any, person: str, title: str) -> None:
    with ws.storage.transaction():
        ws.storage.conn.execute("INSERT INTO _gb_notifications (person, at, title, body) VALUES (?, ?, ?, '')",
                                (person, "2026-11-27T01:00:00Z", title))


def test_the_unread_badge_updates_without_a_reload(server: dict[str, Any], browser: Any) -> None:
    url, ws = server["url"], server["ws"]
    with ws.storage.transaction():
        ws.storage.conn.execute("UPDATE _gb_notifications SET read_at = '2026-11-27T00:00:00Z' WHERE person = 'admin'")
    context, page, watch = signed_in(browser, url)
    badge = page.locator(".inbox-link .badge")
    assert badge.count() == 0
    _notify(ws, "admin", "新通知")
    page.evaluate("window.dispatchEvent(new Event('focus'))")  # what coming back to the tab does
    badge.wait_for(timeout=5000)
    assert badge.inner_text() == "1"
    for i in range(120):
        _notify(ws, "admin", f"通知{i}")
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    page.locator(".inbox-link .badge", has_text="99+").wait_for(timeout=5000)  # (the page's CSP forbids eval)
    with ws.storage.transaction():
        ws.storage.conn.execute("UPDATE _gb_notifications SET read_at = '2026-11-27T02:00:00Z' WHERE person = 'admin'")
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    badge.wait_for(state="detached", timeout=5000)
    assert watch.errors == []  # no CSP violation, no script error
    assert watch.hosts <= {server["host"]}
    context.close()
