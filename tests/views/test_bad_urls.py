"""Hand-edited addresses in the web app: a page offset, a calendar month or week, or a
notification id out of range is a 400 page saying what to choose instead, or a 404 — never a
500 (SQLite's and Python's integer and date limits stay behind the views)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from engine import Workspace
from gridbase.app import create_app
from tests.views.test_boards import PASSWORD, bws  # noqa: F401 - fixture
from tests_support import csrf_of, sign_in

HUGE = "99999999999999999999999"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def admin(bws: Workspace) -> Iterator[TestClient]:  # noqa: F811
    """The whole web app (its own error pages) over the boards workspace, signed in as admin."""
    with TestClient(create_app(bws, automations=False), base_url="http://testserver") as client:
        assert sign_in(client, "admin", PASSWORD).status_code == 303
        yield client


# -- the grid's offset -------------------------------------------------------------------------
def test_grid_offset_too_large_is_400_saying_what_to_do(admin: TestClient, bws: Workspace) -> None:  # noqa: F811
    bws.base("ops").table("tickets").create({"title": "one"}, actor="admin")
    for offset in (HUGE, "2147483648", "9" * 5000):
        r = admin.get(f"/b/ops/t/tickets?offset={offset}")
        assert r.status_code == 400, (offset[:30], r.status_code)
        text = _text(r.text)
        assert "is too large: a page can start at row 2147483647 at the most" in text, text[:500]
        assert "remove offset from the address" in text
    # Offsets in range, and text that is not a number, still show a page.
    for offset in ("0", "2147483647", "abc", "-5", "1e5"):
        assert admin.get(f"/b/ops/t/tickets?offset={offset}").status_code == 200, offset
    assert "one" in admin.get("/b/ops/t/tickets?offset=abc").text


# -- calendar periods --------------------------------------------------------------------------
@pytest.mark.parametrize("query, message", [
    ("month=9999-12", "month 9999-12 is outside the calendar: choose a month from 0002-01 to 9998-12"),
    ("month=0001-01", "month 0001-01 is outside the calendar: choose a month from 0002-01 to 9998-12"),
    (f"month={HUGE}-01", "is outside the calendar: choose a month from 0002-01 to 9998-12"),
    ("month=" + "1" * 5000 + "-01", "11111111111111111111… is outside the calendar"),
    ("week=9999-W52", "week 9999-W52 is outside the calendar: choose a week of a year from 0002 to 9998"),
    ("week=0001-W01", "week 0001-W01 is outside the calendar: choose a week of a year from 0002 to 9998"),
    (f"week={HUGE}-W01", "is outside the calendar: choose a week of a year from 0002 to 9998"),
])
def test_calendar_period_out_of_range_is_400_with_the_range(admin: TestClient, query: str, message: str) -> None:
    r = admin.get(f"/b/ops/t/tickets/calendar/cal?{query}")
    assert r.status_code == 400, r.status_code
    assert message in _text(r.text), _text(r.text)[:500]


def test_calendar_edges_of_the_range_and_unreadable_periods_show_a_calendar(admin: TestClient) -> None:
    for query in ("month=0002-01", "month=9998-12", "week=0002-W01", "week=9998-W52", "month=2026-13",
                  "month=abc", "week=2026-W99", "month=2026-1x"):
        r = admin.get(f"/b/ops/t/tickets/calendar/cal?{query}")
        assert r.status_code == 200, (query[:30], r.status_code)
    assert "9998-12" in admin.get("/b/ops/t/tickets/calendar/cal?month=9998-12").text


# -- notification and dead-letter ids ----------------------------------------------------------
def test_huge_notification_ids_are_404(admin: TestClient, bws: Workspace) -> None:  # noqa: F811
    with bws.storage.transaction() as conn:
        conn.execute("INSERT INTO _gb_notifications (person, at, title, body) VALUES ('admin', "
                     "'2026-11-20T01:00:00Z', 'kept', '')")
    token = csrf_of(admin.get("/inbox").text)
    for ident in (HUGE, str(2**63)):
        r = admin.get(f"/inbox/{ident}/open", follow_redirects=False)
        assert r.status_code == 404 and "unknown notification" in _text(r.text), r.status_code
        r = admin.post(f"/inbox/{ident}/read", data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 404 and "unknown notification" in _text(r.text), r.status_code
        r = admin.post(f"/admin/dead/{ident}/retry", data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 404 and "unknown dead letter" in _text(r.text), r.status_code
        assert admin.get(f"/admin/runs?before={ident}").status_code == 200
    # The notification that exists is untouched and still unread.
    assert admin.get("/inbox/count").json() == {"unread": 1}


