"""Record comments through the API, as pyairtable uses them: add with an @mention, list,
edit, delete; `count_comments`; who may read, post, edit and delete them."""

from __future__ import annotations

from typing import Any

import pytest
from pyairtable import Api
from pyairtable.api.types import RecordDict

from engine import comments as engine_comments
from engine import inbox, tokens

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)


def _api(server: Any, person: str) -> Api:
    return Api(server.token(person), endpoint_url=server.url, timeout=(5, 60), retry_strategy=None)


@pytest.fixture
def contact(api_server: Any) -> RecordDict:
    return _api(api_server, "admin").table("crm", "Contacts").create({"Name": "Ann", "Status": "Active"})


def test_add_mention_list_edit_and_delete_with_pyairtable(api_server: Any, contact: RecordDict) -> None:
    table = _api(api_server, "admin").table("crm", "Contacts")
    made = table.add_comment(contact["id"], "Please call back, @[li]!")
    assert made.text == "Please call back, @[li]!"
    assert made.author.id == "admin" and made.author.email == "admin@example.org"
    assert made.mentioned["li"].display_name == "李四" and made.mentioned["li"].email == "li@example.org"
    assert made.last_updated_time is None and made.id.startswith("com")
    # The web app shows it as the @mention it knows, and li is told in the inbox.
    [stored] = engine_comments.for_record(api_server.ws.base("crm").table("contacts"), contact["id"], actor="admin")
    assert stored.body == "Please call back, @li!"
    [note] = inbox.latest(api_server.ws.storage, "li", 5)
    assert note["record"] == contact["id"] and "Please call back" in note["body"]

    [listed] = table.comments(contact["id"])
    assert (listed.id, listed.text, listed.author.name) == (made.id, made.text, "管理员")
    listed.text = "Never mind, done"
    listed.save()
    [edited] = table.comments(contact["id"])
    assert edited.text == "Never mind, done" and edited.last_updated_time is not None
    assert edited.mentioned == {}
    edited.delete()
    assert table.comments(contact["id"]) == []
    actions = [h["action"] for h in api_server.ws.base("crm").table("contacts").history(contact["id"], actor="admin")]
    assert {"comment", "comment_edit", "comment_delete"} <= set(actions)


def test_comment_count_on_list_and_get(api_server: Any, contact: RecordDict) -> None:
    table = _api(api_server, "admin").table("crm", "Contacts")
    other = table.create({"Name": "Bob"})
    table.add_comment(contact["id"], "one")
    table.add_comment(contact["id"], "two")
    counts = {r["id"]: r["commentCount"] for r in table.all(count_comments=True)}
    assert counts == {contact["id"]: 2, other["id"]: 0}
    assert table.get(contact["id"], count_comments=True)["commentCount"] == 2
    assert "commentCount" not in table.get(contact["id"])
    with api_server.client("admin") as c:
        posted = c.post("/v0/crm/contacts/listRecords", json={"recordMetadata": ["commentCount"]})
        assert {r["id"]: r["commentCount"] for r in posted.json()["records"]} == counts
        bad = c.get("/v0/crm/contacts", params={"recordMetadata[]": "likes"})
        assert bad.status_code == 422 and "commentCount" in bad.json()["error"]["message"]


def test_pages_newest_first(api_server: Any, contact: RecordDict) -> None:
    table = _api(api_server, "admin").table("crm", "Contacts")
    for i in range(5):
        table.add_comment(contact["id"], f"note {i}")
    texts: list[str] = []
    offset = None
    pages = 0
    with api_server.client("admin") as c:
        while True:
            params = {"pageSize": "2", **({"offset": offset} if offset else {})}
            page = c.get(f"/v0/crm/contacts/{contact['id']}/comments", params=params).json()
            texts += [cm["text"] for cm in page["comments"]]
            pages += 1
            offset = page.get("offset")
            if not offset:
                break
        assert c.get(f"/v0/crm/contacts/{contact['id']}/comments", params={"pageSize": "0"}).status_code == 422
    assert pages == 3 and texts == [f"note {i}" for i in range(4, -1, -1)]
    assert [cm.text for cm in table.comments(contact["id"])] == texts
    contacts = api_server.ws.base("crm").table("contacts")
    for i in range(100):
        engine_comments.add(contacts, contact["id"], f"bulk {i}", actor="li")
    every = table.comments(contact["id"])  # pyairtable follows `offset` past the first 100
    assert len(every) == 105 and every[0].text == "bulk 99" and every[-1].text == "note 0"


def test_only_readers_see_and_post_only_the_author_edits_or_deletes(api_server: Any, contact: RecordDict) -> None:
    admin = _api(api_server, "admin").table("crm", "Contacts")
    hidden = admin.create({"Name": "Hidden", "Status": "New"})  # zhao reads only Active contacts
    comment = admin.add_comment(contact["id"], "admin's note")
    zhao = _api(api_server, "zhao").table("crm", "Contacts")
    assert [c.text for c in zhao.comments(contact["id"])] == ["admin's note"]
    assert zhao.add_comment(contact["id"], "seen").author.id == "zhao"
    with api_server.client("zhao") as c:
        for method, path in (("GET", ""), ("POST", "")):
            answer = c.request(method, f"/v0/crm/contacts/{hidden['id']}/comments{path}",
                               json={"text": "x"} if method == "POST" else None)
            assert answer.status_code == 404 and answer.json()["error"]["type"] == "NOT_FOUND"
        url = f"/v0/crm/contacts/{contact['id']}/comments/{comment.id}"
        edit = c.patch(url, json={"text": "changed by zhao"})
        assert edit.status_code == 403 and "author" in edit.json()["error"]["message"]
        assert c.delete(url).status_code == 403
        assert c.delete(f"/v0/crm/contacts/{contact['id']}/comments/com99999999999999").status_code == 404
        assert c.patch(f"/v0/crm/contacts/{contact['id']}/comments/nonsense", json={"text": "x"}).status_code == 404
    with api_server.client("admin") as c:
        base = f"/v0/crm/contacts/{contact['id']}/comments"
        empty = c.post(base, json={"text": "   "})
        assert empty.status_code == 422 and "text" in empty.json()["error"]["message"]
        reply = c.post(base, json={"text": "reply", "parentCommentId": comment.id})
        assert reply.status_code == 422 and "threaded" in reply.json()["error"]["message"]
        assert c.post(base, json={"text": "x", "extra": 1}).status_code == 422
        assert c.post("/v0/vault/secrets/recXXXXXXXXXXXXXX/comments", json={"text": "x"}).status_code == 404
    assert [c.text for c in admin.comments(contact["id"])] == ["seen", "admin's note"]


def test_a_mention_of_someone_who_cannot_read_the_record_tells_no_one(api_server: Any) -> None:
    table = _api(api_server, "admin").table("crm", "Contacts")
    rec = table.create({"Name": "New one", "Status": "New"})
    made = table.add_comment(rec["id"], "@[zhao] and @[nobody] look")
    assert list(made.mentioned) == ["zhao"] and made.text == "@[zhao] and @[nobody] look"
    assert inbox.latest(api_server.ws.storage, "zhao", 5) == []


def test_comment_scopes(api_server: Any, contact: RecordDict) -> None:
    secret, _ = tokens.create(api_server.ws, "admin", name="records only", scopes=["data.records:read"])
    with api_server.client(None, Authorization=f"Bearer {secret}") as c:
        answer = c.get(f"/v0/crm/contacts/{contact['id']}/comments")
        assert answer.status_code == 403 and "data.recordComments:read" in answer.json()["error"]["message"]


def test_the_openapi_document_describes_the_comment_endpoints(api_server: Any) -> None:
    with api_server.client("admin") as c:
        paths = c.get("/v0/openapi.json").json()["paths"]
    assert set(paths["/v0/crm/contacts/{recordId}/comments"]) >= {"get", "post"}
    assert set(paths["/v0/crm/contacts/{recordId}/comments/{rowCommentId}"]) >= {"patch", "delete"}


def test_bad_comment_requests_get_clear_errors_never_a_500(api_server: Any, contact: RecordDict) -> None:
    base = f"/v0/crm/contacts/{contact['id']}/comments"
    with api_server.client("admin") as c:
        cases = [
            c.post(base, content=b"{not json", headers={"Content-Type": "application/json"}),
            c.post(base, json={"text": 5}),
            c.post(base, json=["text"]),
            c.post(base, json={"text": "x" * 5001}),
            c.patch(f"{base}/com00000000000001"),
            c.get(base, params={"pageSize": "abc"}),
            c.get(base, params={"pageSize": "101"}),
            c.get(base, params={"offset": "garbage!"}),
            c.get(base, params={"sort": "x"}),
        ]
        assert [r.status_code for r in cases] == [422] * len(cases), [r.text for r in cases]
        assert all("error" in r.json() and r.json()["error"]["message"] for r in cases)
        odd = c.get("/v0/crm/contacts/rec%0Aodd/comments")
        assert odd.status_code == 404
        assert c.put(base, json={"text": "x"}).status_code == 405
        assert c.get(f"{base}/com00000000000001").status_code == 405
