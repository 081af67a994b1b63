"""A user migrating from Airtable: the pyairtable client, pointed at Gridbase, just works."""

from __future__ import annotations

from typing import Any

import pytest
from pyairtable import Api
from pyairtable.formulas import AND, EQ, GT, LT, OR, Field, match

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)


@pytest.fixture
def api(api_server: Any) -> Api:
    return Api(api_server.token("admin"), endpoint_url=api_server.url, timeout=(5, 60), retry_strategy=None)


def test_all_pages_through_a_thousand_records(api_server: Any, seeded: Any, api: Api) -> None:
    seeded(api_server.ws, 1000)
    table = api.table("crm", "Contacts")
    records = table.all()
    assert len(records) == 1000
    assert len({r["id"] for r in records}) == 1000
    assert [r["fields"]["Name"] for r in records[:3]] == ["c0000", "c0001", "c0002"]
    pages = list(table.iterate(page_size=100))
    assert [len(p) for p in pages] == [100] * 10
    assert len(table.all(max_records=150, page_size=40)) == 150


def test_sort_fields_and_max_records(api_server: Any, seeded: Any, api: Api) -> None:
    seeded(api_server.ws, 30)
    table = api.table("crm", "contacts")
    records = table.all(sort=["-Age"], fields=["Name", "Age"], max_records=5)
    assert [r["fields"]["Age"] for r in records] == [29, 28, 27, 26, 25]
    assert all(set(r["fields"]) == {"Name", "Age"} for r in records)
    by_status = table.all(sort=["Status", "-Age"], fields=["Status"])
    assert [r["fields"]["Status"] for r in by_status][:10] == ["New"] * 10  # declared option order


def test_filter_by_formula_with_pyairtable_helpers(api_server: Any, seeded: Any, api: Api) -> None:
    seeded(api_server.ws, 30)
    table = api.table("crm", "Contacts")
    young = table.all(formula=LT(Field("Age"), 5))
    assert sorted(r["fields"]["Age"] for r in young) == [0, 1, 2, 3, 4]
    both = table.all(formula=AND(GT(Field("Age"), 20), EQ(Field("Status"), "Active")))
    assert sorted(r["fields"]["Age"] for r in both) == [22, 25, 28]
    either = table.all(formula=OR(EQ(Field("Name"), "c0003"), EQ(Field("Name"), "c0007")))
    assert sorted(r["fields"]["Name"] for r in either) == ["c0003", "c0007"]
    assert [r["fields"]["Name"] for r in table.all(formula=match({"Name": "c0011"}))] == ["c0011"]
    first = table.first(formula=match({"Status": "Closed"}), sort=["-Age"])
    assert first is not None and first["fields"]["Age"] == 29


def test_view_applies_its_filter_and_sort_but_hides_no_field(api_server: Any, seeded: Any, api: Api) -> None:
    """Airtable's list records: a view's hidden fields are still returned; `fields` asks for fewer."""
    seeded(api_server.ws, 9)
    records = api.table("crm", "Contacts").all(view="Active only")
    assert [r["fields"]["Age"] for r in records] == [7, 4, 1]
    assert all({"Name", "Status", "Age", "Number", "Created"} <= set(r["fields"]) for r in records)
    fewer = api.table("crm", "Contacts").all(view="Active only", fields=["Name"])
    assert all(set(r["fields"]) == {"Name"} for r in fewer)


def test_a_trailing_slash_after_the_table_works_as_airtable_js_sends_it(api_server: Any) -> None:
    with api_server.client("admin") as c:
        made = c.post("/v0/crm/contacts/", json={"records": [{"fields": {"Name": "Slash"}}]})
        assert made.status_code == 200, made.text
        rid = made.json()["records"][0]["id"]
        changed = c.patch("/v0/crm/contacts/", json={"records": [{"id": rid, "fields": {"Age": 3}}]})
        assert changed.status_code == 200 and changed.json()["records"][0]["fields"]["Age"] == 3
        assert [r["fields"]["Name"] for r in c.get("/v0/crm/contacts/").json()["records"]] == ["Slash"]


def test_create_get_update_replace_delete(api_server: Any, api: Api) -> None:
    table = api.table("crm", "Contacts")
    company = api.table("crm", "Companies").create({"Title": "Acme", "City": "Dalian"})
    rec = table.create({"Name": "Ann", "Age": 41, "Fee": 12.5, "Share": 0.25, "VIP": True, "Status": "New",
                        "Tags": ["red", "blue"], "Born": "1985-04-02", "Met At": "2026-01-05T08:30:00.000Z",
                        "Call Length": 5400, "Stars": 4, "Email": "ann@example.org", "Phone": "13800001234",
                        "Website": "https://example.org", "Owner": {"id": "li"},
                        "Helpers": [{"id": "boss"}, {"email": "admin@example.org"}], "Company": [company["id"]]})
    f = rec["fields"]
    assert f["Age"] == 41 and f["Fee"] == 12.5 and f["Share"] == 0.25 and f["VIP"] is True
    assert f["Tags"] == ["red", "blue"] and f["Born"] == "1985-04-02" and f["Met At"] == "2026-01-05T08:30:00.000Z"
    assert f["Owner"] == {"id": "li", "name": "李四", "email": "li@example.org"}
    assert [h["id"] for h in f["Helpers"]] == ["boss", "admin"]
    assert f["Company"] == [company["id"]] and f["Company City"] == ["Dalian"]
    assert f["Creator"]["id"] == "admin" and isinstance(f["Number"], int)
    assert table.get(rec["id"])["fields"]["Name"] == "Ann"
    assert api.table("crm", "Companies").get(company["id"])["fields"]["Contacts"] == [rec["id"]]

    updated = table.update(rec["id"], {"Age": 42, "VIP": False})
    assert updated["fields"]["Age"] == 42 and "VIP" not in updated["fields"] and updated["fields"]["Stars"] == 4
    replaced = table.update(rec["id"], {"Name": "Ann B"}, replace=True)
    assert set(replaced["fields"]) - {"Number", "Created", "Modified", "Creator", "Editor"} == {"Name"}

    assert table.delete(rec["id"]) == {"id": rec["id"], "deleted": True}
    with pytest.raises(Exception) as info:
        table.get(rec["id"])
    assert "404" in str(info.value)


def test_batch_create_update_delete(api_server: Any, api: Api) -> None:
    table = api.table("crm", "Contacts")
    created = table.batch_create([{"Name": f"b{i}", "Age": i} for i in range(25)])
    assert len(created) == 25
    updated = table.batch_update([{"id": r["id"], "fields": {"Age": 100 + r["fields"]["Age"]}} for r in created])
    assert sorted(r["fields"]["Age"] for r in updated) == list(range(100, 125))
    deleted = table.batch_delete([r["id"] for r in created])
    assert len(deleted) == 25 and all(d["deleted"] for d in deleted)
    assert table.all() == []


def test_typecast(api_server: Any, api: Api) -> None:
    table = api.table("crm", "Contacts")
    rec = table.create({"Name": "T", "Age": "1,234", "Status": "active", "Tags": "red, green", "VIP": "yes",
                        "Born": "2026年1月5日", "Call Length": "1:30", "Owner": "李四"}, typecast=True)
    f = rec["fields"]
    assert f["Age"] == 1234 and f["Status"] == "Active" and f["Tags"] == ["red", "green"] and f["VIP"] is True
    assert f["Born"] == "2026-01-05" and f["Call Length"] == 5400 and f["Owner"]["id"] == "li"
    with pytest.raises(Exception) as info:
        table.create({"Name": "T", "Status": "active"})
    assert "422" in str(info.value) and "INVALID_VALUE_FOR_COLUMN" in str(info.value)


def test_batch_upsert(api_server: Any, seeded: Any, api: Api) -> None:
    seeded(api_server.ws, 3)
    table = api.table("crm", "Contacts")
    result = table.batch_upsert([{"fields": {"Name": "c0001", "Age": 50}}, {"fields": {"Name": "new", "Age": 7}}],
                                key_fields=["Name"])
    assert len(result["updatedRecords"]) == 1 and len(result["createdRecords"]) == 1
    ages = {r["fields"]["Name"]: r["fields"].get("Age") for r in table.all()}
    assert ages == {"c0000": 0, "c0001": 50, "c0002": 2, "new": 7}
    api_server.ws.base("crm").table("contacts").create({"name": "new"}, actor="admin")
    with pytest.raises(Exception) as info:
        table.batch_upsert([{"fields": {"Name": "new", "Age": 8}}], key_fields=["Name"])
    assert "422" in str(info.value)


def test_field_ids_and_schema(api_server: Any, seeded: Any, api: Api) -> None:
    seeded(api_server.ws, 2)
    base = api.base("crm")
    schema = base.schema()
    contacts = schema.table("Contacts")
    assert contacts.id.startswith("tbl") and len(contacts.id) == 17
    types = {f.name: f.type for f in contacts.fields}
    assert types["Name"] == "singleLineText" and types["Notes"] == "multilineText"
    assert types["Owner"] == "singleCollaborator" and types["Helpers"] == "multipleCollaborators"
    assert types["Company"] == "multipleRecordLinks" and types["Company City"] == "multipleLookupValues"
    assert types["Files"] == "multipleAttachments" and types["Number"] == "autoNumber"
    assert types["Modified"] == "lastModifiedTime" and types["Editor"] == "lastModifiedBy"
    status = contacts.field("Status")
    assert [c.name for c in status.options.choices] == ["New", "Active", "Closed"]  # type: ignore[union-attr]
    assert contacts.primary_field_id == contacts.field("Name").id
    assert {v.name for v in contacts.views} == {"Active only", "Board"}
    # The table by id, fields by id.
    by_id = api.table("crm", contacts.id)
    rec = by_id.all(use_field_ids=True, max_records=1)[0]
    assert contacts.field("Name").id in rec["fields"]
    assert api.table("crm", "Contacts").schema().id == contacts.id
    assert [b.id for b in api.bases()] == ["crm", "vault"]
    assert api.whoami()["id"] == "admin"


def test_cell_format_string(api_server: Any, api: Api) -> None:
    table = api.table("crm", "Contacts")
    table.create({"Name": "S", "Met At": "2026-01-05T08:30:00.000Z", "Owner": {"id": "li"}, "Fee": 3})
    rec = table.all(cell_format="string", time_zone="Asia/Shanghai", user_locale="zh-cn")[0]
    assert rec["fields"]["Met At"] == "2026-01-05 16:30"
    assert rec["fields"]["Owner"] == "李四" and rec["fields"]["Fee"] == "$3.00"


def test_cell_format_string_names_linked_records_by_their_primary_text(api_server: Any, api: Api) -> None:
    acme = api.table("crm", "Companies").create({"Title": "Acme"})
    table = api.table("crm", "Contacts")
    table.create({"Name": "L", "Company": [acme["id"]], "VIP": True})
    [rec] = table.all(cell_format="string", time_zone="Asia/Shanghai", user_locale="en")
    assert rec["fields"]["Company"] == "Acme"
    assert rec["fields"]["VIP"] == "checked"  # as Airtable writes a checked box
    [raw] = table.all()
    assert raw["fields"]["Company"] == [acme["id"]]
