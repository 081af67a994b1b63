"""Kanban, calendar and gallery pages, and moving cards, through a small app with real sign-in.

The fixtures here (`bws`, `board_client`) are also used by test_dashboards.py and
test_inbox.py: a workspace with one base (`ops`) and people signed in through /login.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from engine import NotFoundError, PermissionDenied, Workspace
from gridbase import app as gbapp
from views.pages import admin, auth, boards, dashboards, inbox
from views.pages.web import LoginRequired

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

PASSWORD = "correct horse battery"

WORKSPACE = f"""\
workspace: boards
name: Boards
timezone: Asia/Shanghai
locale: en
roles:
  admin: {{name: Admin, admin: true}}
  handler: {{name: Handler}}
  viewer: {{name: Viewer}}
people:
  admin: {{name: Admin, roles: [admin], password: "{PASSWORD}"}}
  li: {{name: Li Si, roles: [handler], password: "{PASSWORD}"}}
  wang: {{name: Wang Fang, roles: [handler], password: "{PASSWORD}"}}
  zhao: {{name: Zhao Liu, roles: [viewer], password: "{PASSWORD}"}}
"""

BASE = """\
base: ops
name: Ops
tables:
  tickets:
    name: Tickets
    primary: title
    fields:
      title: {type: text, name: Title, required: true}
      status: {type: single_select, name: Status, options: [Open, Doing, Done]}
      owner: {type: person, name: Owner}
      phone: {type: phone, name: Phone}
      amount: {type: number, name: Amount, precision: 2}
      due_at: {type: datetime, name: Due}
      photo: {type: attachment, name: Photo}
      secret: {type: text, name: Secret}
    views:
      board: {type: kanban, name: Board, group_by: status, fields: [title, owner, phone, secret]}
      people: {type: kanban, name: By owner, group_by: owner, filter: {status: {neq: Done}}}
      cal: {type: calendar, name: Cal, date_field: due_at}
      pics: {type: gallery, name: Pics, cover: photo}
  secrets:
    name: Secrets
    primary: name
    fields:
      name: {type: text, name: Name}
      value: {type: number, name: Value}
roles:
  handler:
    tickets:
      access: edit
      rows: {owner: $me}
      fields:
        phone: {access: read, mask: phone}
        secret: none
    secrets: {access: read}
  viewer:
    tickets: {access: read}
dashboards:
  main:
    name: Main
    widgets:
      - {type: number, title: Total, table: tickets, aggregate: count}
      - {type: number, title: Open ones, table: tickets, aggregate: count, filter: {status: Open}}
      - {type: number, title: Amount sum, table: tickets, aggregate: sum, field: amount}
      - {type: number, title: Done share, table: tickets, aggregate: percent, where: {status: Done}}
      - {type: bar, title: By status, table: tickets, group_by: status}
      - {type: pie, title: Amount by owner, table: tickets, group_by: owner, aggregate: sum, field: amount}
      - {type: number, title: Secret count, table: secrets, aggregate: count}
      - {type: bar, title: Secret bars, table: secrets, group_by: name}
      - {type: line, title: Per day, table: tickets, group_by: due_at, bucket: day}
      - {type: bar, title: By phone, table: tickets, group_by: phone}
  admins:
    name: Admins only
    roles: [admin]
    widgets:
      - {type: number, title: Total, table: tickets}
"""


def build_app(ws: Workspace) -> Starlette:
    """My routes, sign-in, static files and the app's own error handlers."""
    handlers: dict[Any, Any] = {LoginRequired: gbapp.on_login_required, NotFoundError: gbapp.on_not_found,
                                PermissionDenied: gbapp.on_denied, HTTPException: gbapp.on_http}
    app = Starlette(routes=[*auth.routes, *boards.routes, *dashboards.routes, *inbox.routes, *admin.routes,
                            Mount("/static", app=StaticFiles(directory=gbapp.STATIC), name="static")],
                    exception_handlers=handlers)
    app.state.ws = ws
    return app


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


@pytest.fixture
def bws(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace({"ops": BASE}, WORKSPACE)


@pytest.fixture
def board_client(bws: Workspace) -> Iterator[Callable[[str], Any]]:
    """board_client(person) -> a TestClient signed in through the real /login; `.csrf` holds its token."""
    app = build_app(bws)
    clients: list[TestClient] = []

    def make(person: str) -> Any:
        client = TestClient(app, base_url="http://testserver")
        client.__enter__()
        clients.append(client)
        page = client.get("/login")
        done = client.post("/login", data={"username": person, "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                           "next": "/inbox"}, follow_redirects=False)
        assert done.status_code == 303, done.text
        client.csrf = csrf_of(client.get("/inbox").text)  # type: ignore[attr-defined]
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def tickets(ws: Workspace) -> Any:
    return ws.base("ops").table("tickets")


def add(ws: Workspace, **values: Any) -> dict[str, Any]:
    return tickets(ws).create(values, actor="admin")


def column_of(html: str, value: str) -> str:
    """The HTML of one kanban column."""
    match = re.search(r'<section class="kanban-column" data-value="' + re.escape(value) + r'">(.*?)</section>', html, re.S)
    assert match, f"no column {value!r}"
    return match.group(1)


# -- kanban ----------------------------------------------------------------------------------
def test_kanban_shows_only_readable_rows_and_masks(board_client, bws):
    add(bws, title="Mine open", status="Open", owner="li", phone="13800001111", secret="s3cret")
    add(bws, title="Mine done", status="Done", owner="li")
    add(bws, title="Not mine", status="Open", owner="wang")
    add(bws, title="No status", owner="li")
    page = board_client("li").get("/b/ops/t/tickets/kanban/board")
    assert page.status_code == 200
    html = page.text
    assert "Not mine" not in html
    assert "Mine open" in column_of(html, "Open") and "Mine done" in column_of(html, "Done")
    assert "No status" in column_of(html, "")
    assert "*******1111" in html and "13800001111" not in html
    assert "s3cret" not in html and "<dt>Secret</dt>" not in html and "<dt>Phone</dt>" in html
    assert "data-move-url=" in html and "/static/vendor/Sortable.min.js" in html
    admin = board_client("admin").get("/b/ops/t/tickets/kanban/board").text
    assert "Not mine" in admin and "13800001111" in admin


def test_kanban_by_person_uses_names_and_view_filter(board_client, bws):
    add(bws, title="Alpha", status="Open", owner="li")
    add(bws, title="Finished", status="Done", owner="wang")
    html = board_client("admin").get("/b/ops/t/tickets/kanban/people").text
    assert "Alpha" in column_of(html, "li") and "Li Si" in html
    assert "Finished" not in html


def test_kanban_columns_count_every_record_not_only_the_cards_shown(board_client, bws, monkeypatch):
    import views.pages.boards

    monkeypatch.setattr(views.pages.boards, "BOARD_LIMIT", 2)
    for i in range(4):
        add(bws, title=f"Open {i}", status="Open")
    add(bws, title="Done 1", status="Done")
    html = board_client("admin").get("/b/ops/t/tickets/kanban/board").text
    counts = {value: re.search(r'<span class="count">(\d+)</span>', column_of(html, value)).group(1)
              for value in ("Open", "Done")}
    assert counts == {"Open": "4", "Done": "1"}
    assert column_of(html, "Open").count('class="card"') + column_of(html, "Done").count('class="card"') == 2


def test_move_changes_value_and_writes_audit(board_client, bws):
    rec = add(bws, title="Move me", status="Open", owner="li")
    client = board_client("li")
    done = client.post(f"/b/ops/t/tickets/r/{rec['id']}/move/status?view=board", data={"value": "Doing"},
                       headers={"X-CSRF-Token": client.csrf})
    assert done.status_code == 200, done.text
    assert 'class="card"' in done.text and "Move me" in done.text and "data-move-url" in done.text
    assert tickets(bws).get(rec["id"], actor="admin")["fields"]["status"] == "Doing"
    audit = bws.storage.conn.execute("SELECT actor, field, old, new FROM _gb_audit WHERE record = ? AND action = 'update'",
                                     (rec["id"],)).fetchall()
    assert audit == [("li", "status", '"Open"', '"Doing"')]
    empty = client.post(f"/b/ops/t/tickets/r/{rec['id']}/move/status", data={"value": ""},
                        headers={"X-CSRF-Token": client.csrf})
    assert empty.status_code == 200
    assert "status" not in tickets(bws).get(rec["id"], actor="admin")["fields"]


def test_forbidden_moves_change_nothing(board_client, bws):
    rec = add(bws, title="Guarded", status="Open", owner="wang")
    viewer = board_client("zhao")
    url = f"/b/ops/t/tickets/r/{rec['id']}/move/status"
    denied = viewer.post(url, data={"value": "Done"}, headers={"X-CSRF-Token": viewer.csrf})
    assert denied.status_code == 403 and denied.text
    hidden = board_client("li").post(url, data={"value": "Done"}, headers={"X-CSRF-Token": viewer.csrf})
    assert hidden.status_code in (403, 404)
    admin = board_client("admin")
    assert admin.post(url, data={"value": "Done"}).status_code == 403  # no CSRF token
    bad = admin.post(url, data={"value": "Nope"}, headers={"X-CSRF-Token": admin.csrf})
    assert bad.status_code == 422 and "Open" in bad.text
    assert tickets(bws).get(rec["id"], actor="admin")["fields"]["status"] == "Open"
    assert bws.storage.conn.execute("SELECT count(*) FROM _gb_audit WHERE action = 'update'").fetchone()[0] == 0


def test_unknown_or_wrong_type_view_is_404(board_client, bws):
    client = board_client("admin")
    assert client.get("/b/ops/t/tickets/kanban/cal").status_code == 404
    assert client.get("/b/ops/t/tickets/kanban/nope").status_code == 404
    assert board_client("zhao").get("/b/ops/t/secrets/kanban/board").status_code == 404


# -- calendar --------------------------------------------------------------------------------
def day_cell(html: str, day: str) -> str:
    match = re.search(r'data-date="' + day + r'">(.*?)</(?:div|section)>', html, re.S)
    assert match, f"no day {day}"
    return match.group(1)


def test_calendar_places_record_on_local_date(board_client, bws):
    rec = add(bws, title="Late call", due_at="2026-11-25T20:00:00Z", owner="li")
    add(bws, title="Other month", due_at="2026-10-02T02:00:00Z")
    client = board_client("admin")
    html = client.get("/b/ops/t/tickets/calendar/cal?month=2026-11").text
    assert "Late call" in day_cell(html, "2026-11-26") and "04:00" in day_cell(html, "2026-11-26")
    assert "Late call" not in day_cell(html, "2026-11-25")
    assert f"/b/ops/t/tickets/r/{rec['id']}" in html and "Other month" not in html
    week = client.get("/b/ops/t/tickets/calendar/cal?week=2026-W48").text
    assert "Late call" in day_cell(week, "2026-11-26")
    assert "?month=2026-12" in html and "?month=2026-10" in html
    assert "Late call" not in board_client("wang").get("/b/ops/t/tickets/calendar/cal?month=2026-11").text


# -- gallery ---------------------------------------------------------------------------------
def test_gallery_cover_only_for_images(board_client, bws):
    ids = []
    for name, mime in (("a.png", "image/png"), ("b.pdf", "application/pdf")):
        ident = "att" + f"{len(ids):016x}"
        bws.storage.writer.execute("INSERT INTO _gb_attachments (id, sha256, name, size, type, uploaded_by, uploaded_at) "
                                 "VALUES (?, 'x', ?, 1, ?, 'admin', '2026-01-01T00:00:00Z')", (ident, name, mime))
        ids.append({"id": ident, "name": name, "size": 1, "type": mime})
    add(bws, title="With photo", photo=[ids[0]])
    add(bws, title="With pdf", photo=[ids[1]])
    html = board_client("admin").get("/b/ops/t/tickets/gallery/pics").text
    assert f'src="/att/{ids[0]["id"]}"' in html and ids[1]["id"] not in html
    assert "With pdf" in html


def test_card_text_is_escaped(board_client, bws):
    add(bws, title="<script>alert(1)</script>", status="Open")
    html = board_client("admin").get("/b/ops/t/tickets/kanban/board").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_a_person_cell_searches_only_active_people_but_keeps_one_already_named(bws):
    import json

    from views.pages import cells

    with bws.storage.transaction() as conn:
        conn.execute("UPDATE _gb_people SET disabled = 1 WHERE key = 'wang'")
    table = tickets(bws)
    actor = bws.actor("admin")
    theirs = table.get(add(bws, title="Wang's", owner="wang")["id"], actor="admin")
    mine = table.get(add(bws, title="Li's", owner="li")["id"], actor="admin")
    assert cells.build(table, mine, "owner", actor, editable=True)["editor"]["search_url"] == "/b/ops/t/tickets/people/owner"
    offered = [p["value"] for p in json.loads(cells.people_answer(bws, "").body)["people"]]
    assert "wang" not in offered and "li" in offered
    kept = cells.build(table, theirs, "owner", actor, editable=True)
    assert [c["value"] for c in kept["editor"]["chosen"]] == ["wang"] and kept["value"] == "wang"  # still shown
