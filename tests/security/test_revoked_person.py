"""A person switched off (disabled) keeps nothing: not their session, their API token, their
submissions' edit form, nor what their webhook collected.

李四 (staff) submits a case through a form that may be edited for a day and watches the base
with a webhook; then an administrator disables 李四.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest

from automations import process_pending
from engine import Workspace, people
from gridbase.app import create_app
from tests.security.conftest import add_token
from tests.views.conftest import BASE, PASSWORD, WORKSPACE
from tests_support import csrf_of, sign_in

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

EDITABLE = BASE.replace("        submitter: reporter\n        thanks: Thanks, we got it.\n",
                        "        submitter: reporter\n        editable_for: 24h\n        thanks: Thanks, we got it.\n", 1)


def test_a_disabled_person_keeps_no_way_in(make_workspace: Callable[..., Workspace]) -> None:
    assert EDITABLE != BASE
    ws = make_workspace({"cases": EDITABLE}, WORKSPACE)
    app = create_app(ws, automations=False)
    token = add_token(ws, "li")
    cases = ws.base("cases").table("cases")
    with TestClient(app, base_url="http://testserver") as web, \
            TestClient(app, base_url="http://testserver", headers={"Authorization": f"Bearer {token}"}) as api:
        assert sign_in(web, "li", PASSWORD).status_code == 303
        page = web.get("/f/cases/report")
        sent = web.post("/f/cases/report", data={"title": "MKRREVOKED1", "score": "3", "csrf_token": csrf_of(page.text)})
        assert sent.status_code == 200, sent.text[:300]
        rid = cases.query(actor="admin", filter={"title": "MKRREVOKED1"}).records[0]["id"]
        made = api.post("/v0/bases/cases/webhooks",
                        json={"specification": {"options": {"filters": {"dataTypes": ["tableData"]}}}})
        assert made.status_code == 200, made.text
        hook = made.json()["id"]
        cases.update(rid, {"title": "MKRREVOKED2"}, actor="admin")
        process_pending(ws)
        assert "MKRREVOKED2" in api.get(f"/v0/bases/cases/webhooks/{hook}/payloads").text
        assert web.get(f"/f/cases/report/edit/{rid}", follow_redirects=False).status_code == 200

        assert people.set_disabled(ws.storage, "li", True)
        cases.update(rid, {"title": "MKRREVOKED3"}, actor="admin")
        process_pending(ws)

        edit = web.get(f"/f/cases/report/edit/{rid}", follow_redirects=False)
        assert edit.status_code in (303, 401, 403, 404) and "MKRREVOKED" not in edit.text, edit.status_code
        posted = web.post(f"/f/cases/report/edit/{rid}", follow_redirects=False,
                          data={"title": "changed after disabling", "csrf_token": csrf_of(page.text)})
        assert posted.status_code in (303, 401, 403, 404), posted.status_code
        for url in ("/f/mine", f"/b/cases/t/cases/r/{rid}", "/b/cases/t/cases"):
            got = web.get(url, follow_redirects=False)
            assert got.status_code in (303, 401, 403, 404) and "MKRREVOKED" not in got.text, (url, got.status_code)
        for url in (f"/v0/bases/cases/webhooks/{hook}/payloads", f"/v0/cases/cases/{rid}", "/v0/bases/cases/webhooks"):
            got = api.get(url)
            assert got.status_code in (401, 403, 404) and "MKRREVOKED" not in got.text, (url, got.status_code)
        # signing in again is refused as well
        again = TestClient(app, base_url="http://testserver")
        assert sign_in(again, "li", PASSWORD).status_code != 303
    assert cases.get(rid, actor="admin")["fields"]["title"] == "MKRREVOKED3"
