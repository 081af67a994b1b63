"""FHIR R4 from the HIS: `gridbase fhir sync` against a stand-in FHIR server on loopback, and bundle files.

What a hospital admin would notice: patients, their encounters and appointments become records
(linked to the patient); a second run reads only what changed since the first (`_lastUpdated`)
and a changed patient updates its record instead of making another; a resource with an element
FHIR does not define, or a malformed one, is refused with where and why, and the others are
still taken; the sync writes as its person, whose role decides what it may write.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fhir_standin import StandIn

from engine import Workspace, fhir, fhirsync
from engine.errors import ConfigError
from gridbase.cli import main as cli

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

WORKSPACE = """\
workspace: his
name: HIS
timezone: Asia/Shanghai
roles:
  admin: {name: Admin, admin: true}
  his: {name: HIS}
  reader: {name: Reader}
people:
  admin: {name: Admin, roles: [admin]}
  his_bot: {name: HIS 接口, roles: [his]}
  reader_bot: {name: 只读, roles: [reader]}
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
      gender: {type: single_select, name: 性别, options: [男, 女]}
      birth_date: {type: date, name: 出生日期}
      his_id: {type: text, name: HIS 患者号}
  visits:
    name: 就诊记录
    primary: visit_no
    fields:
      visit_no: {type: text, name: HIS 就诊号}
      patient: {type: link, name: 患者, table: patients, multiple: false, inverse: visits, required: true}
      status: {type: text, name: 状态}
      kind: {type: text, name: 类别}
  appointments:
    name: 预约
    primary: appointment_id
    fields:
      appointment_id: {type: text, name: 预约号, required: true}
      patient: {type: link, name: 患者, table: patients, multiple: false, inverse: appointments}
      start: {type: datetime, name: 预约时间}
      reason: {type: text, name: 预约事由}
roles:
  his:
    patients: {access: manage}
    visits: {access: edit, create: true}
    appointments: {access: edit, create: true}
  reader:
    patients: {access: read}
    visits: {access: read}
    appointments: {access: read}
"""

MAPPINGS: dict[str, Any] = {
    "fhir_patients": {"resource": "Patient", "table": "patients", "actor": "his_bot", "key": "his_id", "fields": {
        "his_id": "$.id", "name": "$.name[0].text",
        "gender": {"path": "$.gender", "map": {"male": "男", "female": "女"}},
        "birth_date": {"path": "$.birthDate", "as": "date"}}},
    "fhir_visits": {"resource": "Encounter", "table": "visits", "actor": "his_bot", "key": "visit_no", "fields": {
        "visit_no": "$.id", "status": "$.status", "kind": "$.class.code",
        "patient": {"path": "$.subject.reference", "as": "reference", "link_by": "his_id"}}},
    "fhir_appointments": {"resource": "Appointment", "table": "appointments", "actor": "his_bot",
                          "key": "appointment_id", "fields": {
                              "appointment_id": "$.id", "reason": "$.description",
                              "start": {"path": "$.start", "as": "datetime"},
                              "patient": {"path": "$.participant[0].actor.reference", "as": "reference",
                                          "link_by": "his_id"}}},
}


def patient(pid: str, name: str, family: str, given: str, gender: str, born: str, updated: str) -> dict[str, Any]:
    """A Patient shaped as the specification's examples (identifier with its type, official name, ...)."""
    return {
        "resourceType": "Patient", "id": pid, "meta": {"versionId": "1", "lastUpdated": updated},
        "text": {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{name}</div>'},
        "identifier": [{"use": "usual", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                                             "code": "MR"}]},
                        "system": "urn:oid:2.16.840.1.113883.2.23.1", "value": pid,
                        "period": {"start": "2020-01-01"}, "assigner": {"display": "大连口腔 HIS"}}],
        "active": True,
        "name": [{"use": "official", "text": name, "family": family, "given": [given]}],
        "telecom": [{"system": "phone", "value": "13800000000", "use": "mobile", "rank": 1}],
        "gender": gender, "birthDate": born,
        "address": [{"use": "home", "type": "both", "text": "大连市中山区", "city": "大连", "country": "CN"}],
    }


def encounter(eid: str, pid: str, updated: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter", "id": eid, "meta": {"versionId": "1", "lastUpdated": updated},
        "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">门诊就诊</div>'},
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"},
        "subject": {"reference": f"Patient/{pid}"},
        "period": {"start": "2026-12-01T09:00:00+08:00", "end": "2026-12-01T09:40:00+08:00"},
    }


def appointment(aid: str, pid: str, updated: str) -> dict[str, Any]:
    return {
        "resourceType": "Appointment", "id": aid, "meta": {"versionId": "1", "lastUpdated": updated},
        "status": "booked", "description": "复诊：根管治疗第二次",
        "start": "2026-12-10T01:30:00Z", "end": "2026-12-10T02:00:00Z", "minutesDuration": 30,
        "participant": [{"actor": {"reference": f"Patient/{pid}", "display": "王芳"}, "required": "required",
                         "status": "accepted"}],
    }


def serve_all(server: StandIn) -> None:
    server.resources = {
        "Patient": [patient("P001", "王芳", "王", "芳", "female", "1985-03-02", "2026-12-06T01:00:00Z"),
                    patient("P002", "李雷", "李", "雷", "male", "1990-07-15", "2026-12-06T01:01:00Z"),
                    patient("P003", "韩梅梅", "韩", "梅梅", "female", "1992-11-20", "2026-12-06T01:02:00Z")],
        "Encounter": [encounter("E100", "P001", "2026-12-06T02:00:00Z"),
                      encounter("E101", "P002", "2026-12-06T02:01:00Z")],
        "Appointment": [appointment("A900", "P001", "2026-12-06T03:00:00Z")],
    }


def make_workspace(root: Path, mappings: dict[str, Any] | None = None) -> Path:
    (root / "bases").mkdir(parents=True)
    (root / "workspace.yaml").write_text(WORKSPACE, encoding="utf-8")
    text = BASE + yaml.safe_dump({"fhir": mappings or MAPPINGS}, allow_unicode=True, sort_keys=False)
    (root / "bases" / "patients.yaml").write_text(text, encoding="utf-8")
    ws = Workspace.open(root)
    ws.apply()
    ws.close()
    return root


@pytest.fixture(scope="module")
def server() -> Iterator[StandIn]:
    standin = StandIn().start()
    yield standin
    standin.stop()


@pytest.fixture
def ws(tmp_path: Path, server: StandIn) -> Iterator[Workspace]:
    serve_all(server)
    server.requests.clear()
    workspace = Workspace.open(make_workspace(tmp_path / "ws"))
    yield workspace
    workspace.close()


def rows(ws: Workspace, table: str) -> list[dict[str, Any]]:
    return ws.base("patients").table(table).query(actor="admin", limit=100).records


def by(ws: Workspace, table: str, field: str) -> dict[str, dict[str, Any]]:
    return {r["fields"][field]: r for r in rows(ws, table)}


def test_a_sync_pages_through_the_server_and_links_visits_and_appointments_to_patients(
        ws: Workspace, server: StandIn) -> None:
    report = fhirsync.sync(ws, server.url)
    assert report.refused == []
    assert sorted(report.created) == ["Appointment/A900", "Encounter/E100", "Encounter/E101", "Patient/P001",
                                      "Patient/P002", "Patient/P003"]
    assert report.pages == 4  # three patients at two a page, then one page each of encounters and appointments
    patients = by(ws, "patients", "his_id")
    assert patients["P001"]["fields"]["name"] == "王芳"
    assert patients["P001"]["fields"]["gender"] == "女"
    assert patients["P002"]["fields"]["birth_date"] == "1990-07-15"
    visits = by(ws, "visits", "visit_no")
    assert visits["E100"]["fields"]["patient"] == [patients["P001"]["id"]]
    assert visits["E101"]["fields"]["kind"] == "AMB"
    booked = by(ws, "appointments", "appointment_id")["A900"]["fields"]
    assert booked["patient"] == [patients["P001"]["id"]]
    assert booked["reason"] == "复诊：根管治疗第二次"
    assert booked["start"] == "2026-12-10T01:30:00.000Z"  # read as 09:30 in Shanghai, kept in UTC
    assert [k for k, _ in server.requests][:2] == ["Patient", "Patient"]  # patients first: visits link to them


def test_the_next_run_reads_only_what_changed_and_updates_the_same_record(ws: Workspace, server: StandIn) -> None:
    fhirsync.sync(ws, server.url)
    first_ids = {k: r["id"] for k, r in by(ws, "patients", "his_id").items()}
    server.requests.clear()
    again = fhirsync.sync(ws, server.url)
    assert again.created == again.updated == again.refused == []
    asked = {kind: query.get("_lastUpdated") for kind, query in server.requests}
    assert asked == {"Patient": ["gt2026-12-07T01:00:00Z"], "Encounter": ["gt2026-12-07T01:00:00Z"],
                     "Appointment": ["gt2026-12-07T01:00:00Z"]}  # from the server's clock of the first run

    changed = copy.deepcopy(server.resources["Patient"][1])
    changed["name"][0]["text"] = "李雷雷"
    changed["meta"] = {"versionId": "2", "lastUpdated": "2026-12-07T02:00:00Z"}
    server.resources["Patient"][1] = changed
    server.clock = "2026-12-07T03:00:00Z"
    third = fhirsync.sync(ws, server.url)
    assert third.updated == ["Patient/P002"] and third.created == []
    now = by(ws, "patients", "his_id")
    assert now["P002"]["fields"]["name"] == "李雷雷"
    assert {k: r["id"] for k, r in now.items()} == first_ids  # the same records, none new
    assert fhir.last_sync(ws, server.url + "/", "Patient") == "2026-12-07T03:00:00Z"


def test_an_unknown_element_and_a_bad_resource_are_refused_with_where_and_why(ws: Workspace, server: StandIn) -> None:
    odd = patient("P004", "赵四", "赵", "四", "male", "1980-01-01", "2026-12-06T01:03:00Z")
    odd["favouriteColour"] = "blue"  # no such element in FHIR R4
    bad = patient("P005", "钱五", "钱", "五", "male", "1980-01-01", "2026-12-06T01:04:00Z")
    bad["birthDate"] = "01/02/1980"  # not a FHIR date
    server.resources["Patient"] += [odd, bad]
    report = fhirsync.sync(ws, server.url)
    refused = dict(report.refused)
    assert set(refused) == {"Patient/P004", "Patient/P005"}
    assert "favouriteColour" in refused["Patient/P004"] and "not permitted" in refused["Patient/P004"]
    assert "birthDate" in refused["Patient/P005"]
    assert "Patient/P001" in report.created  # the others are taken
    assert "P004" not in by(ws, "patients", "his_id")
    assert fhir.last_sync(ws, server.url + "/", "Patient") is None  # read again next time
    assert fhir.last_sync(ws, server.url + "/", "Encounter") is not None

    fixed = copy.deepcopy(odd)
    del fixed["favouriteColour"]
    server.resources["Patient"][3] = fixed
    server.resources["Patient"].pop()
    retried = fhirsync.sync(ws, server.url)
    assert retried.created == ["Patient/P004"] and retried.refused == []
    assert retried.unchanged  # what was taken the first time is not written again


def test_bundle_files_from_the_command_line(tmp_path: Path, server: StandIn,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    root = make_workspace(tmp_path / "ws")
    serve_all(server)
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", "resource": r}
        for r in [encounter("E100", "P001", "2026-12-06T02:00:00Z"), *server.resources["Patient"][:1],
                  {"resourceType": "Encounter", "id": "E102", "status": "in progress",  # DSTU1's shape, not R4's
                   "class": "inpatient", "subject": {"reference": "Patient/P001"}},
                  {"resourceType": "Practitioner", "id": "D1"}]]}
    file = tmp_path / "bundle.json"
    file.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    assert cli(["fhir", "sync", str(root), "--from", str(file)]) == 1
    said = capsys.readouterr()
    assert "refused Encounter/E102" in said.err and "class" in said.err
    assert "2 created, 0 updated, 0 unchanged, 1 skipped (no mapping), 1 refused" in said.out
    assert cli(["fhir", str(root), "sync", "--from", str(file)]) == 1
    assert "0 created, 0 updated, 2 unchanged" in capsys.readouterr().out
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    assert cli(["fhir", "sync", str(root), "--from", str(tmp_path / "broken.json")]) != 0
    assert "cannot read" in capsys.readouterr().err


def test_the_sync_writes_as_its_person(tmp_path: Path, server: StandIn) -> None:
    mappings = copy.deepcopy(MAPPINGS)
    for m in mappings.values():
        m["actor"] = "reader_bot"
    serve_all(server)
    ws = Workspace.open(make_workspace(tmp_path / "ws", mappings))
    try:
        report = fhirsync.sync(ws, server.url)
        assert report.created == [] and len(report.refused) == 6
        assert rows(ws, "patients") == []
    finally:
        ws.close()


def test_a_mapping_that_cannot_work_is_reported_when_the_workspace_loads(tmp_path: Path) -> None:
    mappings = {"m": {"resource": "Patiënt", "table": "patients", "actor": "his_bot", "key": "his_id",
                      "fields": {"his_id": "$.id"}}}
    with pytest.raises(ConfigError, match="did you mean 'Patient'"):
        make_workspace(tmp_path / "one", mappings)
    mappings = {"m": {"resource": "Patient", "table": "patients", "actor": "nobody", "key": "his_id",
                      "fields": {"name": "$.name[0].text", "nope": "$.id"}}}
    with pytest.raises(ConfigError) as caught:
        make_workspace(tmp_path / "two", mappings)
    text = str(caught.value)
    assert "unknown person 'nobody'" in text
    assert "the key field 'his_id' is not mapped" in text
    assert "unknown field 'nope'" in text


def test_a_server_that_is_not_fhir_is_a_clear_error(ws: Workspace, server: StandIn) -> None:
    with pytest.raises(fhir.FhirError, match="cannot read .*/nothing/Patient.*: HTTP 404"):
        fhirsync.sync(ws, server.url.replace("/fhir", "/nothing"))
    with pytest.raises(fhir.FhirError, match="cannot read http://127.0.0.1:9/.*Patient"):
        fhirsync.sync(ws, "http://127.0.0.1:9/fhir")  # nothing listens there
