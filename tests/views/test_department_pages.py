"""A department field on the pages and in the REST API: nodes offered and shown by their path,
a name two campuses share asked to be written as a path, the grid's `under` filter, and a
campus director's grid and API holding their campus only."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine import Workspace, tokens
from gridbase.app import create_app
from tests.engine.test_org_tree import CASES, GROUP
from tests_support import csrf_of, sign_in
from views.pages import cells

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

PASSWORD = "demo1234"
NEW = "/b/cases/t/cases/new"
SIGNED = GROUP.replace("roles: [admin]}", f"roles: [admin], password: {PASSWORD}}}").replace(
    "roles: [director]}", f"roles: [director], password: {PASSWORD}}}")


@pytest.fixture
def ws(make_workspace: Callable[..., Workspace]) -> Workspace:
    ws = make_workspace({"cases": CASES}, SIGNED)
    ws.sync_people()
    cases = ws.base("cases").table("cases")
    cases.create({"title": "中山的事", "dept": "中山院区 / 口腔正畸中心"}, actor="admin")
    cases.create({"title": "开发区的事", "dept": "开发区院区 / 口腔正畸中心"}, actor="admin")
    return ws


@pytest.fixture
def as_person(ws: Workspace) -> Iterator[Callable[..., TestClient]]:
    app = create_app(ws, automations=False)
    clients: list[TestClient] = []

    def make(person: str, token: str | None = None) -> TestClient:
        client = TestClient(app, base_url="http://testserver",
                            headers={"Authorization": f"Bearer {token}"} if token else None)
        client.__enter__()
        clients.append(client)
        if token is None:
            assert sign_in(client, person, PASSWORD).status_code == 303
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_nodes_are_offered_and_shown_by_their_path(ws: Workspace, as_person: Any) -> None:
    admin = as_person("admin")
    page = admin.get(NEW)
    assert page.status_code == 200
    assert "中山院区 / 口腔正畸中心" in page.text and "开发区院区 / 口腔正畸中心" in page.text
    token = csrf_of(page.text)
    made = admin.post(NEW, data={"csrf_token": token, "submitted": "1", "title": "新事项",
                                 "dept": "开发区院区 / 口腔正畸中心"}, follow_redirects=False)
    assert made.status_code == 303, made.text
    record = admin.get(made.headers["location"]).text
    assert "开发区院区 / 口腔正畸中心" in record
    ambiguous = admin.post(NEW, data={"csrf_token": token, "submitted": "1", "title": "哪个中心",
                                      "dept": "口腔正畸中心"}, follow_redirects=False)
    assert ambiguous.status_code == 422 and "开发区院区 / 口腔正畸中心" in ambiguous.text


def test_the_grid_filters_a_subtree(as_person: Any) -> None:
    grid = as_person("admin").get("/b/cases/t/cases?f=dept&op=under&v=kfq")
    assert grid.status_code == 200
    assert "开发区的事" in grid.text and "中山的事" not in grid.text


def test_a_campus_director_sees_their_campus_on_the_grid_and_in_the_api(ws: Workspace, as_person: Any) -> None:
    grid = as_person("dir_kfq").get("/b/cases/t/cases").text
    assert "开发区的事" in grid and "中山的事" not in grid
    api = as_person("dir_kfq", tokens.create(ws, "dir_kfq")[0])
    titles = {r["fields"]["标题"] for r in api.get("/v0/cases/cases").json()["records"]}
    assert "开发区的事" in titles and "中山的事" not in titles


def test_the_api_reads_and_writes_paths(ws: Workspace, as_person: Any) -> None:
    api = as_person("admin", tokens.create(ws, "admin")[0])
    listed = api.get("/v0/cases/cases").json()["records"]
    assert {r["fields"]["责任科室"] for r in listed} == {"中山院区 / 口腔正畸中心", "开发区院区 / 口腔正畸中心"}
    made = api.post("/v0/cases/cases", json={"fields": {"标题": "api", "责任科室": "开发区院区 / 口腔正畸中心"}})
    assert made.status_code == 200, made.text
    loose = api.post("/v0/cases/cases", json={"fields": {"标题": "api", "责任科室": "口腔正畸中心"}, "typecast": True})
    assert loose.status_code == 422 and "several departments" in loose.text
    keyed = api.post("/v0/cases/cases", json={"fields": {"标题": "api", "责任科室": "kfq_ortho"}, "typecast": True})
    assert keyed.status_code == 200 and keyed.json()["fields"]["责任科室"] == "开发区院区 / 口腔正畸中心"


def test_the_people_picker_tells_campuses_apart(ws: Workspace) -> None:
    notes = {p["key"]: p["dept"] for p in cells.active_people(ws)}
    assert notes["qian"] == "中山院区 / 口腔正畸中心" and notes["liu"] == "开发区院区 / 口腔正畸中心"
    assert notes["chen"] == "质控部" and notes["admin"] == ""
