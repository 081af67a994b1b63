"""A small clinic for the record-entry tests (HTTP and browser): patients, and visits with one
field of every type a person types in, a required single link, a multiple link, defaults
($today, $now, $me), option colours (named, Airtable-style, hex, nonsense) and roles that hide
or lock fields and rows."""

from __future__ import annotations

from typing import Any

from engine import Workspace

PASSWORD = "correct horse battery"

WORKSPACE = f"""\
workspace: entry
name: Entry Test
timezone: Asia/Shanghai
locale: en
departments:
  front: {{name: 前台}}
  ortho: {{name: 正畸中心}}
roles:
  admin: {{name: Admin, admin: true}}
  clerk: {{name: Clerk}}
  viewer: {{name: Viewer}}
people:
  admin: {{name: Admin, roles: [admin], department: front, password: "{PASSWORD}"}}
  wang: {{name: 王芳, roles: [clerk], department: front, password: "{PASSWORD}"}}
  chen: {{name: 陈医生, roles: [clerk], department: ortho, password: "{PASSWORD}"}}
  zhao: {{name: 赵六, roles: [viewer], password: "{PASSWORD}"}}
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
      ward: {type: single_select, name: Ward, options: [A, B]}
      since: {type: date, name: Since, default: $today, required: true}
      seen_at: {type: datetime, name: Seen at}
    forms:
      register:
        name: Register a patient
        fields: [name, since, {field: seen_at, default: $now}]
  visits:
    name: Visits
    primary: title
    fields:
      title: {type: text, name: Title}
      patient: {type: link, name: Patient, table: patients, multiple: false, inverse: visits, inverse_name: Visits,
                required: true}
      helpers: {type: link, name: Helpers, table: patients, inverse: helped, inverse_name: Helped}
      day: {type: date, name: Day, default: $today, required: true}
      at: {type: datetime, name: At, default: $now}
      kind:
        type: single_select
        name: Kind
        default: First
        options:
          - {name: First, color: teal}
          - {name: Repeat, color: "#22aa66"}
          - {name: Other, color: blueBright}
          - {name: Odd, color: "red\\" onmouseover=\\"alert(1)"}
          - Plain
      tags: {type: multi_select, name: Tags, options: [{name: x, color: "#abc"}, y, z]}
      paid: {type: checkbox, name: Paid}
      fee: {type: currency, name: Fee}
      share: {type: percent, name: Share}
      stars: {type: rating, name: Stars}
      count: {type: number, name: Count, min: 0}
      doctor: {type: person, name: Doctor, default: $me}
      team: {type: person, name: Team, multiple: true}
      notes: {type: long_text, name: Notes}
      scan: {type: attachment, name: Scan, accept: ["text/plain"], max_size_mb: 1}
      secret: {type: text, name: Secret note}
      locked: {type: text, name: Locked note}
      due: {type: formula, name: Due, formula: "DATEADD({at}, 3, 'days')"}
    views:
      all: {type: grid, name: All visits, sort: [title]}
    forms:
      log:
        name: Log a visit
        fields: [title, day, {field: at, default: $now}, kind]
      quick:
        name: Quick note
        public: true
        fields: [title]
roles:
  clerk:
    patients:
      access: read
      rows: {ward: A}
    visits:
      access: edit
      create: true
      fields:
        secret: none
        locked: read
      other_fields: edit
  viewer:
    patients: {access: read}
    visits: {access: read}
"""


def seed(ws: Workspace) -> dict[str, Any]:
    """Patients in ward A and B, and one visit; returns their ids by name."""
    patients = ws.base("clinic").table("patients")
    ids = {}
    for name, ward in (("张三", "A"), ("张三丰", "A"), ("李四", "A"), ("王五", "B"), ("张无忌", "B")):
        ids[name] = patients.create({"name": name, "ward": ward}, actor="admin")["id"]
    visit = ws.base("clinic").table("visits").create(
        {"title": "Checkup", "patient": [ids["张三"]], "at": "2026-06-01 09:30", "kind": "Repeat", "tags": ["x"]},
        actor="admin")
    ids["visit"] = visit["id"]
    return ids
