"""The patients base of the dental example, as each clinical role: who may edit the diagnosis,
who may only read it, who records a conversion, and which phone and ID numbers are masked."""

from __future__ import annotations

import pytest

from tests.examples.conftest import record_row

PHONE, PHONE_MASKED = "13912345678", "*******5678"
ID, ID_MASKED = "210202198503150027", "**************0027"


@pytest.fixture
def visits(ws):
    patients = ws.base("patients").table("patients")
    p = patients.create({"name": "韩梅梅", "gender": "女", "phone": PHONE, "id_number": ID, "source": "老客转介",
                         "first_visit": "2026-06-15"}, actor="gao_yue")
    table = ws.base("patients").table("visits")
    mine = table.create({"patient": [p["id"]], "visit_date": "2026-06-15", "visit_type": "初诊", "doctor": "liu_yang",
                         "nurse": "yang_fan", "consultant": "gao_yue", "center": "口腔种植中心",
                         "complaint": "左下后牙缺失3个月", "diagnosis": "36缺失", "fee": 12800}, actor="admin")
    theirs = table.create({"patient": [p["id"]], "visit_date": "2026-06-15", "visit_type": "初诊", "doctor": "guo_peng",
                           "nurse": "xie_mei", "consultant": "han_xiao", "center": "口腔正畸中心",
                           "complaint": "牙齿不齐", "diagnosis": "安氏II类错颌畸形"}, actor="admin")
    return {"patient": p["id"], "mine": mine["id"], "theirs": theirs["id"]}


def diagnosis(ws, rid):
    return record_row(ws, "patients", "visits", rid)["diagnosis"]


def test_doctor_edits_only_their_own_visits(ws, as_person, visits):
    doctor = as_person("liu_yang")
    ok = doctor.cell("patients", "visits", visits["mine"], "diagnosis", "36缺失，拟种植修复")
    assert ok.status_code == 200, ok.text
    assert diagnosis(ws, visits["mine"]) == "36缺失，拟种植修复"
    refused = doctor.cell("patients", "visits", visits["theirs"], "diagnosis", "改掉别人的诊断")
    assert refused.status_code in (403, 422)
    assert diagnosis(ws, visits["theirs"]) == "安氏II类错颌畸形"
    # Reading another doctor's visit is allowed (the doctor role reads all visits), fees are not shown.
    page = doctor.get(f"/b/patients/t/visits/r/{visits['theirs']}")
    assert page.status_code == 200 and "安氏II类错颌畸形" in page.text and "12,800" not in page.text
    view = doctor.get("/b/patients/t/visits/v/doctor")
    assert view.status_code == 200 and "36缺失，拟种植修复" in view.text and "安氏II类错颌畸形" not in view.text


def test_nurse_reads_but_cannot_edit_diagnosis(ws, as_person, visits):
    nurse = as_person("yang_fan")
    page = nurse.get(f"/b/patients/t/visits/r/{visits['mine']}")
    assert page.status_code == 200 and "36缺失" in page.text
    assert "12800" not in page.text and "12,800" not in page.text  # no fees for nurses
    refused = nurse.cell("patients", "visits", visits["mine"], "diagnosis", "护士改的")
    assert refused.status_code in (403, 404, 422)
    assert diagnosis(ws, visits["mine"]) == "36缺失"
    grid = nurse.get("/b/patients/t/visits/v/nurse")
    assert grid.status_code == 200 and "36缺失" in grid.text


def test_consultant_records_conversion(ws, as_person, visits):
    consultant = as_person("gao_yue")
    ok = consultant.cell("patients", "visits", visits["mine"], "converted", "true")
    assert ok.status_code == 200, ok.text
    assert record_row(ws, "patients", "visits", visits["mine"])["converted"] == 1
    refused = consultant.cell("patients", "visits", visits["mine"], "diagnosis", "咨询师改的")
    assert refused.status_code in (403, 422)
    assert diagnosis(ws, visits["mine"]) == "36缺失"


@pytest.mark.parametrize(("person", "phone", "id_number"), [
    # Who sees the birth date and sex sees no part of the ID number, which embeds them.
    ("gao_yue", "plain", "full"),        # consultant: enters it when registering, then ******
    ("liu_yang", "plain", "hidden"),     # doctor
    ("yang_fan", "masked", "hidden"),    # nurse
    ("xu_ting", "plain", "hidden"),      # service (phones for follow-up calls)
    ("wang_jun", "masked", "hidden"),    # head of 医务部 (dept_head only)
    ("zhao_lei", "plain", "hidden"),     # doctor and head: the phone is masked only if every role masks it
    ("he_jianguo", "plain", "hidden"),   # director
    ("admin", "plain", "plain"),
])
def test_masks_in_the_patient_grid(ws, as_person, visits, person, phone, id_number):
    html = as_person(person).get("/b/patients/t/patients").text
    assert "韩梅梅" in html
    if phone == "plain":
        assert PHONE in html
    else:
        assert PHONE not in html and PHONE_MASKED in html
    if id_number == "plain":
        assert ID in html
    elif id_number == "full":
        assert ID not in html and ID_MASKED not in html and "身份证号" in html and "0027" not in html
    else:
        assert ID not in html and ID_MASKED not in html


def test_a_visit_is_called_by_its_patient_and_date(ws, as_person, visits):
    """Calendars, kanban cards, links and the record heading name the patient, not just a date."""
    assert record_row(ws, "patients", "visits", visits["mine"])["title"] == "韩梅梅 2026-06-15"
    doctor = as_person("liu_yang")
    page = doctor.get(f"/b/patients/t/visits/r/{visits['mine']}")
    assert page.status_code == 200 and "韩梅梅 2026-06-15" in page.text
    # each grid view shows the patient once: the link, not the link and a lookup of the same name
    for view in ws.base("patients").table("visits").tdef.views.values():
        assert not {"patient", "patient_name"} <= set(view.fields or []), view.key
