"""The inbox (list, open, mark read, count), and the admin page for dead letters."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.views.test_boards import board_client, bws  # noqa: F401 - fixtures
from tests_support import csrf_of

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)


def notify(ws: Any, person: str, title: str, at: str, **extra: Any) -> int:
    with ws.storage.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO _gb_notifications (person, at, title, body, link, base, tbl, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (person, at, title, extra.get("body", ""), extra.get("link"), extra.get("base"), extra.get("tbl"),
             extra.get("record")))
    return int(cur.lastrowid or 0)


def count(client: Any) -> int:
    response = client.get("/inbox/count")
    assert response.status_code == 200
    return int(response.json()["unread"])


def test_the_badge_counts_to_99_plus(board_client, bws):  # noqa: F811
    for i in range(150):
        notify(bws, "li", f"note {i}", "2026-11-20T01:00:00Z")
    client = board_client("li")
    assert count(client) == 100
    assert client.get("/inbox").text.count('class="badge opt-red">99+<') == 2  # header and heading
    client.post("/inbox/read-all", data={"csrf_token": csrf_of(client.get("/inbox").text)})
    notify(bws, "li", "one more", "2026-11-21T01:00:00Z")
    assert count(client) == 1 and 'class="badge opt-red">1<' in client.get("/inbox").text


def test_inbox_lists_newest_first_and_marks_read(board_client, bws):  # noqa: F811
    older = notify(bws, "li", "Older <b>note</b>", "2026-11-20T01:00:00Z", body="first body")
    newer = notify(bws, "li", "Newer note", "2026-11-25T01:00:00Z", base="ops", tbl="tickets", record="recX")
    notify(bws, "wang", "Not for li", "2026-11-26T01:00:00Z")
    client = board_client("li")
    html = client.get("/inbox").text
    assert html.index("Newer note") < html.index("Older &lt;b&gt;note&lt;/b&gt;")
    assert "Not for li" not in html and html.count('class="unread"') == 2
    assert f'href="/inbox/{newer}/open"' in html and "first body" in html
    assert count(client) == 2

    opened = client.get(f"/inbox/{newer}/open", follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/b/ops/t/tickets/r/recX"
    assert count(client) == 1

    assert client.post(f"/inbox/{older}/read", data={}).status_code == 403  # no CSRF token
    assert count(client) == 1
    done = client.post(f"/inbox/{older}/read", data={"csrf_token": client.csrf}, follow_redirects=False)
    assert done.status_code == 303 and count(client) == 0
    assert 'class="unread"' not in client.get("/inbox").text


def test_read_all_touches_only_own_notifications(board_client, bws):  # noqa: F811
    for n in range(3):
        notify(bws, "li", f"n{n}", f"2026-11-2{n}T01:00:00Z")
    theirs = notify(bws, "wang", "theirs", "2026-11-26T01:00:00Z")
    client = board_client("li")
    client.post(f"/inbox/{theirs}/read", data={"csrf_token": client.csrf})
    assert client.post("/inbox/read-all", data={"csrf_token": client.csrf}, follow_redirects=False).status_code == 303
    assert count(client) == 0
    assert count(board_client("wang")) == 1
    assert board_client("li").get(f"/inbox/{theirs}/open").status_code == 404


def test_unsafe_links_are_not_followed(board_client, bws):  # noqa: F811
    bad = notify(bws, "li", "Bad", "2026-11-25T01:00:00Z", link="javascript:alert(1)")
    client = board_client("li")
    assert "javascript:" not in client.get("/inbox").text
    assert client.get(f"/inbox/{bad}/open", follow_redirects=False).headers["location"] == "/inbox"


def test_dead_letters_retry(board_client, bws):  # noqa: F811
    conn = bws.storage.writer
    conn.execute("INSERT INTO _gb_deliveries (channel, person, payload, key, status, attempts, next_at, last_error) "
                 "VALUES ('mail', 'li', ?, 'k1', 'dead', 8, '2026-11-25T01:00:00Z', 'smtp refused')",
                 (json.dumps({"title": "Overdue ticket"}),))
    client = board_client("admin")
    html = client.get("/admin/dead").text
    assert "smtp refused" in html and "Overdue ticket" in html and "Li Si" in html
    assert client.post("/admin/dead/1/retry", data={}).status_code == 403  # no CSRF token
    done = client.post("/admin/dead/1/retry", data={"csrf_token": client.csrf}, follow_redirects=False)
    assert done.status_code == 303
    status, attempts = conn.execute("SELECT status, attempts FROM _gb_deliveries WHERE id = 1").fetchone()
    assert (status, attempts) == ("pending", 0)
    assert "smtp refused" not in client.get("/admin/dead").text
