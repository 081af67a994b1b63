"""Two campuses of the dental example (中山院区, 开发区院区): people of one campus never see the
other's complaints, on any surface, unless a rule grants it (质控部 and the group's director
read both). Each person signs in through the real /login form and uses an API token; the
planted complaints C3 (开发区院区 / 口腔综合中心) and C4 (中山院区 / 口腔种植中心) carry markers
(tests/security/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from engine import inbox
from tests.security.conftest import Env, add_token, make_client, sign_in

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

# person -> (what they are, the planted complaint they may read, the one they may not)
CAMPUS_PEOPLE = {
    "bai_hua": ("中山院区 director", "C4", "C3"),
    "zhao_lei": ("中山院区 / 口腔种植中心 head", "C4", "C3"),
    "lu_feng": ("开发区院区 director", "C3", "C4"),
    "kong_wei": ("开发区院区 / 口腔综合中心 head", "C3", "C4"),
}
MARK = {"C3": "MKRCDESC03", "C4": "MKRCDESC04"}
BASE, TABLE = "complaints", "complaints"


@pytest.fixture(scope="module")
def clients(env: Env) -> Any:
    opened: list[TestClient] = []
    out: dict[str, tuple[TestClient, TestClient]] = {}
    for person in [*CAMPUS_PEOPLE, "chen_jing"]:
        web = make_client(env.app, opened)
        assert sign_in(web, person).status_code == 303, person
        api = make_client(env.app, opened, Authorization=f"Bearer {add_token(env.ws, person)}")
        out[person] = (web, api)
    yield out
    for c in opened:
        c.__exit__(None, None, None)


@pytest.mark.parametrize("person", list(CAMPUS_PEOPLE))
def test_a_campus_never_sees_the_other_campus(env: Env, clients: Any, person: str) -> None:
    web, api = clients[person]
    _, own, other = CAMPUS_PEOPLE[person]
    own_id, other_id = env.records[own], env.records[other]
    surfaces: dict[str, str] = {}
    grid = web.get(f"/b/{BASE}/t/{TABLE}")
    assert grid.status_code == 200
    surfaces["grid"] = grid.text
    surfaces["csv"] = web.get(f"/b/{BASE}/t/{TABLE}/export.csv").text
    searched = web.get(f"/b/{BASE}/t/{TABLE}", params={"q": MARK[other]}).text
    surfaces["search"] = searched.replace(MARK[other], "")  # the search box echoes what was typed
    listed = api.get(f"/v0/{BASE}/{TABLE}", params={"pageSize": 100})
    assert listed.status_code == 200
    surfaces["api list"] = listed.text
    surfaces["api search"] = api.get(f"/v0/{BASE}/{TABLE}", params={
        "filterByFormula": f"SEARCH('{MARK[other]}', {{描述}})"}).text.replace(MARK[other], "")
    surfaces["inbox"] = web.get("/inbox").text
    for where, text in surfaces.items():
        assert MARK[other] not in text and other_id not in text, f"{person} sees {other} in {where}"
    assert own_id in surfaces["grid"] and own_id in surfaces["api list"], f"{person} should see {own}"
    assert web.get(f"/b/{BASE}/t/{TABLE}/r/{other_id}").status_code == 404
    assert api.get(f"/v0/{BASE}/{TABLE}/{other_id}").status_code == 404
    page = web.get(f"/b/{BASE}/t/{TABLE}/r/{own_id}")
    assert page.status_code == 200 and MARK[own] in page.text
    assert api.get(f"/v0/{BASE}/{TABLE}/{own_id}").json()["fields"]["责任科室"].startswith(
        "开发区院区" if own == "C3" else "中山院区")


def test_the_group_quality_team_sees_both_campuses(env: Env, clients: Any) -> None:
    web, api = clients["chen_jing"]
    listed = api.get(f"/v0/{BASE}/{TABLE}", params={"pageSize": 100}).text
    grid = web.get(f"/b/{BASE}/t/{TABLE}", params={"q": "MKRCDESC0"}).text
    for planted in ("C3", "C4"):
        assert env.records[planted] in listed and env.records[planted] in grid


def test_the_complaint_went_to_the_head_of_its_department_only(env: Env) -> None:
    """`head:{department}` of the new-complaint automation: 开发区's 口腔综合中心 head, not 中山's heads."""
    heads = ["kong_wei", "shen_yu", "zhao_lei", "qian_min", "sun_hao", "li_na", "zhou_tao", "wu_gang"]
    told = {p for p in heads if any(n["record"] == env.records["C3"] and n["title"].startswith("新投诉：")
                                    for n in inbox.latest(env.ws.storage, p, 200))}
    assert told == {"kong_wei"}


def test_the_dashboard_compares_the_campuses(env: Env) -> None:
    """The complaints dashboard's last chart (各院区投诉对比) groups complaints by campus."""
    chart = env.web("director").get("/b/complaints/d/overview/w/11.json")
    assert chart.status_code == 200
    assert "开发区院区" in chart.text and "中山院区" in chart.text
