"""A small clinic for the editors' tests (server and browser): people to search (赵磊 by 赵 or by
his account), one disabled, one whose name is markup; a table with a person, several people, a
select with colours, a rating, a checkbox, a date, a date-time, long text, a link and files; a
form that asks for a person; an automation with a `name:` that writes."""

from __future__ import annotations

from typing import Any

from engine import Workspace

PASSWORD = "correct horse battery"

WORKSPACE = f"""\
workspace: editors
name: Editors
timezone: Asia/Shanghai
locale: en
departments:
  qc: {{name: 质控部}}
  ward: {{name: 口腔外科}}
roles:
  admin: {{name: Admin, admin: true}}
  nurse: {{name: Nurse}}
people:
  admin: {{name: Admin, roles: [admin], password: "{PASSWORD}"}}
  zhao_lei: {{name: 赵磊, roles: [nurse], department: qc, password: "{PASSWORD}", email: lei@example.org}}
  zhao_liu: {{name: 赵六, roles: [nurse], department: ward, password: "{PASSWORD}"}}
  wang: {{name: 王芳, roles: [nurse], department: ward, password: "{PASSWORD}"}}
  evil: {{name: "<img src=x onerror=alert(1)>坏", roles: [], password: "{PASSWORD}"}}
"""

BASE = """\
base: clinic
name: Clinic
tables:
  patients:
    name: Patients
    primary: name
    fields:
      name: {type: text, name: Name, required: true}
  tasks:
    name: Tasks
    primary: title
    fields:
      title: {type: text, name: Title, required: true}
      owner: {type: person, name: Owner}
      helpers: {type: person, name: Helpers, multiple: true}
      status: {type: single_select, name: Status, options: [{name: Open, color: red}, {name: Doing, color: yellow}, {name: Done, color: green}]}
      tags: {type: multi_select, name: Tags, options: [{name: Urgent, color: red}, {name: Follow-up, color: blue}, {name: Billing, color: purple}]}
      stars: {type: rating, name: Stars}
      done: {type: checkbox, name: Done}
      due: {type: date, name: Due}
      at: {type: datetime, name: At}
      notes: {type: long_text, name: Notes}
      patient: {type: link, name: Patient, table: patients, multiple: false}
      files: {type: attachment, name: Files}
      seen_by: {type: person, name: Seen by}
    forms:
      ask:
        name: Ask someone
        fields: [title, owner, status, stars]
roles:
  nurse:
    tasks:
      access: edit
      create: true
      fields:
        seen_by: read
      other_fields: edit
    patients:
      access: read
automations:
  assigned:
    name: 分派后设为处理中
    when: {updated: tasks, fields: [owner]}
    if: {owner: {is_not_empty: true}}
    do:
      - update: {status: Doing}
"""


def seed(ws: Workspace) -> dict[str, Any]:
    """Two patients and one task; the id of each by name or title."""
    patients = ws.base("clinic").table("patients")
    ids = {name: patients.create({"name": name}, actor="admin")["id"] for name in ("张三", "李四")}
    ids["task"] = ws.base("clinic").table("tasks").create({"title": "Check the chair", "status": "Open"}, actor="admin")["id"]
    return ids
