"""The API has exactly the engine's permissions: hidden fields, masks and row rules hold."""

from __future__ import annotations

from typing import Any

import pytest
from pyairtable import Api

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)


@pytest.fixture
def records(api_server: Any) -> dict[str, str]:
    table = api_server.ws.base("crm").table("contacts")
    active = table.create({"name": "Ann", "status": "Active", "fee": 99, "phone": "13800001234",
                           "email": "ann@example.org"}, actor="admin")
    new = table.create({"name": "Bob", "status": "New", "fee": 5}, actor="admin")
    return {"active": active["id"], "new": new["id"]}


def test_hidden_field_never_appears_anywhere(api_server: Any, records: dict[str, str]) -> None:
    with api_server.client("li") as c:  # handler: fee is `none`
        listing = c.get("/v0/crm/contacts").json()
        assert listing["records"] and all("Fee" not in r["fields"] for r in listing["records"])
        assert "Fee" not in c.get(f"/v0/crm/contacts/{records['active']}").text
        for params in ({"fields[]": "Fee"}, {"sort[0][field]": "Fee"}, {"filterByFormula": "{Fee} > 10"},
                       {"filterByFormula": "{fee} > 10"}):
            r = c.get("/v0/crm/contacts", params=params)
            assert r.status_code == 422 and "99" not in r.text
        r = c.patch(f"/v0/crm/contacts/{records['active']}", json={"fields": {"Fee": 1}})
        assert r.status_code == 422 and r.json()["error"]["type"] == "UNKNOWN_FIELD_NAME"
        fields = [f["name"] for t in c.get("/v0/meta/bases/crm/tables").json()["tables"] for f in t["fields"]]
        assert "Name" in fields and "Fee" not in fields
        doc = c.get("/v0/openapi.json").text
        assert '"Fee"' not in doc and "Vault" not in doc
    assert api_server.ws.base("crm").table("contacts").get(records["active"], actor="admin")["fields"]["fee"] == 99


def test_masked_field_comes_masked_and_cannot_be_probed(api_server: Any, records: dict[str, str]) -> None:
    with api_server.client("li") as c:
        rec = c.get(f"/v0/crm/contacts/{records['active']}").json()
        assert rec["fields"]["Phone"] == "*******1234"
        listing = c.get("/v0/crm/contacts", params={"cellFormat": "string", "timeZone": "UTC", "userLocale": "en"}).json()
        assert "13800001234" not in str(listing)
        for params in ({"filterByFormula": "{Phone} = '13800001234'"}, {"sort[0][field]": "Phone"}):
            assert c.get("/v0/crm/contacts", params=params).status_code == 422


def test_hidden_row_is_404_and_not_listed(api_server: Any, records: dict[str, str]) -> None:
    api = Api(api_server.token("zhao"), endpoint_url=api_server.url, retry_strategy=None)
    table = api.table("crm", "Contacts")
    assert [r["id"] for r in table.all()] == [records["active"]]
    assert all("Email" not in r["fields"] for r in table.all())
    with api_server.client("zhao") as c:
        r = c.get(f"/v0/crm/contacts/{records['new']}")
        assert r.status_code == 404 and "Bob" not in r.text
        r = c.post("/v0/crm/contacts", json={"fields": {"Name": "x"}})
        assert r.status_code == 403 and r.json()["error"]["type"] == "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"
        assert c.delete(f"/v0/crm/contacts/{records['active']}").status_code == 403
        assert c.get("/v0/crm/companies").status_code == 403
        assert c.get("/v0/meta/bases").json()["bases"] == [{"id": "crm", "name": "CRM", "permissionLevel": "read"}]


def test_handler_writes_through_the_engine(api_server: Any, records: dict[str, str]) -> None:
    with api_server.client("li") as c:
        r = c.patch(f"/v0/crm/contacts/{records['active']}", json={"fields": {"Age": 30}})
        assert r.status_code == 200 and r.json()["fields"]["Age"] == 30 and r.json()["fields"]["Editor"]["id"] == "li"
        r = c.put(f"/v0/crm/contacts/{records['active']}", json={"fields": {"Name": "Ann"}})
        assert r.status_code == 200 and "Age" not in r.json()["fields"]
    stored = api_server.ws.base("crm").table("contacts").get(records["active"], actor="admin")["fields"]
    # Hidden fields are kept, and so is the phone: li may edit it but sees it masked, so a
    # replace (PUT) leaves it, and writing it explicitly is refused.
    assert stored["fee"] == 99 and stored["phone"] == "13800001234"
    with api_server.client("li") as c:
        r = c.patch(f"/v0/crm/contacts/{records['active']}", json={"fields": {"Phone": "*******1234"}})
        assert r.status_code == 422 and "shown masked to you" in r.text
    audit = api_server.ws.storage.conn.execute(
        "SELECT actor FROM _gb_audit WHERE record = ? AND action = 'update'", (records["active"],)).fetchall()
    assert {a[0] for a in audit} == {"li"}
