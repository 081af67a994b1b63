"""Last session's new surfaces, read as an attacker would (the planted markers of conftest.py).

Timeline bars and lanes (rows and linked titles a role may not read), form logic (prefill of a
field the form does not show, `/f/mine`, editing someone else's submission or after
`editable_for`), the administrators' audit page for everyone else, and `next=` of the SSO
sign-in. Each test fails if the leak it names exists; expectations come from the YAML grants
(env.may_read / env.row_visible), never from the code under test.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

import pytest

from tests.security.conftest import PEOPLE, ROLES, Env

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)


def no_leak(env: Env, role: str, text: str, where: str) -> None:
    found = env.leaks(role, text)
    assert not found, f"{role} ({PEOPLE[role]}) sees {found} in {where}"


# -- timeline: bars, lanes and card cells -------------------------------------------------------
TIMELINES = [("directives", "documents", "timeline"), ("directives", "tasks", "timeline")]
BAR = re.compile(r'data-record="(rec[0-9A-Za-z]+)"')


@pytest.mark.parametrize("role", ROLES)
def test_timeline_shows_only_what_the_role_may_read(env: Env, role: str) -> None:
    client = env.web(role)
    for base, key, view in TIMELINES:
        access = env.access(role, base, key)
        page = client.get(f"/b/{base}/t/{key}/timeline/{view}", params={"zoom": "month"})
        if not access.can_read:
            assert page.status_code == 404, (role, key)
            continue
        # 404 too when the view places bars by a field the role may not read (tasks' dates are
        # formulas over linked documents: restricted for who may not read every document)
        assert page.status_code in (200, 404), (role, key, page.status_code)
        no_leak(env, role, page.text, f"timeline of {base}.{key}")
        everything = env.ws.base(base).table(key).query(actor="system", limit=1000).records
        env.prime(base, key, everything)
        bars = set(BAR.findall(page.text))
        hidden = {r["id"] for r in everything if not env.row_visible(role, base, key, r["id"])}
        assert not bars & hidden, f"{role} sees bars of rows they may not read: {bars & hidden}"


def test_timeline_draws_the_planted_bars(env: Env) -> None:
    """The admin sees the planted tasks and their document lanes (so the test above is not vacuous)."""
    page = env.web("admin").get("/b/directives/t/tasks/timeline/timeline", params={"zoom": "month"})
    assert page.status_code == 200
    bars = set(BAR.findall(page.text))
    assert {env.records["T1"], env.records["T2"]} <= bars, bars
    assert "MKRDTITL02" in page.text  # T2's lane is named by its document, D2


def test_timeline_lane_of_a_linked_record_the_reader_may_not_read(env: Env) -> None:
    """The doctor reads task T2 (assigned to them) but not its document D2: the lane is not named by D2's title."""
    m = {x.name: x for x in env.markers}
    assert env.row_visible("doctor", "directives", "tasks", env.records["T2"])
    assert not env.may_read("doctor", m["document D2 title"])
    page = env.web("doctor").get("/b/directives/t/tasks/timeline/timeline", params={"zoom": "month"})
    assert page.status_code in (200, 404)
    assert "MKRDTITL02" not in page.text


def test_timeline_move_refuses_rows_and_views_the_person_may_not_change(env: Env) -> None:
    """Staff may not change task dates (formulas) nor see T2: a crafted move is a clear 4xx, never a write."""
    client = env.web("staff")
    token = env.csrf("staff")
    for rid in (env.records["T2"], env.records["T1"], "recNOSUCHRECORD0"):
        r = client.post("/b/directives/t/tasks/timeline/timeline/move",
                        data={"record": rid, "days": "3", "csrf_token": token})
        assert r.status_code in (403, 404), (rid, r.status_code, r.text)
        no_leak(env, "staff", r.text, "timeline move answer")
    r = client.post("/b/directives/t/documents/timeline/timeline/move",
                    data={"record": env.records["D2"], "days": "1", "csrf_token": token})
    assert r.status_code in (403, 404), r.text
    no_leak(env, "staff", r.text, "timeline move answer")


# -- forms: prefill, /f/mine, editing one's submission --------------------------------------------
def test_prefill_of_a_field_the_form_does_not_show_is_refused(env: Env) -> None:
    """`owner`, `status` and `result` are not questions nor `link_prefill` fields of 投诉登记."""
    client = env.web("staff")
    for ref in ("owner", "status", "result", "处理负责人", "reporter"):
        page = client.get(f"/f/complaints/report?prefill_{quote(ref)}=wang_jun")
        assert page.status_code == 422, (ref, page.status_code)
        assert 'name="prefill_' + ref not in page.text
    token = env.csrf("staff")
    before = env.ws.base("complaints").table("complaints").count(actor="system")
    r = client.post("/f/complaints/report", data={"csrf_token": token, "title": "MKRFORMPREFILL", "description": "x",
                                                  "prefill_owner": "zz_staff", "prefill_status": "已办结"})
    assert r.status_code == 422, r.status_code
    assert env.ws.base("complaints").table("complaints").count(actor="system") == before
    # a hidden field the link may prefill is taken, and checked like an answer
    bad = client.get("/f/complaints/report?prefill_department=" + quote("<script>x</script>"))
    assert bad.status_code == 422 and "<script>x</script>" not in bad.text


def test_my_submissions_lists_only_my_own(env: Env) -> None:
    for role in ROLES:
        page = env.web(role).get("/f/mine")
        assert page.status_code == 200, role
        no_leak(env, role, page.text, "/f/mine")
        if role != "staff":
            assert "MKRCTITL01" not in page.text, role  # zz_staff's complaint
    assert "MKRCTITL01" in env.web("staff").get("/f/mine").text
    assert env.web("staff").get("/f/mine").text.count(f"/edit/{env.records['C2']}") == 0


@pytest.fixture(scope="module")
def old_submission(env: Env) -> str:
    """zz_staff's complaint created 25 hours ago (the clock turned back only while the engine writes it,
    so that no session of the shared clients is touched)."""
    real = env.ws.clock
    env.ws.clock = lambda: real() - timedelta(hours=25)
    try:
        return str(env.ws.base("complaints").table("complaints").create(
            {"title": "MKROLDSUBMISSION", "reporter": "zz_staff", "description": "old"}, actor="system")["id"])
    finally:
        env.ws.clock = real


def test_editing_someone_elses_submission_is_not_found(env: Env) -> None:
    """C2 was submitted by xu_ting (service): no one else opens or posts its edit form."""
    c2 = env.records["C2"]
    for role in ("staff", "nurse", "doctor", "qc"):
        client = env.web(role)
        page = client.get(f"/f/complaints/report/edit/{c2}")
        assert page.status_code == 404, (role, page.status_code)
        no_leak(env, role, page.text, "edit page of another's submission")
        assert "MKRCDESC02" not in page.text
        r = client.post(f"/f/complaints/report/edit/{c2}",
                        data={"csrf_token": env.csrf(role), "title": "hijacked", "description": "hijacked"})
        assert r.status_code == 404, (role, r.status_code)
    assert env.ws.base("complaints").table("complaints").get(c2, actor="system")["fields"]["title"] == "MKRCTITL02"


def test_editing_after_editable_for_is_closed(env: Env, old_submission: str) -> None:
    client = env.web("staff")
    assert client.get(f"/f/complaints/report/edit/{env.records['C1']}", follow_redirects=False).status_code == 200
    page = client.get(f"/f/complaints/report/edit/{old_submission}", follow_redirects=False)
    assert 400 <= page.status_code < 500, page.status_code
    mine = client.get("/f/mine").text
    assert "MKROLDSUBMISSION" in mine and f"/edit/{old_submission}" not in mine
    r = client.post(f"/f/complaints/report/edit/{old_submission}", follow_redirects=False,
                    data={"csrf_token": env.csrf("staff"), "title": "late change", "description": "late"})
    assert 400 <= r.status_code < 500, r.status_code
    got = env.ws.base("complaints").table("complaints").get(old_submission, actor="system")["fields"]
    assert got["title"] == "MKROLDSUBMISSION"


def test_form_edit_page_shows_no_field_the_submitter_may_not_read(env: Env) -> None:
    """The edit page reads the record as the engine; it must still show only what its person may read."""
    page = env.web("staff").get(f"/f/complaints/report/edit/{env.records['C1']}")
    assert page.status_code == 200
    no_leak(env, "staff", page.text, "form edit page")


# -- the administrators' audit page ----------------------------------------------------------------
@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_audit_page_is_for_administrators_only(env: Env, role: str) -> None:
    for client in (env.web(role), env.api(role)):
        for url in ("/admin/audit", "/admin/audit?log=reads", "/admin/audit.csv", "/admin/audit.csv?log=both"):
            r = client.get(url, follow_redirects=False)
            assert r.status_code in (401, 403, 404) or (r.status_code == 303 and r.headers["location"].startswith(
                "/login")), (role, url, r.status_code)
            no_leak(env, role, r.text, url)
            assert "MKRIDNAQXY" not in r.text and "MKROLDIDNA" not in r.text


def test_audit_page_works_for_the_admin(env: Env) -> None:
    r = env.web("admin").get("/admin/audit", params={"table": "patients.patients", "record": env.records["P1"]})
    assert r.status_code == 200 and "MKRIDNAQXY" in r.text  # the write log holds every value: admins only
    assert env.web("admin").get("/admin/audit?since=not-a-date&before=x&table=nope.nope").status_code == 200


# -- SSO: next= after signing in --------------------------------------------------------------------
OPEN_REDIRECTS = ["//evil.example", "https://evil.example", "/\\evil.example", "\\\\evil.example",
                  "/%2F%2Fevil.example", "/\t/evil.example", "javascript:alert(1)", " //evil.example",
                  "/%5Cevil.example", "http:/evil.example"]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_sso_next_never_leaves_the_site(env: Env, target: str) -> None:
    r = env.web("staff").get("/login/sso/nosuch", params={"next": target}, follow_redirects=False)
    assert r.status_code == 303
    where = r.headers["location"]
    assert where.startswith("/") and not where.startswith("//") and "\\" not in where, where
    assert "evil.example" not in where.split("?")[0].lstrip("/").split("/")[0] or where.startswith("/%"), where


def test_sso_callback_without_this_browsers_flow_is_refused(env: Env) -> None:
    r = env.web("staff").get("/login/sso/nosuch/callback", params={"state": "x", "code": "y"})
    assert r.status_code == 400
    anon = env.web("staff").__class__(env.app, base_url="http://testserver", cookies={"gb_sso": "e30.forged.sig"})
    forged = anon.get("/login/sso/nosuch/callback", params={"state": "x", "code": "y"})
    assert forged.status_code == 400
    assert "gb_session" not in forged.cookies


# -- bad input on the new routes: a clear 4xx (or the page), never a 500 ----------------------------
ODD = ["/f/complaints/report/edit/..%2F..%2Fetc", "/f/complaints/report/edit/recNOPE", "/f/complaints/nosuch",
       "/f/nosuch/report", "/f/complaints/report/link/title?q=x", "/f/complaints/report/people/title?q=x",
       "/f/complaints/report?prefill_=x", "/f/complaints/report?prefill_%E6%A0%87%E9%A2%98=" + "x" * 5000,
       "/f/complaints/report/qr.png?prefill_department=nope", "/f/complaints/public_report/poster?prefill_owner=x",
       "/b/directives/t/documents/timeline/timeline?zoom=%00&from=99999-01-01",
       "/b/directives/t/documents/timeline/timeline?from=0001-01-01&zoom=quarter",
       "/b/directives/t/documents/timeline/nosuch", "/b/directives/t/documents/timeline/mine",
       "/admin/audit?before=-1&record=" + "r" * 500 + "&since=2026-13-45&log=%00",
       "/login/sso/%00/callback?state=&code=", "/login/sso/x?next=" + "/" * 3000]


@pytest.mark.parametrize("who", ["anonymous", "staff", "admin"])
def test_new_routes_answer_bad_input_with_a_4xx(env: Env, who: str) -> None:
    client = env.web("admin").__class__(env.app, base_url="http://testserver") if who == "anonymous" else env.web(who)
    for url in ODD:
        r = client.get(url, follow_redirects=False)
        assert r.status_code < 500, (who, url, r.status_code)
    if who == "anonymous":
        return
    token = env.csrf(who)
    for data in ({"record": env.records["D1"], "days": "1e9"}, {"record": env.records["D1"], "days": "5", "edge": "x"},
                 {"record": "", "days": "1"}, {"days": "-99999999999999999999"}):
        r = client.post("/b/directives/t/documents/timeline/timeline/move", data={**data, "csrf_token": token})
        assert 400 <= r.status_code < 500, (who, data, r.status_code)
        no_leak(env, who, r.text, "timeline move answer")
