"""engine.logsearch: `gridbase audit`'s search of the write and read logs, each filter alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from engine import Workspace, logsearch

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

BASE = """\
base: clinic
name: Clinic
tables:
  patients:
    name: 患者
    primary: name
    sensitive: true
    fields:
      name: {type: text, name: 姓名}
      phone: {type: text, name: 电话}
  notes:
    name: 备注
    primary: title
    fields:
      title: {type: text, name: 标题}
roles:
  handler: {patients: {access: edit}, notes: {access: edit}}
"""


@pytest.fixture
def ws(make_workspace: Any) -> Workspace:
    ws = make_workspace({"clinic": BASE})
    patients, notes = ws.base("clinic").table("patients"), ws.base("clinic").table("notes")

    def on(day: int) -> None:
        ws.clock = lambda: datetime(2026, 5, day, 1, tzinfo=UTC)
    on(1)
    ws.rid = patients.create({"name": "张三"}, actor="admin")["id"]  # type: ignore[attr-defined]
    on(2)
    patients.update(ws.rid, {"phone": "13800001111"}, actor="li")  # type: ignore[attr-defined]
    on(3)
    notes.create({"title": "n1"}, actor="li")
    on(4)
    patients.get(ws.rid, actor="li")  # type: ignore[attr-defined]  # a read of a sensitive table is logged
    return ws


def test_every_entry_in_time_order_by_default(ws: Any) -> None:
    found = logsearch.search(ws)
    assert [e["at"] for e in found] == sorted(e["at"] for e in found)
    writes = [(e["actor"], e["table"], e["action"]) for e in found if e["log"] == "write"]
    assert writes == [("admin", "clinic.patients", "create"), ("li", "clinic.patients", "update"),
                      ("li", "clinic.notes", "create")]
    update = next(e for e in found if e["action"] == "update")
    assert (update["field"], update["old"], update["new"]) == ("phone", "", '"13800001111"')
    reads = [e for e in found if e["log"] == "read"]
    assert reads and all(e["table"] == "clinic.patients" and ws.rid in e["record"] for e in reads)
    assert reads[-1]["actor"] == "li" and reads[-1]["at"].startswith("2026-05-04")


def test_each_filter_narrows_the_search(ws: Any) -> None:
    def logs(**filters: Any) -> list[tuple[str, str]]:
        return [(e["log"], e["action"]) for e in logsearch.search(ws, **filters)]
    assert [log for log, _ in logs(person="admin")] == ["write"] + ["read"] * (len(logs(person="admin")) - 1)
    assert logs(person="admin", reads=False) == [("write", "create")]
    assert logs(table="clinic.notes") == [("write", "create")]
    assert {log for log, _ in logs(record=ws.rid)} == {"write", "read"}
    assert logs(record=ws.rid, reads=False) == [("write", "create"), ("write", "update")]
    assert logs(since="2026-05-02", until="2026-05-03T23:59:59Z", reads=False) == [("write", "update"), ("write", "create")]
    assert logs(since="2026-05-04", writes=False) and not logs(since="2026-05-04", reads=False)
    assert {log for log, _ in logs(writes=False)} == {"read"}
    assert logs(person="nobody") == []
