"""Records an automation `find`s (and loops over) reach a notification only as its recipient may read them.

A new ticket tells its owner about every open ticket (`find`, then a `for_each` with one
notification per found ticket). 李四 and 王主任 read only their own tickets,
with 备注 masked; another's tickets, and the notes, must not reach their inbox.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from automations import process_pending
from engine import Workspace, inbox

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

BASE = """\
base: desk
name: Desk
tables:
  tickets:
    name: Tickets
    primary: title
    fields:
      title: {type: text, name: 标题}
      note: {type: text, name: 备注}
      owner: {type: person, name: 负责人}
roles:
  handler:
    tickets: {access: read, rows: {owner: $me}, fields: {note: {access: read, mask: full}}, other_fields: read}
automations:
  tell_owner:
    name: Tell the owner about open tickets
    when: {created: tickets}
    do:
      - find: {table: tickets, filter: {title: {contains: MKR}}, as: open_ones}
      - for_each:
          in: open_ones
          do:
            - notify:
                to: ["{owner}"]
                title: "Each: {{ item.title }} {{ item.note }}"
"""


def test_found_records_reach_a_recipient_only_as_they_may_read_them(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"desk": BASE})
    tickets = ws.base("desk").table("tickets")
    tickets.create({"title": "MKRFOUNDOTHER", "note": "MKRFOUNDOTHERNOTE", "owner": "boss"}, actor="admin")
    process_pending(ws)
    tickets.create({"title": "MKRFOUNDMINE", "note": "MKRFOUNDMINENOTE", "owner": "li"}, actor="admin")
    process_pending(ws)
    told = inbox.latest(ws.storage, "li", 50)
    text = " ".join(f"{n['title']} {n.get('body') or ''}" for n in told)
    assert "Each: MKRFOUNDMINE" in text, text  # he is told about his own
    for needle in ("MKRFOUNDOTHER", "MKRFOUNDOTHERNOTE", "MKRFOUNDMINENOTE"):
        assert needle not in text, (needle, text)
    # 王主任 is told about his own ticket (each time a ticket is made), and about no one else's
    boss = " ".join(f"{n['title']} {n.get('body') or ''}" for n in inbox.latest(ws.storage, "boss", 50))
    assert "Each: MKRFOUNDOTHER" in boss and "MKRFOUNDMINE" not in boss and "NOTE" not in boss, boss
