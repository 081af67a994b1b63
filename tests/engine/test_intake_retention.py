"""Retention of what the intake keeps: HL7 messages from the HIS and mails that could not be taken.

An admin sets `retention: {hl7_messages: 30d, mail_failed: 30d}`; the daily pass (the same as for
the audit log) archives the older ones to a checked gzip file, then removes them; a removed dead
letter is not read from the mailbox again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from engine import Workspace, hl7intake, mailintake, retention
from tests_support import write_workspace

WORKSPACE = """\
workspace: his
name: HIS
timezone: Asia/Shanghai
roles:
  admin: {name: Admin, admin: true}
people:
  admin: {name: Admin, roles: [admin]}
retention:
  hl7_messages: 30d
  mail_failed: 30d
"""

BASE = """\
base: patients
name: 患者
tables:
  patients:
    name: 患者档案
    primary: name
    fields:
      name: {type: text, name: 姓名, required: true}
      his_id: {type: text, name: HIS 患者号}
hl7:
  his_patients:
    messages: [ADT^A04]
    table: patients
    actor: admin
    key: his_id
    fields: {his_id: PID-3.1, name: PID-5.1}
mailboxes:
  inbox:
    table: patients
    actor: admin
    host: 127.0.0.1
    username: x
    password_env: GB_TEST_NO_SUCH_PASSWORD
    fields: {name: subject}
"""

MESSAGE = ("MSH|^~\\&|HIS|DENTAL|GRIDBASE|DENTAL|20261207093000||ADT^A04^ADT_A01|{control}|P|2.5\r"
           "PID|1||{pid}^^^HIS||{name}\r")


def test_old_hl7_messages_and_dead_letters_are_archived_then_removed(tmp_path: Path, database: Callable[[], Any]) -> None:
    ws = Workspace.open(write_workspace(tmp_path / "ws", {"patients": BASE}, WORKSPACE), db=database())
    try:
        ws.apply()
        assert hl7intake.receive(ws, MESSAGE.format(control="C1", pid="P1", name="王芳")).code == "AA"
        assert hl7intake.receive(ws, "MSH|^~\\&|HIS|D|G|D|20261207||ADT^A99|C2|P|2.5\r").code == "AR"
        box = mailintake.mailboxes_of(ws.config)["inbox"]
        mailintake.fail(ws, box, "<dead@example.org>", b"Subject: x\r\n\r\nbody", "title is required")

        soon = retention.run(ws, now=ws.now() + timedelta(days=10))
        assert {d.log: d.count for d in soon}["hl7_messages"] == 0  # not due yet
        assert hl7intake.kept(ws, "C1") is not None

        done = {d.log: d for d in retention.run(ws, now=ws.now() + timedelta(days=31))}
        assert done["hl7_messages"].count == 2 and done["mail_failed"].count == 1
        archived = retention.read_archive(done["hl7_messages"].path)
        assert sorted(row["control_id"] for row in archived) == ["C1", "C2"]
        assert "王芳" in next(row["text"] for row in archived if row["control_id"] == "C1")
        assert retention.read_archive(done["mail_failed"].path)[0]["message_id"] == "<dead@example.org>"
        assert hl7intake.kept(ws, "C1") is None and hl7intake.failed(ws) == []
        assert mailintake.failed(ws) == []
        assert mailintake.known(ws, "inbox", ["<dead@example.org>"]) == {"<dead@example.org>"}  # not read again
        records = ws.base("patients").table("patients").query(actor="admin", limit=10).records
        assert [r["fields"]["name"] for r in records] == ["王芳"]  # the records themselves stay
    finally:
        ws.close()
