"""The example plugin's ID-card field is its own type everywhere a person or a script meets it.

It validates (a wrong check character is refused with the type's own reason), displays masked
(region code and last four), and edits with the type's own input (18 characters of digits and
X) in a form, in a grid cell, on the record page and through the API, whose schema describes it.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import plugins.example_plugin as example
from engine import Actor, Workspace, plugins, tokens
from gridbase.app import create_app
from tests_support import csrf_of, sign_in

PASSWORD = "id-card-test-passphrase"
GOOD, SHOWN, BAD = "11010519491231002X", "110105********002X", "110105194912310021"

WORKSPACE = f"""\
workspace: ids
name: IDs
timezone: Asia/Shanghai
locale: en
roles:
  admin: {{name: Admin, admin: true}}
  clerk: {{name: Clerk}}
people:
  admin: {{name: Admin, roles: [admin], password: "{PASSWORD}"}}
  clerk: {{name: Clerk, roles: [clerk], password: "{PASSWORD}"}}
"""

BASE = """\
base: people
name: People
tables:
  patients:
    name: Patients
    primary: name
    fields:
      name: {type: text, name: Name, required: true}
      id_no: {type: id_card, name: ID number}
    forms:
      register: {name: Register, fields: [name, id_no]}
roles:
  clerk: {patients: {access: edit, create: true}}
"""


@pytest.fixture
def ws(make_workspace: Callable[..., Workspace]) -> Iterator[Workspace]:
    plugins.reset()
    plugins.plugin_manager().register(example, name="example_plugin")
    try:
        yield make_workspace({"people": BASE}, WORKSPACE)
    finally:
        plugins.reset()


@pytest.fixture
def clerk(ws: Workspace) -> Iterator[TestClient]:
    with TestClient(create_app(ws, automations=False), base_url="http://testserver") as client:
        assert sign_in(client, "clerk", PASSWORD).status_code == 303
        yield client


def the_input(html: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert found, f"no input named {name}"
    return found.group(0)


def test_a_form_draws_the_type_input_and_refuses_a_bad_number(ws: Workspace, clerk: TestClient) -> None:
    page = clerk.get("/f/people/register")
    box = the_input(page.text, "id_no")
    assert 'maxlength="18"' in box and 'pattern="[0-9]{17}[0-9Xx]"' in box
    refused = clerk.post("/f/people/register", data={"csrf_token": csrf_of(page.text), "name": "张三", "id_no": BAD})
    assert refused.status_code == 422 and "check the number for a typo" in refused.text
    taken = clerk.post("/f/people/register", data={"csrf_token": csrf_of(page.text), "name": "张三", "id_no": GOOD})
    assert taken.status_code == 200
    assert ws.base("people").table("patients").query(actor=Actor.engine()).records[0]["fields"]["id_no"] == GOOD


def test_a_grid_cell_shows_it_masked_and_edits_with_the_type_input(ws: Workspace, clerk: TestClient) -> None:
    ws.base("people").table("patients").create({"name": "李四", "id_no": GOOD}, actor=Actor.engine())
    grid = clerk.get("/b/people/t/patients").text
    cell = re.search(r'<td[^>]*data-field="id_no"[^>]*>.*?</td>', grid, re.S)
    assert cell is not None
    assert SHOWN in cell.group(0) and GOOD not in grid
    attrs = re.search(r"data-attrs='([^']*)'", cell.group(0))
    assert attrs and '"maxlength": "18"' in attrs.group(1) and '"pattern"' in attrs.group(1)


def test_the_record_page_saves_a_cell_through_the_type(ws: Workspace, clerk: TestClient) -> None:
    rid = ws.base("people").table("patients").create({"name": "王五"}, actor=Actor.engine())["id"]
    page = clerk.get(f"/b/people/t/patients/r/{rid}")
    cell = re.search(r'<td[^>]*data-field="id_no"[^>]*>', page.text)
    assert page.status_code == 200 and cell is not None
    assert 'data-kind="text"' in cell.group(0) and '"maxlength": "18"' in cell.group(0)
    url = f"/b/people/t/patients/r/{rid}/cell/id_no"
    refused = clerk.post(url, data={"csrf_token": csrf_of(page.text), "value": BAD})
    assert refused.status_code in (400, 422) and "check the number for a typo" in refused.text
    saved = clerk.post(url, data={"csrf_token": csrf_of(page.text), "value": GOOD.lower()})
    assert saved.status_code == 200 and SHOWN in saved.text
    assert SHOWN in clerk.get(f"/b/people/t/patients/r/{rid}").text


def test_the_api_describes_validates_and_returns_the_type(ws: Workspace, clerk: TestClient) -> None:
    secret, _ = tokens.create(ws, "clerk", name="script")
    api: dict[str, Any] = {"Authorization": f"Bearer {secret}"}
    refused = clerk.post("/v0/people/patients", json={"fields": {"name": "赵六", "id_no": BAD}}, headers=api)
    assert refused.status_code == 422 and "check the number for a typo" in refused.text
    made = clerk.post("/v0/people/patients", json={"fields": {"name": "赵六", "id_no": GOOD}}, headers=api)
    assert made.status_code == 200, made.text
    assert made.json()["fields"]["ID number"] == GOOD
    spec = clerk.get("/v0/openapi.json", headers=api)
    assert spec.status_code == 200
    assert "^[0-9]{17}[0-9Xx]$" in spec.text  # the type's own JSON Schema
