"""Writing through an automation is recorded, and warned of, as the person's own (issue 17, item 8).

A service agent who may not set a complaint's reporter could log a negative follow-up naming
the director as caller; the automation then made a complaint reported by the director, and
the audit log said only "automation". Now every write of an automation is recorded on behalf
of the person whose write triggered the run (audit log, history, the record page, `gridbase
audit`), along chains of automations too; `gridbase validate` warns when an automation copies
a value a triggering role can set into a field that role may not write; and the clinic's
follow-ups name their true caller.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from automations import process_pending
from engine.errors import ValidationError
from gridbase.cli import main
from tests_support import sign_in, write_workspace

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

WORKSPACE = """\
workspace: calls
name: Calls
roles:
  admin: {name: admin, admin: true}
  service: {name: 客服}
  director: {name: 院长}
people:
  admin: {name: Admin, roles: [admin], password: demo1234}
  xu: {name: 徐婷, roles: [service], password: demo1234}
  he: {name: 何建国, roles: [director], password: demo1234}
"""
BASE = """\
base: calls
name: 回访
tables:
  complaints:
    name: 投诉记录
    primary: title
    fields:
      title: {type: text, name: 标题}
      reporter: {type: person, name: 问题发现人}
      status: {type: single_select, name: 状态, options: [待受理, 处理中]}
      followup: {type: link, name: 来源回访, table: followups, inverse: complaints, inverse_name: 关联投诉}
  followups:
    name: 回访记录
    primary: patient
    fields:
      patient: {type: text, name: 患者}
      caller: {type: person, name: 回访人, default: $me}
      negative: {type: checkbox, name: 是否负面}
roles:
  service:
    followups: {access: manage}
    complaints:
      access: read
      create: true
      fields: {title: create, followup: create}
  director:
    complaints: {access: read}
    followups: {access: read}
automations:
  negative_followup:
    when: {created: followups}
    if: {negative: true}
    do:
      - create:
          table: complaints
          fields: {title: "回访负面：{{ record.patient }}", reporter: "{{ record.caller }}"}
          link: followup
  accept:
    when: {created: complaints}
    do:
      - update: {status: 处理中}
"""


def test_automation_writes_are_recorded_on_behalf_of_the_person_who_triggered_them(make_workspace: Any) -> None:
    ws = make_workspace({"calls": BASE}, WORKSPACE)
    followups, complaints = ws.base("calls").table("followups"), ws.base("calls").table("complaints")
    with pytest.raises(ValidationError, match="may not change"):  # xu may not name the director as reporter herself
        complaints.create({"title": "x", "reporter": "he"}, actor="xu")
    followups.create({"patient": "李四", "caller": "he", "negative": True}, actor="xu")
    process_pending(ws)  # the complaint, then (a chain) its status
    made = complaints.query(actor="admin").records
    assert len(made) == 1 and made[0]["fields"]["reporter"] == "he" and made[0]["fields"]["status"] == "处理中"
    history = complaints.history(made[0]["id"], actor="admin")
    by_field = {h["field"]: h for h in history}
    assert by_field["reporter"]["actor"] == "automation:negative_followup" and by_field["reporter"]["on_behalf"] == "xu"
    # The next automation in the chain carries on xu's write too.
    assert by_field["status"]["actor"] == "automation:accept" and by_field["status"]["on_behalf"] == "xu"
    # A person's own write is on nobody's behalf.
    own = followups.query(actor="admin").records[0]
    assert all(h["on_behalf"] is None for h in followups.history(own["id"], actor="admin") if h["field"] == "patient")

    app = __import__("gridbase.app", fromlist=["create_app"]).create_app(ws, automations=False)
    with TestClient(app, base_url="http://testserver") as client:
        assert sign_in(client, "admin", "demo1234").status_code == 303
        page = client.get(f"/b/calls/t/complaints/r/{made[0]['id']}", headers={"Accept-Language": "en"}).text
        assert "on behalf of 徐婷" in page or "代 徐婷 执行" in page


def test_gridbase_audit_names_whose_write_an_automation_carried_on(make_workspace: Any,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    ws = make_workspace({"calls": BASE}, WORKSPACE)
    ws.base("calls").table("followups").create({"patient": "李四", "caller": "he", "negative": True}, actor="xu")
    process_pending(ws)
    root, db = Path(ws.config.root), ws.storage.database
    ws.close()
    capsys.readouterr()
    assert main(["audit", str(root), "--db", str(db), "--format", "csv"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "automation:negative_followup" in line]
    assert lines and all(line.rstrip().endswith(",xu") for line in lines), lines


def _warnings(root: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["validate", str(root)]) == 0
    return [line for line in capsys.readouterr().out.splitlines() if "warning:" in line]


def test_validate_warns_of_an_automation_copying_into_a_field_its_triggerers_may_not_write(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = _warnings(write_workspace(tmp_path / "a", {"calls": BASE}, WORKSPACE), capsys)
    assert len(found) == 1, found
    assert "negative_followup" in found[0] and "'caller'" in found[0] and "'reporter'" in found[0]
    assert "role 'service'" in found[0] and "calls.yaml:" in found[0]
    # Taking the copied field out of the service role's hands (its default names the caller) ends it.
    fixed = BASE.replace("    followups: {access: manage}\n", "    followups: {access: manage, fields: {caller: read}}\n")
    assert _warnings(write_workspace(tmp_path / "b", {"calls": fixed}, WORKSPACE), capsys) == []
    # So does letting the role write the field (it could have set it itself).
    allowed = BASE.replace("fields: {title: create, followup: create}", "fields: {title: create, followup: create, "
                           "reporter: create}")
    assert _warnings(write_workspace(tmp_path / "c", {"calls": allowed}, WORKSPACE), capsys) == []


def test_the_clinic_service_staff_cannot_name_another_caller(env: Any) -> None:
    followups = env.ws.base("complaints").table("followups")
    with pytest.raises(ValidationError, match="may not change"):
        followups.create({"patient_name": "王五", "caller": "he_jianguo", "negative": True,
                          "followup_date": "2026-06-15"}, actor=env.actor("service"))


def test_a_database_made_before_gets_the_on_behalf_column(tmp_path: Path) -> None:
    import sqlite3

    from engine.storage import Storage

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE _gb_audit (id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, base TEXT NOT NULL, "
                 "tbl TEXT NOT NULL, record TEXT NOT NULL, action TEXT NOT NULL, field TEXT, old TEXT, new TEXT)")
    conn.execute("INSERT INTO _gb_audit (at, actor, base, tbl, record, action) VALUES ('t', 'li', 'b', 't', 'r', 'delete')")
    conn.commit()
    conn.close()
    storage = Storage(path)
    try:
        rows = storage.conn.execute("SELECT actor, on_behalf FROM _gb_audit").fetchall()
        assert rows == [("li", None)]
    finally:
        storage.close()
    Storage(path).close()  # opening it again changes nothing
