"""Formulas, rollups and lookups never show what their sources hide from the reader.

A formula of a hidden or masked field is hidden (a derived value cannot be masked); a rollup
that combines the values of a masked field is hidden, a count of them stays; a lookup of a
masked field is masked. Hidden means hidden in every read: records, filters, sorts, search,
groups and exports.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine import QueryError
from engine.transfer import export_rows

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

WORKSPACE = """\
workspace: derived
name: Derived
roles:
  admin: {name: admin, admin: true}
  nurse: {name: nurse}
people:
  admin: {name: Admin, roles: [admin]}
  yang: {name: 杨帆, roles: [nurse]}
"""
BASE = """\
base: clinic
name: 诊所
tables:
  patients:
    name: 患者
    primary: name
    fields:
      name: {type: text, name: 姓名}
      phone: {type: phone, name: 手机号}
      id_number: {type: text, name: 身份证号}
      id_tail: {type: formula, name: 证号后段, formula: "RIGHT({id_number}, 12)"}
      id_label: {type: formula, name: 证号标签, formula: "CONCATENATE('ID ', {id_tail})"}
      phone_tail: {type: formula, name: 尾号, formula: "RIGHT({phone}, 8)"}
      greeting: {type: formula, name: 称呼, formula: "CONCATENATE({name}, '您好')"}
  visits:
    name: 就诊
    primary: title
    fields:
      title: {type: text, name: 标题}
      patient: {type: link, name: 患者, table: patients, multiple: false, inverse: visits, inverse_name: 就诊}
      phones: {type: rollup, name: 电话汇总, link: patient, field: phone, function: concat}
      phone_max: {type: rollup, name: 电话最大, link: patient, field: phone, function: max}
      phone_count: {type: rollup, name: 电话数, link: patient, field: phone, function: count}
      phone_seen: {type: lookup, name: 患者电话, link: patient, field: phone}
roles:
  nurse:
    patients:
      access: read
      fields:
        phone: {access: read, mask: phone}
        id_number: none
    visits: {access: read}
"""
ID = "210202198503150027"
PHONE = "13912342768"


@pytest.fixture
def clinic(make_workspace: Any) -> Any:
    ws = make_workspace({"clinic": BASE}, WORKSPACE)
    patients, visits = ws.base("clinic").table("patients"), ws.base("clinic").table("visits")
    pid = patients.create({"name": "韩梅梅", "phone": PHONE, "id_number": ID}, actor="admin")["id"]
    vid = visits.create({"title": "初诊", "patient": [pid]}, actor="admin")["id"]
    return ws, pid, vid


def test_formulas_of_hidden_or_masked_fields_are_hidden_everywhere(clinic: Any) -> None:
    ws, pid, _ = clinic
    patients = ws.base("clinic").table("patients")
    admin = patients.get(pid, actor="admin")["fields"]
    assert admin["id_tail"] == ID[-12:] and admin["id_label"] == "ID " + ID[-12:] and admin["phone_tail"] == PHONE[-8:]
    seen = patients.get(pid, actor="yang")["fields"]
    assert seen["greeting"] == "韩梅梅您好"  # from fields the nurse reads in full
    assert not {"id_tail", "id_label", "phone_tail"} & set(seen)
    outputs = [seen, patients.query(actor="yang").records, export_rows(patients, actor="yang"),
               patients.history(pid, actor="yang")]
    text = json.dumps(outputs, ensure_ascii=False, default=str)
    assert ID[-6:] not in text and PHONE[3:7] not in text and "证号后段" not in text and "尾号" not in text
    for key in ("id_tail", "id_label", "phone_tail"):
        with pytest.raises(QueryError, match="unknown field"):
            patients.query(actor="yang", filter={key: {"contains": "0027"}})
        with pytest.raises(QueryError, match="unknown field"):
            patients.query(actor="yang", sort=[key])
        with pytest.raises(QueryError, match="unknown field"):
            patients.group(actor="yang", by=key)
    with pytest.raises(QueryError, match="unknown field"):
        patients.query(actor="yang", filter={"formula": "FIND('0027', {id_label})"})
    assert patients.query(actor="yang", search=ID[-8:]).records == []
    assert [r["id"] for r in patients.query(actor="admin", search=ID[-8:]).records] == [pid]


def test_rollups_combining_a_masked_field_are_hidden_counts_and_lookups_stay(clinic: Any) -> None:
    ws, _, vid = clinic
    visits = ws.base("clinic").table("visits")
    admin = visits.get(vid, actor="admin")["fields"]
    assert admin["phones"] == PHONE and admin["phone_count"] == 1
    seen = visits.get(vid, actor="yang")["fields"]
    assert "phones" not in seen and "phone_max" not in seen
    assert seen["phone_count"] == 1 and seen["phone_seen"] == "*******2768"
    text = json.dumps([seen, visits.query(actor="yang").records, export_rows(visits, actor="yang")], ensure_ascii=False)
    assert PHONE not in text and PHONE[:7] not in text and str(float(PHONE)) not in text
    with pytest.raises(QueryError, match="unknown field"):
        visits.query(actor="yang", filter={"phones": {"contains": "1391"}})
