"""The dental example's forms with logic: a department-prefilled QR poster per centre, and the
phone-complaint form that asks for the patient's phone only when the channel is 电话."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

from tests.examples.conftest import MOBILE_UA, rows

CENTRE = quote("口腔正畸中心")


def test_department_prefilled_form_and_poster(ws, as_person):
    phone = as_person("du_juan", headers={"User-Agent": MOBILE_UA})
    form = phone.get(f"/f/complaints/report?prefill_{quote('责任科室')}={CENTRE}")
    assert form.status_code == 200 and "口腔正畸中心" in form.text
    assert 'name="prefill_department" value="口腔正畸中心"' in form.text
    poster = as_person("admin").get(f"/f/complaints/report/poster?prefill_department={CENTRE}")
    assert poster.status_code == 200 and "责任科室: 口腔正畸中心" in poster.text
    assert phone.get("/f/complaints/report?prefill_department=牙科").status_code == 422
    sent = phone.post("/f/complaints/report", {"title": "正畸候诊区空调太冷", "description": "下午候诊区温度偏低。",
                                               "prefill_department": "口腔正畸中心"})
    assert sent.status_code == 200, sent.text
    (found,) = rows(ws, "SELECT department, channel, reporter FROM complaints__complaints WHERE title = ?",
                    ("正畸候诊区空调太冷",))
    assert found["department"] == "ortho" and found["channel"] == "扫码表单" and found["reporter"] == "du_juan"  # the node's key


def test_patient_phone_asked_only_for_phone_complaints(ws, as_person):
    staff = as_person("du_juan")
    page = staff.get("/f/complaints/phone_log")
    assert page.status_code == 200 and "data-show-if" in page.text
    res = staff.post("/f/complaints/phone_log", {"channel": "电话", "title": "电话投诉：挂号难"})
    assert res.status_code == 422 and "患者电话" in res.text
    res = staff.post("/f/complaints/phone_log", {"channel": "邮箱", "title": "邮件投诉：收费疑问", "patient_phone": "13912345678"})
    assert res.status_code == 200, res.text
    (found,) = rows(ws, "SELECT channel, patient_phone FROM complaints__complaints WHERE title = ?", ("邮件投诉：收费疑问",))
    assert found["channel"] == "邮箱" and found["patient_phone"] is None
    mine = staff.get("/f/mine")
    assert mine.status_code == 200 and "邮件投诉：收费疑问" in mine.text and "待受理" in mine.text


def test_table_page_offers_a_poster_per_centre(as_person):
    page = as_person("admin").get("/b/complaints/t/complaints")
    assert page.status_code == 200
    for path in ("中山院区 / 口腔正畸中心", "开发区院区 / 口腔综合中心"):  # 责任科室 is a department field: one per node, by path
        assert f"/f/complaints/report/poster?prefill_department={quote_plus(path)}" in page.text
