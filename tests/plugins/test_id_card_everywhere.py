"""The example plugin's ID-card field is its own type everywhere a person or a script meets it.

It validates (a wrong check character is refused with the type's own reason), displays masked
(region code and last four), and edits with the type's own input (18 characters of digits and
X) in a form, in a grid cell, on the record page and through the API, whose schema describes it.
It filters with its own operators, sorts by date of birth, and goes out to and back in from a
file as itself: an export is as masked as a list, and a masked number does not import.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import plugins.example_plugin as example
from engine import Actor, QueryError, Workspace, plugins, tokens, transfer
from gridbase.app import create_app
from tests_support import csrf_of, sign_in

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

PASSWORD = "id-card-test-passphrase"
GOOD, SHOWN, BAD = "11010519491231002X", "110105********002X", "110105194912310021"
BORN_1880, BORN_1970, BORN_1990 = "440524188001010014", "440524197001010019", "210202199005151232"

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


def patients(ws: Workspace, *rows: tuple[str, str]) -> Any:
    table = ws.base("people").table("patients")
    for name, number in rows:
        table.create({"name": name, "id_no": number}, actor=Actor.engine())
    return table


def names(table: Any, **query: Any) -> list[str]:
    return [r["fields"]["name"] for r in table.query(actor=Actor.engine(), **query).records]


def test_it_filters_with_its_own_operators(ws: Workspace) -> None:
    table = patients(ws, ("甲", GOOD), ("乙", BORN_1970), ("丙", BORN_1990), ("丁", ""))
    assert names(table, filter={"id_no": " 110105 19491231 002x "}) == ["甲"]  # read as the type reads it
    assert sorted(names(table, filter={"id_no": {"starts_with": "440524"}})) == ["乙"]
    assert names(table, filter={"id_no": {"in": [BORN_1990, GOOD.lower()]}}, sort=["name"]) == ["丙", "甲"]
    assert names(table, filter={"id_no": {"is_empty": True}}) == ["丁"]
    assert table.fields["id_no"].filter_ops == ("eq", "neq", "starts_with", "in", "not_in", "is_empty", "is_not_empty")
    with pytest.raises(QueryError) as refused:
        table.query(actor=Actor.engine(), filter={"id_no": {"gt": "2"}})
    message = str(refused.value)
    assert "'gt'" in message and "id_card field 'id_no'" in message and "starts_with" in message


def test_it_sorts_by_date_of_birth(ws: Workspace) -> None:
    # By text, 210202… (born 1990) would come before 440524… (born 1880 and 1970).
    table = patients(ws, ("young", BORN_1990), ("old", BORN_1880), ("middle", BORN_1970), ("mid-old", GOOD))
    assert names(table, sort=["id_no"]) == ["old", "mid-old", "middle", "young"]
    assert names(table, sort=["-id_no"]) == ["young", "middle", "mid-old", "old"]


def test_an_export_is_masked_and_a_masked_number_does_not_import(ws: Workspace, tmp_path: Path) -> None:
    table = patients(ws, ("甲", GOOD))
    header, rows = transfer.export_rows(table, actor="admin")
    assert header == ["Name", "ID number"] and rows == [["甲", SHOWN]]
    path = tmp_path / "back.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        transfer.write_csv(out, header, rows)
    report = transfer.import_file(table, path, actor="admin")
    assert report.imported == 0 and "masked" in report.problems[0] and "enter the full number" in report.problems[0]


def test_a_csv_import_reads_it_as_the_type_and_an_unmasked_export_goes_round(ws: Workspace, tmp_path: Path) -> None:
    table = patients(ws)
    path = tmp_path / "in.csv"
    path.write_text("Name,ID number\n甲, 110105 19491231 002x\n乙,440524197001010019\n", encoding="utf-8")
    report = transfer.import_file(table, path, actor="admin")
    assert report.ok and report.imported == 2
    assert {r["fields"]["name"]: r["fields"]["id_no"] for r in table.query(actor=Actor.engine()).records} == \
        {"甲": GOOD, "乙": BORN_1970}
    bad = tmp_path / "bad.csv"
    bad.write_text(f"Name,ID number\n丙,{BAD}\n", encoding="utf-8")
    refused = transfer.import_file(table, bad, actor="admin")
    assert refused.imported == 0 and "row 2" in refused.problems[0] and "check the number for a typo" in refused.problems[0]


def test_with_mask_false_an_export_imports_back_the_same_numbers(ws: Workspace, make_workspace: Callable[..., Workspace],
                                                                 tmp_path: Path) -> None:
    shown = make_workspace({"people": BASE.replace("{type: id_card, name: ID number}",
                                                   "{type: id_card, name: ID number, mask: false}")}, WORKSPACE)
    table = patients(shown, ("甲", GOOD), ("乙", BORN_1970))
    header, rows = transfer.export_rows(table, actor="admin")
    assert rows == [["甲", GOOD], ["乙", BORN_1970]]
    path = tmp_path / "round.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        transfer.write_csv(out, header, rows)
    assert transfer.import_file(table, path, actor="admin").imported == 2
    assert sorted(r["fields"]["id_no"] for r in table.query(actor=Actor.engine()).records) == \
        sorted([GOOD, BORN_1970] * 2)


def test_the_api_without_typecast_wants_the_number_as_a_string(ws: Workspace, clerk: TestClient) -> None:
    secret, _ = tokens.create(ws, "clerk", name="script")
    api: dict[str, Any] = {"Authorization": f"Bearer {secret}"}
    refused = clerk.post("/v0/people/patients", json={"fields": {"name": "孙七", "id_no": 110105}}, headers=api)
    assert refused.status_code == 422 and "expected a string" in refused.text
