"""The grid's JSON writes over HTTP: many cells at once (all or nothing), undo and redo."""

from __future__ import annotations

from typing import Any

import pytest

from tests.views.conftest import token

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

URL = "/b/cases/t/cases"


def post(client: Any, path: str, body: Any = None, *, csrf: str | None = None) -> Any:
    headers = {"X-CSRF-Token": csrf if csrf is not None else token(client)}
    return client.post(URL + path, json=body, headers=headers)


def test_a_paste_is_written_as_a_whole_and_undone_and_redone_as_one(ws: Any, client_for: Any) -> None:
    cases = ws.base("cases").table("cases")
    a = cases.create({"title": "A", "score": 1}, actor="admin")["id"]
    b = cases.create({"title": "B", "score": 2}, actor="admin")["id"]
    client = client_for("wang")
    done = post(client, "/cells", {"changes": [{"record": a, "field": "score", "value": "5"},
                                                {"record": b, "field": "score", "value": "6"},
                                                {"record": b, "field": "status", "value": "Doing"}]})
    assert done.status_code == 200 and done.json() == {"ok": True, "records": [a, b]}
    assert cases.get(b, actor="admin")["fields"]["status"] == "Doing"
    undone = post(client, "/undo")
    assert undone.status_code == 200, undone.text
    assert undone.json()["ok"] is True and sorted(undone.json()["records"]) == sorted([a, b])
    assert undone.json()["message"] == "Undone: 2 record(s)"
    assert [cases.get(r, actor="admin")["fields"]["score"] for r in (a, b)] == [1, 2]
    redone = post(client, "/redo")
    assert redone.status_code == 200 and redone.json()["message"] == "Redone: 2 record(s)"
    assert [cases.get(r, actor="admin")["fields"]["score"] for r in (a, b)] == [5, 6]
    # The undo is in the record's history as the person's own write.
    history = cases.history(a, actor="admin")
    assert [(h["actor"], h["field"]) for h in history[-2:]] == [("wang", "score"), ("wang", "score")]


def test_a_paste_with_bad_cells_names_each_and_writes_nothing(ws: Any, client_for: Any) -> None:
    cases = ws.base("cases").table("cases")
    a = cases.create({"title": "A", "score": 1}, actor="admin")["id"]
    client = client_for("wang")
    refused = post(client, "/cells", {"changes": [{"record": a, "field": "score", "value": "11"},
                                                   {"record": a, "field": "title", "value": "new"},
                                                   {"record": a, "field": "secret", "value": "x"}]})
    assert refused.status_code == 422
    body = refused.json()
    assert body["ok"] is False
    named = {(e["record"], e["field"]) for e in body["errors"]}
    assert named == {(a, "score"), (a, "secret")}
    assert all(e["message"] for e in body["errors"])
    assert cases.get(a, actor="admin")["fields"]["title"] == "A"  # the good cell was not written either
    # In Chinese when the page is.
    zh = client_for("wang")
    zh.cookies.set("lang", "zh-CN")
    again = post(zh, "/cells", {"changes": [{"record": a, "field": "score", "value": "abc"}]})
    assert again.status_code == 422 and "数字" in again.json()["errors"][0]["message"]


def test_bad_bodies_and_missing_csrf_are_refused_clearly(ws: Any, client_for: Any) -> None:
    client = client_for("wang")
    assert post(client, "/cells", {"changes": "nope"}).status_code == 400
    assert post(client, "/cells", [1, 2]).status_code == 400
    assert post(client, "/undo", csrf="wrong").status_code == 403
    assert client_for(None).post(URL + "/undo", follow_redirects=False).status_code in (303, 401, 403)


def test_undo_over_someone_elses_change_is_refused_naming_them(ws: Any, client_for: Any) -> None:
    cases = ws.base("cases").table("cases")
    a = cases.create({"title": "A", "score": 1}, actor="admin")["id"]
    client = client_for("wang")
    assert post(client, "/cells", {"changes": [{"record": a, "field": "score", "value": "3"}]}).status_code == 200
    cases.update(a, {"score": 4}, actor="admin")
    refused = post(client, "/undo")
    assert refused.status_code == 409
    assert refused.json() == {"ok": False, "message": "Admin has changed “Score” since, so it was left as it is"}
    assert cases.get(a, actor="admin")["fields"]["score"] == 4
    nothing = post(client_for("li"), "/undo")
    assert nothing.status_code == 409 and nothing.json()["message"] == "Nothing to undo"


def test_deleting_selected_rows_is_one_write_and_one_undo(ws: Any, client_for: Any) -> None:
    cases = ws.base("cases").table("cases")
    ids = [cases.create({"title": t}, actor="admin")["id"] for t in ("A", "B")]
    client = client_for("wang")
    done = post(client, "/delete", {"records": ids})
    assert done.status_code == 200 and done.json() == {"ok": True, "records": ids}
    assert cases.count(actor="admin") == 0
    assert post(client, "/undo").json()["message"] == "Undone: 2 record(s)"
    assert cases.count(actor="admin") == 2
    refused = post(client_for("li"), "/delete", {"records": ids})  # staff may not delete
    assert refused.status_code == 422 and {e["record"] for e in refused.json()["errors"]} == set(ids)
    assert cases.count(actor="admin") == 2
    assert post(client, "/delete", {"records": "x"}).status_code == 400
