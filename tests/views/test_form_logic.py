"""Forms with logic: conditional questions (show_if), prefill from the link and a QR code per
value, and one submission per person (one_per)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine import ValidationError
from tests.views.conftest import BASE, WORKSPACE, csrf_of
from views.pages.forms import one_per_since

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

LOGIC = """\
      logic:
        name: Logic form
        fields:
          - title
          - {field: status, required: true}
          - {field: phone, label: Call-back phone, required: true, show_if: {field: status, is: Doing}}
          - {field: score, show_if: {field: status, in: [Doing, Done]}}
          - {field: due, show_if: {field: phone, not_empty: true}}
        link_prefill: [channel]
        submitter: reporter
        status: status
        editable_for: 24h
      once:
        name: Once a day
        fields: [title]
        submitter: reporter
        one_per: person_day

      quick:
        name: Quick
        fields: [title]
        submitter: reporter
        editable_for: 1m
      pub:
        name: Public with a picker
        public: true
        fields: [title, {field: team, link_filter: {active: true}}]
"""
TEAMS = """  teams:
    name: Teams
    primary: name
    fields:
      name: {type: text, name: Name}
      active: {type: checkbox, name: Active}
"""
LOGIC_BASE = (BASE.replace("    forms:\n", "    forms:\n" + LOGIC, 1)
              .replace("      due: {type: date, name: Due}\n",
                       "      due: {type: date, name: Due}\n      team: {type: link, name: Team, table: teams, multiple: false}\n", 1)
              .replace("tables:\n", "tables:\n" + TEAMS, 1))


@pytest.fixture
def ws(make_workspace):
    return make_workspace({"cases": LOGIC_BASE}, WORKSPACE)


def records(ws):
    return ws.base("cases").table("cases").query(actor="admin").records


def test_condition_hides_question_and_its_required(client_for, ws):
    client = client_for("admin")
    page = client.get("/f/cases/logic")
    assert page.status_code == 200
    assert "data-show-if=" in page.text and "formlogic" in page.text
    # status defaults to Open: the phone question is not asked (hidden), nor the one depending on it
    assert 'data-field="phone"' in page.text and 'data-field="phone" data-show-if=\'{"field": "status", "is": "Doing"}\' hidden' in page.text
    csrf = csrf_of(page.text)
    # Not asked: its answer is dropped and its `required` does not apply.
    res = client.post("/f/cases/logic", data={"title": "Quiet", "status": "Open", "phone": "13800001111",
                                              "score": "3", "due": "2026-01-02", "csrf_token": csrf})
    assert res.status_code == 200, res.text
    (rec,) = records(ws)
    assert rec["fields"]["status"] == "Open"
    assert "phone" not in rec["fields"] and "score" not in rec["fields"] and "due" not in rec["fields"]
    # Asked: required, and kept.
    res = client.post("/f/cases/logic", data={"title": "Loud", "status": "Doing", "csrf_token": csrf})
    assert res.status_code == 422 and "Call-back phone" in res.text and "is required" in res.text
    res = client.post("/f/cases/logic", data={"title": "Loud", "status": "Doing", "phone": "13800001111",
                                              "score": "4", "due": "2026-01-02", "csrf_token": csrf})
    assert res.status_code == 200, res.text
    loud = next(r for r in records(ws) if r["fields"]["title"] == "Loud")
    assert loud["fields"]["phone"] == "13800001111" and loud["fields"]["score"] == 4 and loud["fields"]["due"] == "2026-01-02"


def test_engine_applies_conditions_too(ws):
    table = ws.base("cases").table("cases")
    form = table.tdef.forms["logic"]
    rec = table.create({"title": "Engine", "status": "Done", "phone": "13800001111"}, actor="admin", form=form)
    assert "phone" not in rec["fields"]
    with pytest.raises(ValidationError) as err:
        table.create({"title": "Engine", "status": "Doing"}, actor="admin", form=form)
    assert "phone" in err.value.errors


def test_condition_must_name_an_earlier_question(make_workspace):
    bad = LOGIC_BASE.replace("show_if: {field: status, is: Doing}", "show_if: {field: score, is: Doing}")
    with pytest.raises(Exception) as err:
        make_workspace({"cases": bad}, WORKSPACE)
    assert "earlier question" in str(err.value)
    bad = LOGIC_BASE.replace("show_if: {field: status, is: Doing}", "show_if: {field: status, is: Doign}")
    with pytest.raises(Exception) as err:
        make_workspace({"cases": bad}, WORKSPACE)
    assert "'Doign' is not an option" in str(err.value) and "Doing" in str(err.value)


def test_prefill_from_the_link_by_key_or_name(client_for, ws):
    client = client_for("admin")
    page = client.get("/f/cases/logic?prefill_Status=Doing&prefill_channel=QR&prefill_title=From%20link")
    assert page.status_code == 200, page.text
    assert 'value="From link"' in page.text
    # the prefilled status asks the phone question at once
    assert '"is": "Doing"}\' hidden' not in page.text
    assert 'name="prefill_channel" value="QR"' in page.text and "Channel:" in page.text
    res = client.post("/f/cases/logic", data={"title": "From link", "status": "Doing", "phone": "13800001111",
                                              "prefill_channel": "QR", "csrf_token": csrf_of(page.text)})
    assert res.status_code == 200, res.text
    (rec,) = records(ws)
    assert rec["fields"]["channel"] == "QR" and rec["fields"]["reporter"] == "admin"


def test_prefill_values_are_checked_like_answers(client_for, ws):
    client = client_for("admin")
    page = client.get("/f/cases/logic?prefill_channel=Fax")
    assert page.status_code == 422 and "Channel" in page.text and "Desk, QR" in page.text
    page = client.get("/f/cases/logic?prefill_secret=x")
    assert page.status_code == 422 and "may not fill in" in page.text and "secret" in page.text
    # a tampered hidden value is refused too, and nothing is stored
    csrf = csrf_of(client.get("/f/cases/logic").text)
    res = client.post("/f/cases/logic", data={"title": "x", "status": "Open", "prefill_channel": "Fax",
                                              "prefill_secret": "s", "csrf_token": csrf})
    assert res.status_code == 422 and records(ws) == []
    assert client.get("/f/cases/logic/qr.png?prefill_channel=Fax").status_code == 400


def test_qr_code_and_poster_per_value(client_for):
    client = client_for("admin")
    plain = client.get("/f/cases/logic/qr.png")
    desk = client.get("/f/cases/logic/qr.png?prefill_channel=Desk")
    assert desk.status_code == 200 and desk.headers["content-type"] == "image/png" and desk.content != plain.content
    poster = client.get("/f/cases/logic/poster?prefill_Channel=Desk")
    assert poster.status_code == 200
    assert "/f/cases/logic?prefill_channel=Desk" in poster.text and "qr.svg?prefill_channel=Desk" in poster.text
    assert "Channel: Desk" in poster.text


def test_one_submission_per_person_a_day(client_for, ws):
    li = client_for("li")
    page = li.get("/f/cases/once")
    assert page.status_code == 200 and "already submitted" not in page.text
    assert li.post("/f/cases/once", data={"title": "First", "csrf_token": csrf_of(page.text)}).status_code == 200
    again = li.get("/f/cases/once")
    assert "already submitted this form today" in again.text
    res = li.post("/f/cases/once", data={"title": "Second", "csrf_token": csrf_of(again.text)})
    assert res.status_code == 422 and "already submitted this form today" in res.text
    assert [r["fields"]["title"] for r in records(ws)] == ["First"]
    # another person may still submit
    wang = client_for("wang")
    page = wang.get("/f/cases/once")
    assert wang.post("/f/cases/once", data={"title": "Wang's", "csrf_token": csrf_of(page.text)}).status_code == 200


def test_one_per_periods():
    from engine.model import FormDef

    now = datetime(2026, 12, 9, 15, 30)  # a Wednesday
    assert one_per_since(FormDef("f", "t", "f", one_per="person"), now) is None
    assert one_per_since(FormDef("f", "t", "f", one_per="person_day"), now) == datetime(2026, 12, 9)
    assert one_per_since(FormDef("f", "t", "f", one_per="person_week"), now) == datetime(2026, 12, 9) - timedelta(days=2)


def test_one_per_needs_a_submitter(make_workspace):
    bad = LOGIC_BASE.replace("        submitter: reporter\n        one_per", "        one_per")
    with pytest.raises(Exception) as err:
        make_workspace({"cases": bad}, WORKSPACE)
    assert "needs a submitter" in str(err.value)


def test_public_link_picker_limited_by_the_form(client_for, ws):
    teams = ws.base("cases").table("teams")
    red = teams.create({"name": "Red team", "active": True}, actor="admin")["id"]
    teams.create({"name": "Retired team", "active": False}, actor="admin")
    gone = teams.create({"name": "Blue team", "active": False}, actor="admin")["id"]
    anyone = client_for(None)
    page = anyone.get("/f/cases/pub")
    assert page.status_code == 200 and 'data-search-url="/f/cases/pub/link/team"' in page.text
    found = anyone.get("/f/cases/pub/link/team?q=team").json()
    assert [r["title"] for r in found["records"]] == ["Red team"]
    assert anyone.get("/f/cases/pub/link/title").status_code == 404
    csrf = csrf_of(page.text)
    res = anyone.post("/f/cases/pub", data={"title": "Sneaky", "team": gone, "csrf_token": csrf})
    assert res.status_code == 422 and "choose one of the records this form offers" in res.text
    assert "Blue team" not in res.text
    res = anyone.post("/f/cases/pub", data={"title": "Fine", "team": red, "csrf_token": csrf})
    assert res.status_code == 200, res.text
    (rec,) = records(ws)
    assert rec["fields"]["team"] == [red]


def test_my_submissions_with_status_and_edit_link(client_for, ws):
    li = client_for("li")
    assert "You have not submitted any form yet" in li.get("/f/mine").text
    page = li.get("/f/cases/logic")
    res = li.post("/f/cases/logic", data={"title": "Mine <b>", "status": "Done", "score": "5", "csrf_token": csrf_of(page.text)})
    assert res.status_code == 200, res.text
    (rec,) = records(ws)
    mine = li.get("/f/mine")
    assert mine.status_code == 200
    assert "Mine &lt;b&gt;" in mine.text and "Done" in mine.text and f"/b/cases/t/cases/r/{rec['id']}" in mine.text
    edit_url = f"/f/cases/logic/edit/{rec['id']}"
    assert edit_url in mine.text
    # editing: the form again with the answers; a question no longer asked is emptied
    form = li.get(edit_url)
    assert form.status_code == 200 and 'value="Mine &lt;b&gt;"' in form.text and f'action="{edit_url}"' in form.text
    res = li.post(edit_url, data={"title": "Mine, changed", "status": "Open", "score": "5", "csrf_token": csrf_of(form.text)})
    assert res.status_code == 200, res.text
    (rec,) = records(ws)
    assert rec["fields"]["title"] == "Mine, changed" and rec["fields"]["status"] == "Open" and "score" not in rec["fields"]
    assert len(records(ws)) == 1
    # someone else's submission is not theirs to edit; nor is one past editable_for
    wang = client_for("wang")
    assert wang.get(edit_url).status_code == 404
    assert wang.post(edit_url, data={"title": "x", "status": "Open", "csrf_token": csrf_of(wang.get("/").text)}).status_code == 404
    assert "Mine, changed" not in wang.get("/f/mine").text
    page = li.get("/f/cases/quick")
    assert li.post("/f/cases/quick", data={"title": "Quick one", "csrf_token": csrf_of(page.text)}).status_code == 200
    quick = next(r for r in records(ws) if r["fields"]["title"] == "Quick one")
    quick_url = f"/f/cases/quick/edit/{quick['id']}"
    assert li.get(quick_url).status_code == 200
    real = ws.clock
    ws.clock = lambda: real() + timedelta(minutes=2)
    try:
        assert edit_url in li.get("/f/mine").text  # 24 hours for the logic form
        closed = li.get(quick_url)
        assert closed.status_code == 400 and "can no longer be changed" in closed.text
    finally:
        ws.clock = real
