"""The editors' server side: the people search (enabled people only, any part of the name or
account, only for someone who may set the field, escaped), what a cell tells its editor, a
plugin editor's script, the record page's history (linked records by their primary field, an
automation by its name) and a comment posted in place."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import plugins.example_plugin as example
from automations import process_pending
from engine import Workspace, plugins
from engine import people as people_db
from engine.fields.base import FieldContext
from engine.model import FieldDef
from gridbase.app import create_app
from tests.views.conftest import TestClient, sign_in
from tests.views.editors_support import BASE, PASSWORD, WORKSPACE, seed
from tests_support import csrf_of

SEARCH = "/b/clinic/t/tasks/people/owner"


@pytest.fixture
def ews(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace({"clinic": BASE}, WORKSPACE)


@pytest.fixture
def ids(ews: Workspace) -> dict[str, Any]:
    return seed(ews)


@pytest.fixture
def as_person(ews: Workspace) -> Iterator[Callable[[str | None], TestClient]]:
    app = create_app(ews, automations=False)
    clients: list[TestClient] = []

    def make(person: str | None) -> TestClient:
        client = TestClient(app, base_url="http://testserver")
        client.__enter__()
        clients.append(client)
        if person:
            assert sign_in(client, person, PASSWORD).status_code == 303
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [p["label"] for p in response.json()["people"]]


def test_people_are_found_by_any_part_of_the_name_or_account(as_person: Any, ids: Any) -> None:
    nurse = as_person("wang")
    assert sorted(names(nurse.get(SEARCH, params={"q": "赵"}))) == ["赵六", "赵磊"]
    assert names(nurse.get(SEARCH, params={"q": "磊"})) == ["赵磊"]
    assert names(nurse.get(SEARCH, params={"q": "lei"})) == ["赵磊"]       # part of the account zhao_lei
    assert sorted(names(nurse.get(SEARCH, params={"q": "ZHAO_L"}))) == ["赵六", "赵磊"]  # any case
    found = nurse.get(SEARCH, params={"q": "赵磊"}).json()["people"]
    assert found == [{"value": "zhao_lei", "label": "赵磊", "note": "质控部"}]  # department shown
    assert names(nurse.get(SEARCH, params={"q": "nobody"})) == []
    assert len(names(nurse.get(SEARCH))) == 5  # an empty box lists the first ones
    assert nurse.get(SEARCH, params={"q": "赵"}).headers["cache-control"] == "no-store"


def test_only_active_people_are_offered(as_person: Any, ews: Workspace, ids: Any) -> None:
    people_db.set_disabled(ews.storage, "zhao_liu", True)
    assert names(as_person("wang").get(SEARCH, params={"q": "赵"})) == ["赵磊"]


def test_only_someone_who_may_set_the_field_may_search(as_person: Any, ids: Any) -> None:
    nurse = as_person("wang")
    assert nurse.get("/b/clinic/t/tasks/people/seen_by", params={"q": "赵"}).status_code == 404  # read-only for nurses
    assert nurse.get("/b/clinic/t/tasks/people/title", params={"q": "赵"}).status_code == 404    # not a person field
    assert nurse.get("/b/clinic/t/tasks/people/nope", params={"q": "赵"}).status_code == 404
    assert as_person("admin").get("/b/clinic/t/tasks/people/seen_by", params={"q": "赵"}).status_code == 200
    anonymous = as_person(None).get(SEARCH, params={"q": "赵"}, follow_redirects=False)
    assert anonymous.status_code in (302, 303, 401) and "赵磊" not in anonymous.text


def test_a_form_searches_the_people_of_its_own_questions(as_person: Any, ids: Any) -> None:
    nurse = as_person("wang")
    assert sorted(names(nurse.get("/f/clinic/ask/people/owner", params={"q": "赵"}))) == ["赵六", "赵磊"]
    assert nurse.get("/f/clinic/ask/people/helpers", params={"q": "赵"}).status_code == 404  # not asked by the form
    assert as_person(None).get("/f/clinic/ask/people/owner", params={"q": "赵"},
                               follow_redirects=False).status_code in (302, 303, 401)  # not a public form
    page = nurse.get("/f/clinic/ask").text
    assert '"search_url": "/f/clinic/ask/people/owner"' in page


def test_the_answer_and_the_page_escape_names(as_person: Any, ews: Workspace, ids: Any) -> None:
    nurse = as_person("wang")
    answer = nurse.get(SEARCH, params={"q": "坏"})
    assert answer.headers["content-type"].startswith("application/json")
    assert "<img" not in answer.text and answer.json()["people"][0]["label"].startswith("<img")
    ews.base("clinic").table("tasks").update(ids["task"], {"owner": "evil"}, actor="admin")
    page = nurse.get(f"/b/clinic/t/tasks/r/{ids['task']}").text
    assert "<img src=x" not in page


def test_cells_tell_their_editor_what_it_needs(as_person: Any, ids: Any) -> None:
    page = as_person("wang").get(f"/b/clinic/t/tasks/r/{ids['task']}").text

    def cell(key: str) -> str:
        found = re.search(rf'<td class="cell[^"]*"[^>]*data-field="{key}".*?</td>', page, re.S)
        assert found, key
        return found.group(0)

    assert 'data-widget="person"' in cell("owner") and '"search_url": "/b/clinic/t/tasks/people/owner"' in cell("owner")
    assert 'data-widget="people"' in cell("helpers")
    assert 'data-kind="select"' in cell("status") and '{"color": "yellow", "value": "Doing"}' in cell("status")
    assert 'data-widget="multi"' in cell("tags") and '"color": "purple"' in cell("tags")
    assert 'data-widget="rating"' in cell("stars") and 'class="stars"' in cell("stars")
    assert 'role="checkbox"' in cell("done") and 'aria-checked="false"' in cell("done")
    assert '"tz": "Asia/Shanghai"' in cell("due")
    assert "data-upload-url" in cell("files")
    assert 'data-readonly="true"' in cell("seen_by") and "data-edit-url" not in cell("seen_by")


def test_history_names_linked_records_and_automations(as_person: Any, ews: Workspace, ids: Any) -> None:
    tasks = ews.base("clinic").table("tasks")
    tasks.update(ids["task"], {"patient": [ids["张三"]]}, actor="admin")
    tasks.update(ids["task"], {"patient": [ids["李四"]], "owner": "zhao_lei"}, actor="admin")
    process_pending(ews)
    assert tasks.get(ids["task"], actor="admin")["fields"]["status"] == "Doing"
    page = as_person("wang").get(f"/b/clinic/t/tasks/r/{ids['task']}").text
    history = page[page.index('class="history"'):]
    assert "<del>张三</del> → <ins>李四</ins>" in history and ids["张三"] not in history
    assert "分派后设为处理中" in history and "automation:assigned" not in history


def test_a_comment_posted_from_the_page_comes_back_as_its_item(as_person: Any, ids: Any) -> None:
    nurse = as_person("wang")
    url = f"/b/clinic/t/tasks/r/{ids['task']}"
    token = csrf_of(nurse.get(url).text)
    answer = nurse.post(url + "/comments", data={"body": "<b>看一下</b> @赵磊", "csrf_token": token},
                        headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert answer.text.strip().startswith("<li>") and "&lt;b&gt;看一下&lt;/b&gt;" in answer.text and "王芳" in answer.text
    plain = nurse.post(url + "/comments", data={"body": "again", "csrf_token": token}, follow_redirects=False)
    assert plain.status_code == 303  # without JavaScript: back to the page
    empty = nurse.post(url + "/comments", data={"body": " ", "csrf_token": token}, headers={"HX-Request": "true"})
    assert empty.status_code == 422


def test_a_plugin_editor_script_is_served_by_its_widget_only(as_person: Any, ids: Any) -> None:
    nurse = as_person("wang")
    assert nurse.get("/editors/id_card.js").status_code == 404  # no field of this workspace uses it
    assert nurse.get("/editors/..%2Fapp.js").status_code == 404


def test_a_plugin_editor_script_is_served_where_a_field_uses_it(make_workspace: Callable[..., Workspace]) -> None:
    plugins.reset()
    plugins.plugin_manager().register(example, name="example_plugin")
    try:
        base = ("base: ids\nname: IDs\ntables:\n  cards:\n    name: Cards\n    primary: name\n    fields:\n"
                "      name: {type: text, name: Name}\n      id_no: {type: id_card, name: ID number}\n")
        ws = make_workspace({"ids": base}, WORKSPACE)
        with TestClient(create_app(ws, automations=False), base_url="http://testserver") as client:
            script = client.get("/editors/id_card.js")  # code, not data: a public form's visitor needs it too
            assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
            assert "Gridbase.editors.id_card" in script.text or "G.editors.id_card" in script.text
            assert client.get("/editors/text.js").status_code == 404
    finally:
        plugins.reset()


STATIC = Path(__file__).resolve().parents[2] / "views" / "pages" / "static"
# Widgets editors.js edits without a factory of the registry: plain inputs, the checkbox, the
# record picker and files (dropped or chosen).
DRAWN_AS_INPUTS = {"text", "textarea", "email", "url", "tel", "number", "date", "datetime-local", "checkbox", "link", "file"}


@pytest.mark.parametrize("key", sorted(plugins.field_types()))
def test_every_field_type_has_an_editor_in_the_browser(key: str) -> None:
    """Registry-wide: a type's widget is one editors.js draws, or its own script registers it."""
    source = (STATIC / "editors.js").read_text(encoding="utf-8")
    registered = set(re.findall(r"editors\.([\w]+) = ", source))
    for options in ({}, {"multiple": True}, {"options": ["a"]}, {"table": "t"}):
        editor = plugins.field_types()[key](FieldDef("f", key, "F", dict(options)), FieldContext()).editor()
        if editor.script:
            assert f"editors.{editor.widget} = " in open(editor.script, encoding="utf-8").read()
        else:
            assert editor.widget in registered | DRAWN_AS_INPUTS, (key, editor.widget)
