"""The REST API and unique fields: a repeated value is 422 naming the field and the record
(when the caller may read it), and performUpsert.fieldsToMergeOn may name a unique field."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette

from engine import Workspace, tokens

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BASE = """\
base: eq
name: Equipment
tables:
  devices:
    name: Devices
    primary: name
    fields:
      name: {type: text, name: Name}
      asset: {type: text, name: Asset number, unique: true}
      dept: {type: text, name: Department}
roles:
  handler:
    devices: {access: edit, create: true, rows: {dept: ortho}}
"""


@pytest.fixture
def api(make_workspace: Callable[..., Workspace]) -> Iterator[Callable[[str], Any]]:
    from views.api import routes

    ws = make_workspace({"eq": BASE})
    ws.sync_people()
    app = Starlette(routes=list(routes))
    app.state.ws = ws
    app.state.api_rate = None
    clients: list[Any] = []

    def client(person: str) -> Any:
        secret, _ = tokens.create(ws, person)
        c = TestClient(app, base_url="http://testserver", headers={"Authorization": f"Bearer {secret}"})
        clients.append(c)
        return c

    yield client
    for c in clients:
        c.close()


def test_a_repeated_value_is_422_naming_the_record_only_to_who_may_read_it(api: Callable[[str], Any]) -> None:
    admin, li = api("admin"), api("li")
    first = admin.post("/v0/eq/devices", json={"fields": {"Name": "Chair", "Asset number": "A-1", "Department": "qc"}})
    assert first.status_code == 200, first.text
    again = admin.post("/v0/eq/devices", json={"fields": {"Name": "Chair 2", "Asset number": "A-1"}})
    assert again.status_code == 422
    assert again.json()["error"]["message"] == (f'Field "Asset number" cannot accept the provided value: '
                                                f"'A-1' is already used by record {first.json()['id']}")
    hidden = li.post("/v0/eq/devices", json={"fields": {"Asset number": "A-1", "Department": "ortho"}})
    assert hidden.status_code == 422
    assert "by another record" in hidden.text and first.json()["id"] not in hidden.text


def test_perform_upsert_merges_on_a_unique_field(api: Callable[[str], Any]) -> None:
    admin = api("admin")
    body = {"performUpsert": {"fieldsToMergeOn": ["Asset number"]},
            "records": [{"fields": {"Asset number": "A-1", "Name": "Chair"}},
                        {"fields": {"Asset number": "A-2", "Name": "Lamp"}}]}
    made = admin.patch("/v0/eq/devices", json=body)
    assert made.status_code == 200, made.text
    assert len(made.json()["createdRecords"]) == 2
    body["records"] = [{"fields": {"Asset number": "A-1", "Name": "Dental chair"}}]
    merged = admin.patch("/v0/eq/devices", json=body).json()
    assert merged["updatedRecords"] == [made.json()["createdRecords"][0]] and merged["createdRecords"] == []
    names = sorted(r["fields"]["Name"] for r in admin.get("/v0/eq/devices").json()["records"])
    assert names == ["Dental chair", "Lamp"]
