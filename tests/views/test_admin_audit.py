"""The administrators' audit page: who changed what and who saw which records, filtered, paged and exported."""

from __future__ import annotations

import csv
import html
import io
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from engine import Workspace
from gridbase.app import create_app
from tests.views.conftest import PASSWORD, WORKSPACE
from tests_support import csrf_of, sign_in

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

BASE = """\
base: ward
name: 病区
tables:
  beds:
    name: 床位
    primary: title
    sensitive: true
    fields:
      title: {type: text, name: 床号, required: true}
      status: {type: single_select, name: 状态, options: [空闲, 占用]}
      nurse: {type: person, name: 责任护士}
    forms:
      admit: {name: 入院登记, fields: [title, status]}
roles:
  staff:
    beds: {access: edit, create: true}
"""


@pytest.fixture
def ws(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace({"ward": BASE}, WORKSPACE)


@pytest.fixture
def client_for(ws: Workspace) -> Iterator[Callable[..., TestClient]]:
    app = create_app(ws, automations=False)
    clients: list[TestClient] = []

    def make(person: str, *, locale: str | None = None) -> TestClient:
        client = TestClient(app, base_url="http://testserver")
        client.__enter__()
        clients.append(client)
        assert sign_in(client, person, PASSWORD).status_code == 303
        if locale:
            client.post("/lang", data={"locale": locale, "next": "/", "csrf_token": csrf_of(client.get("/").text)})
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def rows_of(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return [html.unescape(r) for r in body.split("<tr")[1:]]


def test_a_change_shows_who_which_field_and_the_values_as_people_see_them(client_for: Any, ws: Workspace) -> None:
    beds = ws.base("ward").table("beds")
    bed = beds.create({"title": "3床", "status": "空闲"}, actor="li")
    beds.update(bed["id"], {"status": "占用", "nurse": "wang"}, actor="li")
    admin = client_for("admin", locale="zh-CN")
    page = admin.get("/admin/audit")
    assert page.status_code == 200 and "审计日志" in page.text
    rows = rows_of(page.text)
    # newest first: the two changed fields, then the creation
    assert "李四" in rows[0] and "修改字段" in rows[0] and "病区 · 床位" in rows[0]
    changed = {r for r in rows[:2]}
    assert any("状态" in r and "空闲" in r and "占用" in r for r in changed)
    assert any("责任护士" in r and "王芳" in r for r in changed)  # a person by name, not by key
    assert "新建记录" in rows[2] and "床号: 3床" in rows[2]
    assert f'href="/b/ward/t/beds/r/{bed["id"]}"' in page.text


def test_filters_narrow_the_page_and_a_bad_date_is_explained(client_for: Any, ws: Workspace) -> None:
    beds = ws.base("ward").table("beds")
    one = beds.create({"title": "1床"}, actor="li")
    beds.create({"title": "2床"}, actor="admin")
    admin = client_for("admin")
    by_li = rows_of(admin.get("/admin/audit", params={"person": "li"}).text)
    assert len(by_li) == 1 and "1床" in by_li[0]
    by_record = rows_of(admin.get("/admin/audit", params={"record": one["id"]}).text)
    assert len(by_record) == 1 and "李四" in by_record[0]
    assert rows_of(admin.get("/admin/audit", params={"since": "2999-01-01"}).text) == []
    today = ws.now().astimezone(ws.tz).date().isoformat()
    assert len(rows_of(admin.get("/admin/audit", params={"since": today, "until": today}).text)) == 2
    bad = admin.get("/admin/audit", params={"since": "yesterday", "table": "nope.nothing"})
    assert bad.status_code == 200
    assert "Dates are written YYYY-MM-DD" in bad.text and "Unknown table" in bad.text


def test_the_read_log_shows_who_opened_a_sensitive_record(client_for: Any, ws: Workspace) -> None:
    bed = ws.base("ward").table("beds").create({"title": "5床"}, actor="admin")
    ws.base("ward").table("beds").get(bed["id"], actor="li")
    admin = client_for("admin")
    rows = rows_of(admin.get("/admin/audit", params={"log": "reads", "person": "li"}).text)
    assert len(rows) == 1 and "李四" in rows[0] and "Opened the record" in rows[0] and bed["id"] in rows[0]


def test_opening_a_record_page_is_one_read_however_much_of_it_the_page_reads(client_for: Any, ws: Workspace) -> None:
    # The page reads the record for its fields, its history and its comments: the auditor sees
    # one opening per visit (and the page waits for one commit of the read log, not three).
    bed = ws.base("ward").table("beds").create({"title": "6床"}, actor="admin")
    li = client_for("li")
    admin = client_for("admin")
    assert li.get(f"/b/ward/t/beds/r/{bed['id']}").status_code == 200
    rows = rows_of(admin.get("/admin/audit", params={"log": "reads", "person": "li"}).text)
    assert len(rows) == 1 and "Opened the record" in rows[0] and bed["id"] in rows[0]
    assert li.get(f"/b/ward/t/beds/r/{bed['id']}").status_code == 200  # a second visit is a second read
    assert len(rows_of(admin.get("/admin/audit", params={"log": "reads", "person": "li"}).text)) == 2


def test_a_form_submission_is_a_write_not_a_read(client_for: Any, ws: Workspace) -> None:
    # The thank-you page shows nothing of the record: the read log must not say the person
    # opened it (an auditor would see a read of a patient nobody looked at).
    li = client_for("li")
    form = li.get("/f/ward/admit")
    assert form.status_code == 200
    sent = li.post("/f/ward/admit", data={"title": "9床", "status": "占用", "csrf_token": csrf_of(form.text)})
    assert sent.status_code == 200 and "9床" not in sent.text
    admin = client_for("admin")
    assert rows_of(admin.get("/admin/audit", params={"log": "reads", "person": "li"}).text) == []
    written = rows_of(admin.get("/admin/audit", params={"person": "li"}).text)
    assert len(written) == 1 and "9床" in written[0]


def test_pages_of_a_hundred_newest_first(client_for: Any, ws: Workspace) -> None:
    beds = ws.base("ward").table("beds")
    beds.insert_many([{"title": f"{n}床"} for n in range(130)], actor="admin")
    admin = client_for("admin")
    first = admin.get("/admin/audit")
    assert len(rows_of(first.text)) == 100
    older = html.unescape(first.text.split('class="pager"', 1)[1].split('href="', 1)[1].split('"', 1)[0])
    rest = rows_of(admin.get(older).text)
    assert len(rest) == 30 and "0床" in rest[-1]


def test_csv_export_has_every_entry_the_filters_keep_and_opens_in_excel(client_for: Any, ws: Workspace) -> None:
    beds = ws.base("ward").table("beds")
    bed = beds.create({"title": "7床", "status": "空闲"}, actor="li")
    beds.update(bed["id"], {"status": "占用"}, actor="li")
    beds.get(bed["id"], actor="li")
    admin = client_for("admin")
    got = admin.get("/admin/audit.csv", params={"person": "li"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert "attachment" in got.headers["content-disposition"]
    assert got.content.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    entries = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert [e["action"] for e in entries if e["log"] == "write"] == ["create", "update"]
    assert {e["action"] for e in entries if e["log"] == "read"} == {"get"}  # li opened the sensitive record
    assert all(bed["id"] in e["record"] for e in entries)
    update = next(e for e in entries if e["action"] == "update")
    assert "占用" in update["new"] and update["field"] == "status"
    only_writes = admin.get("/admin/audit.csv", params={"person": "li", "log": "writes"}).content.decode("utf-8-sig")
    assert len(list(csv.DictReader(io.StringIO(only_writes)))) == 2


def test_only_admins_see_the_audit_log(client_for: Any) -> None:
    li = client_for("li")
    assert li.get("/admin/audit").status_code == 403
    assert li.get("/admin/audit.csv").status_code == 403
    assert '<a href="/admin/audit"' in client_for("admin").get("/admin/people").text  # linked from the admin pages
