"""Imports keep to the record service's rules: a row may only name files its importer uploaded,
so an import cannot be used to reach (and then download) another person's attachment."""

from __future__ import annotations

import html
import json
import re
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from engine import ValidationError, Workspace
from gridbase.app import create_app
from tests_support import csrf_of, sign_in

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient prefers httpx2; httpx works
    from starlette.testclient import TestClient

PASSWORD = "correct horse battery"
WORKSPACE = f"""\
workspace: imp
name: Imports
locale: en
roles:
  admin: {{name: Admin, admin: true}}
  staff: {{name: Staff, import: {{max_rows: 5}}}}
people:
  admin: {{name: Admin, roles: [admin], password: "{PASSWORD}"}}
  wang: {{name: 王芳, roles: [staff], password: "{PASSWORD}"}}
  li: {{name: 李四, roles: [staff], password: "{PASSWORD}"}}
"""
BASE = """\
base: docs
name: Docs
tables:
  reports:
    name: Reports
    primary: title
    fields:
      title: {type: text, name: Title, required: true}
      owner: {type: person, name: Owner, default: $me}
      files: {type: attachment, name: Files}
roles:
  staff:
    reports: {access: edit, create: true, rows: {owner: $me}}
"""


@pytest.fixture
def site(make_workspace: Any) -> Iterator[tuple[Workspace, Any]]:
    ws = make_workspace({"docs": BASE}, WORKSPACE)
    opened: list[TestClient] = []

    def client(person: str) -> TestClient:
        c = TestClient(create_app(ws, automations=False), base_url="http://testserver")
        c.__enter__()
        opened.append(c)
        assert sign_in(c, person, PASSWORD).status_code == 303
        return c

    yield ws, client
    for c in opened:
        c.__exit__(None, None, None)


def _wang_uploads(ws: Workspace, wang: TestClient) -> str:
    reports = ws.base("docs").table("reports")
    rid = reports.create({"title": "病历扫描"}, actor="wang")["id"]
    up = wang.post(f"/b/docs/t/reports/r/{rid}/attach/files", data={"csrf_token": csrf_of(wang.get("/").text)},
                   files={"file": ("scan.pdf", b"%PDF-1.4 WANGSECRET", "application/pdf")}, follow_redirects=False)
    assert up.status_code == 303
    return str(reports.get(rid, actor="wang")["fields"]["files"][0]["id"])


def test_an_import_cannot_name_a_file_someone_else_uploaded(site: tuple[Workspace, Any]) -> None:
    ws, client = site
    wang, li = client("wang"), client("li")
    att = _wang_uploads(ws, wang)
    assert li.get(f"/att/{att}").status_code == 404
    cell = json.dumps([{"id": att, "name": "scan.pdf"}]).replace('"', '""')
    csv = f'Title,Files\n借来的,"{cell}"\n'.encode()
    response = li.post("/b/docs/t/reports/import", data={"csrf_token": csrf_of(li.get("/").text)},
                       files={"file": ("rows.csv", csv, "text/csv")})
    assert response.status_code == 422 and "row 2" in response.text and "upload it first" in response.text
    assert ws.base("docs").table("reports").count(actor="li") == 0
    download = li.get(f"/att/{att}")
    assert download.status_code == 404 and b"WANGSECRET" not in download.content


def test_import_rows_rejects_such_rows_by_number(site: tuple[Workspace, Any]) -> None:
    ws, client = site
    att = _wang_uploads(ws, client("wang"))
    reports = ws.base("docs").table("reports")
    rows = [{"title": "a"}, {"title": "b", "files": [{"id": att, "name": "x.pdf"}]}, {"title": "c"}]
    result = reports.import_rows(rows, actor="li", skip_invalid=True)
    assert len(result.ids) == 2 and [n for n, _ in result.rejected] == [2]
    assert "unknown file" in result.rejected[0][1]["files"]
    with pytest.raises(ValidationError) as refused:
        reports.import_rows(rows, actor="li")
    assert list(refused.value.errors) == ["row 2"]
    assert reports.count(actor="li") == 2
    # The uploader may import her own file.
    assert len(reports.import_rows(rows[1:2], actor="wang").ids) == 1


def test_an_import_over_the_role_limit_is_refused_with_a_clear_message(site: tuple[Workspace, Any]) -> None:
    ws, client = site
    wang = client("wang")
    rows = "Title\n" + "".join(f"报告{i}\n" for i in range(6))
    response = wang.post("/b/docs/t/reports/import", data={"csrf_token": csrf_of(wang.get("/").text)},
                         files={"file": ("rows.csv", rows.encode(), "text/csv")})
    assert response.status_code == 403
    assert "more than 5 rows" in response.text and "split the file" in response.text
    assert ws.base("docs").table("reports").count(actor="admin") == 0
    assert re.search(r"this file has more than 5 rows[^<]*", html.unescape(response.text))
    wang.cookies.set("lang", "zh-CN")  # the same refusal, on a Chinese page
    response = wang.post("/b/docs/t/reports/import", data={"csrf_token": csrf_of(wang.get("/").text)},
                         files={"file": ("rows.csv", rows.encode(), "text/csv")})
    assert response.status_code == 403 and "文件超过 5 行，您每次最多可导入 5 行" in html.unescape(response.text)
    wang.cookies.set("lang", "en")
    # Within the limit it imports.
    ok = wang.post("/b/docs/t/reports/import", data={"csrf_token": csrf_of(wang.get("/").text)},
                   files={"file": ("rows.csv", "Title\n报告\n".encode(), "text/csv")})
    assert ok.status_code == 200 and ws.base("docs").table("reports").count(actor="admin") == 1
