"""The administrators' pages: people (add, disable, enable, set a password), runs and dead letters."""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from automations.runner import Start, execute
from engine import Workspace
from gridbase.app import create_app
from tests.views.conftest import PASSWORD, WORKSPACE
from tests_support import csrf_of, sign_in

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

BASE = """\
base: desk
name: Desk
tables:
  tickets:
    name: Tickets
    primary: title
    fields:
      title: {type: text, name: Title, required: true}
      owner: {type: person, name: Owner}
automations:
  tell_owner:
    name: Tell the owner
    when: {created: tickets}
    do:
      - notify: {to: "{owner}", title: "New: {{ record.title }}"}
"""


@pytest.fixture
def ws(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace({"desk": BASE}, WORKSPACE)


@pytest.fixture
def client_for(ws: Workspace) -> Iterator[Callable[[str], TestClient]]:
    app = create_app(ws, automations=False)
    clients: list[TestClient] = []

    def make(person: str, password: str = PASSWORD, *, locale: str | None = None) -> TestClient:
        client = TestClient(app, base_url="http://testserver")
        client.__enter__()
        clients.append(client)
        assert sign_in(client, person, password).status_code == 303
        if locale:
            client.post("/lang", data={"locale": locale, "next": "/", "csrf_token": csrf_of(client.get("/").text)})
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def token(client: TestClient) -> str:
    return csrf_of(client.get("/admin/people").text)


def test_only_admins_reach_the_admin_pages(client_for: Any) -> None:
    li = client_for("li")
    for path in ("/admin", "/admin/people", "/admin/runs", "/admin/dead"):
        assert li.get(path).status_code == 403, path
    assert li.post("/admin/people", data={"key": "x1", "name": "X", "csrf_token": csrf_of(li.get("/").text)}
                   ).status_code == 403
    assert "/admin/people" not in li.get("/").text  # no admin links for others
    assert '<a href="/admin/people"' in client_for("admin").get("/").text  # the sidebar's admin section


def test_the_refusal_is_worded_in_the_readers_language(client_for: Any) -> None:
    assert "only administrators may see this page" in client_for("li").get("/admin/people").text
    page = client_for("li", locale="zh-CN").get("/admin/people")
    assert page.status_code == 403
    assert "只有管理员可以查看此页面" in page.text and "administrators" not in page.text
    refused = client_for("admin", locale="zh-CN").post("/admin/people/li/disable", data={})  # no CSRF token
    assert refused.status_code == 403 and "CSRF 令牌缺失或无效" in refused.text


def test_admin_adds_a_person_who_can_be_assigned_at_once(client_for: Any, ws: Workspace) -> None:
    admin = client_for("admin")
    added = admin.post("/admin/people", data={"key": "nurse2", "name": "护士二", "department": "qc", "roles": ["staff"],
                                              "email": "n2@example.org", "csrf_token": token(admin)},
                       follow_redirects=False)
    assert added.status_code == 303
    page = admin.get(added.headers["location"])
    assert "nurse2 was added" in page.text and "护士二" in page.text and "质控部" in page.text
    # a person field takes them without a restart
    rec = ws.base("desk").table("tickets").create({"title": "Bed 3", "owner": "nurse2"}, actor="admin")
    assert rec["fields"]["owner"] == "nurse2"
    # a password for them, checked by the policy, then they sign in
    short = admin.post("/admin/people/nurse2/password", data={"password": "short", "csrf_token": token(admin)})
    assert short.status_code == 422 and "at least 10 characters" in short.text
    done = admin.post("/admin/people/nurse2/password", data={"password": "a quiet ward at night", "csrf_token": token(admin)},
                      follow_redirects=False)
    assert done.status_code == 303
    assert client_for("nurse2", "a quiet ward at night").get("/").status_code == 200


@pytest.mark.parametrize(("form", "problem"), [
    ({"key": "Bad Key", "name": "X"}, "is not usable"),
    ({"key": "wang", "name": "X"}, "already exists"),
    ({"key": "x2", "name": "X", "roles": ["boss"]}, "unknown role 'boss'"),
    ({"key": "x3", "name": " "}, "give the person's name"),
])
def test_a_bad_new_person_is_refused_with_the_reason_and_the_form_kept(client_for: Any, form: dict[str, Any],
                                                                       problem: str) -> None:
    admin = client_for("admin")
    refused = admin.post("/admin/people", data={**form, "csrf_token": token(admin)})
    assert refused.status_code == 422 and problem in html.unescape(refused.text)
    assert f'value="{form["key"]}"' in refused.text  # what was typed stays in the form


def test_disabling_signs_out_and_enabling_lets_back_in(client_for: Any) -> None:
    li = client_for("li")
    assert li.get("/").status_code == 200
    admin = client_for("admin")
    off = admin.post("/admin/people/li/disable", data={"csrf_token": token(admin)}, follow_redirects=False)
    assert off.status_code == 303
    assert "Disabled" in admin.get("/admin/people").text
    assert li.get("/", follow_redirects=False).status_code in (302, 303)  # signed out everywhere
    assert admin.post("/admin/people/admin/disable", data={"csrf_token": token(admin)}).status_code == 422
    assert admin.post("/admin/people/li/enable", data={"csrf_token": token(admin)}, follow_redirects=False).status_code == 303
    assert client_for("li").get("/").status_code == 200
    assert admin.post("/admin/people/nobody/disable", data={"csrf_token": token(admin)}).status_code == 404
    assert admin.post("/admin/people/li/disable", data={}).status_code == 403  # no CSRF token


def test_runs_page_names_the_record_and_people_in_the_page_language(client_for: Any, ws: Workspace) -> None:
    table = ws.base("desk").table("tickets")
    rec = table.create({"title": "Broken <chair>", "owner": "wang"}, actor="admin")
    auto = ws.config.bases["desk"].automations["tell_owner"]
    with ws.storage.transaction():
        execute(ws, "desk", auto, Start("created", "run-1", "tickets", rec["id"]))
    admin = client_for("admin", locale="zh-CN")
    page = admin.get("/admin/runs").text
    row = re.search(r'<tr data-run="\d+">(.*?)</tr>', page, re.S)
    assert row is not None
    text = row.group(1)
    assert "Tell the owner" in text and "新建记录时" in text and "成功" in text
    assert f'href="/b/desk/t/tickets/r/{rec["id"]}">Broken &lt;chair&gt;</a>' in text
    assert "接收人: 王芳" in text and "['wang']" not in text
    assert "成功" in admin.get("/admin/runs?status=ok").text
    assert 'data-run="' not in admin.get("/admin/runs?status=failed").text

