"""The dental example's FHIR R4 sample bundles (examples/dalian_dental/fhir/) go into its patients base
through its `fhir:` mappings, as `sync.sh` takes them: patients, their visits and an appointment,
linked; a second run writes nothing."""

from __future__ import annotations

from engine import Workspace, fhirsync
from tests_support import DENTAL

FILES = [DENTAL / "fhir" / name for name in ("01_patients.json", "02_encounters.json", "03_appointments.json")]


def test_the_sample_bundles_become_linked_records_once(ws: Workspace) -> None:
    report = fhirsync.Report()
    for file in FILES:
        part = fhirsync.from_file(ws, file)
        assert part.refused == [], part.refused
        report.created += part.created
    assert sorted(report.created) == ["Appointment/A30002", "Encounter/V20001", "Encounter/V20003",
                                      "Patient/P10001", "Patient/P10002", "Patient/P10003"]
    base = ws.base("patients")
    wang = base.table("patients").query(actor="admin", filter={"his_id": "P10001"}, limit=1).records[0]
    assert wang["fields"]["name"] == "王小明" and wang["fields"]["gender"] == "男"
    visit = base.table("visits").query(actor="admin", filter={"visit_no": "V20001"}, limit=1).records[0]
    assert visit["fields"]["patient"] == [wang["id"]] and visit["fields"]["visit_date"] == "2026-12-07"
    booked = base.table("appointments").query(actor="admin", filter={"appointment_id": "A30002"}, limit=1).records[0]
    assert booked["fields"]["patient"] == [wang["id"]] and booked["fields"]["doctor_name"] == "孙立"
    again = [fhirsync.from_file(ws, file) for file in FILES]
    assert sum(len(r.unchanged) for r in again) == 6 and not any(r.created or r.updated for r in again)
