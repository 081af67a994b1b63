"""Uploads are checked before they are kept (issue 17 item 3) and pages are not cached (item 11).

A refused form post, an /attach by someone who may not change the record and an upload past
a quota leave no file on disk and no row in the index; orphaned uploads are swept; record
pages, record cells, exports, files and the API carry `Cache-Control: no-store`; signing out
answers `Clear-Site-Data`.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient prefers httpx2; httpx works
    from starlette.testclient import TestClient

from engine import Workspace, attachments
from engine.auth import digest, new_secret
from gridbase.app import create_app
from tests_support import csrf_of, sign_in

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

PASSWORD = "correct horse battery"
MB = 1024 * 1024

WORKSPACE = f"""\
workspace: uploads
name: Uploads
timezone: Asia/Shanghai
locale: en
attachments: {{person_quota_mb: 3, public_quota_mb: 3}}
roles:
  admin: {{name: Admin, admin: true}}
  handler: {{name: Handler}}
people:
  admin: {{name: Admin, roles: [admin], password: "{PASSWORD}"}}
  wang: {{name: 王芳, roles: [handler], password: "{PASSWORD}"}}
  li: {{name: 李四, roles: [handler], password: "{PASSWORD}"}}
"""

BASE = """\
base: cases
name: Cases
tables:
  cases:
    name: Cases
    primary: title
    fields:
      title: {type: text, name: Title, required: true, max_length: 20}
      owner: {type: person, name: Owner}
      files: {type: attachment, name: Files, max_size_mb: 5}
    forms:
      report: {name: Report, fields: [title, files]}
      public: {name: Public report, public: true, fields: [title, files]}
roles:
  handler:
    cases:
      access: edit
      create: true
      edit_rows: {owner: $me}
"""


@pytest.fixture
def ws(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace({"cases": BASE}, WORKSPACE)


@pytest.fixture
def client_for(ws: Workspace) -> Iterator[Callable[[str | None], TestClient]]:
    app = create_app(ws, automations=False)
    app.state.form_rate = None
    clients: list[TestClient] = []

    def make(person: str | None) -> TestClient:
        client = TestClient(app, base_url="http://testserver")
        client.__enter__()
        clients.append(client)
        if person:
            assert sign_in(client, person, PASSWORD).status_code == 303
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def stored(ws: Workspace) -> tuple[list[str], int]:
    """Every file under the workspace's attachments folder, and the rows of the index."""
    top = ws.data_dir / "attachments"
    files = sorted(str(p.relative_to(top)) for p in top.rglob("*") if p.is_file()) if top.exists() else []
    rows = ws.storage.conn.execute("SELECT COUNT(*) FROM _gb_attachments").fetchone()[0]
    return files, rows


def blob(n: int, size: int = MB) -> bytes:
    return bytes([n]) * size


def post_form(client: TestClient, form: str, title: str, files: list[tuple[str, bytes]]) -> Any:
    page = client.get(f"/f/cases/{form}")
    return client.post(f"/f/cases/{form}", data={"csrf_token": csrf_of(page.text), "title": title},
                       files=[("files", (name, data, "application/pdf")) for name, data in files])


def attach(client: TestClient, rid: str, files: list[tuple[str, bytes]]) -> Any:
    page = client.get(f"/b/cases/t/cases/r/{rid}")
    return client.post(f"/b/cases/t/cases/r/{rid}/attach/files", data={"csrf_token": csrf_of(page.text)},
                       files=[("file", (name, data, "application/pdf")) for name, data in files],
                       follow_redirects=False)


@pytest.mark.parametrize(("person", "form"), [("wang", "report"), (None, "public")])
def test_a_refused_form_post_keeps_no_file(client_for, ws, person, form):
    client = client_for(person)
    four = [(f"scan{n}.pdf", blob(n, MB // 2)) for n in range(4)]
    missing = post_form(client, form, "", four)  # the title is required
    assert missing.status_code == 422 and "Title is required" in missing.text
    too_long = post_form(client, form, "x" * 50, four)  # refused by the engine, inside the write
    assert too_long.status_code == 422 and "20 characters" in too_long.text
    assert stored(ws) == ([], 0)
    ok = post_form(client, form, "fine", four[:1])
    assert ok.status_code == 200
    (rec,) = ws.base("cases").table("cases").query(actor="admin").records
    (item,) = rec["fields"]["files"]
    assert client_for("admin").get(f"/att/{item['id']}").content == four[0][1]
    files, rows = stored(ws)
    assert rows == 1 and len(files) == 1 and not files[0].startswith("incoming")


def test_attach_by_someone_who_may_not_edit_the_record_stores_nothing(client_for, ws):
    table = ws.base("cases").table("cases")
    theirs = table.create({"title": "li's", "owner": "li"}, actor="admin")
    mine = table.create({"title": "wang's", "owner": "wang"}, actor="admin")
    wang = client_for("wang")
    assert wang.get(f"/b/cases/t/cases/r/{theirs['id']}").status_code == 200  # wang reads it
    refused = attach(wang, theirs["id"], [("a.pdf", blob(1))])
    assert refused.status_code == 403 and "may not change this record" in refused.text
    assert stored(ws) == ([], 0)
    assert attach(wang, mine["id"], [("a.pdf", blob(1))]).status_code == 303
    assert stored(ws)[1] == 1


def test_an_upload_past_the_quota_is_refused_with_a_clear_message_and_stores_nothing(client_for, ws):
    table = ws.base("cases").table("cases")
    rec = table.create({"title": "wang's", "owner": "wang"}, actor="admin")
    wang = client_for("wang")
    assert attach(wang, rec["id"], [("a.pdf", blob(1, 2 * MB))]).status_code == 303
    before = stored(ws)
    over = attach(wang, rec["id"], [("b.pdf", blob(2, 2 * MB))])  # 4 MB in all; the quota is 3
    assert over.status_code == 422
    assert "upload quota for your files (3 MB) is used up" in over.text
    assert stored(ws) == before
    # the quota is per person: li still may upload
    other = table.create({"title": "li's", "owner": "li"}, actor="admin")
    assert attach(client_for("li"), other["id"], [("b.pdf", blob(2, 2 * MB))]).status_code == 303
    # public forms share one quota
    anon = client_for(None)
    assert post_form(anon, "public", "one", [("a.pdf", blob(3, 2 * MB))]).status_code == 200
    refused = post_form(anon, "public", "two", [("b.pdf", blob(4, 2 * MB))])
    assert refused.status_code == 422 and "upload quota for public forms (3 MB) is used up" in refused.text
    assert len(table.query(actor="admin").records) == 3


def test_the_workspace_quota_counts_everyone(client_for, ws):
    table = ws.base("cases").table("cases")
    ws.config.attachments.update(person_quota_mb=None, workspace_quota_mb=3)
    for n, person in enumerate(("wang", "li")):
        rec = table.create({"title": person, "owner": person}, actor="admin")
        res = attach(client_for(person), rec["id"], [("a.pdf", blob(n, 2 * MB))])
        assert res.status_code == (303 if n == 0 else 422)
    assert "upload quota (3 MB) is used up; ask the administrator to free space" in res.text
    assert stored(ws)[1] == 1


def test_uploads_are_refused_when_the_disk_is_short(client_for, ws):
    rec = ws.base("cases").table("cases").create({"title": "wang's", "owner": "wang"}, actor="admin")
    free = attachments.free_disk_mb(ws)
    ws.config.attachments["min_free_disk_mb"] = free + 10_000  # as if the disk were nearly full
    wang = client_for("wang")
    refused = attach(wang, rec["id"], [("a.pdf", blob(1, 1000))])
    assert refused.status_code == 422 and "short of disk space" in refused.text
    large = attach(wang, rec["id"], [("a.pdf", blob(1, 2 * MB))])  # refused before it is received
    assert large.status_code == 507 and "short of disk space" in large.text
    assert stored(ws) == ([], 0)


def test_orphaned_uploads_are_removed(client_for, ws):
    table = ws.base("cases").table("cases")
    kept = table.create({"title": "wang's", "owner": "wang"}, actor="admin")
    assert attach(client_for("wang"), kept["id"], [("kept.pdf", blob(1))]).status_code == 303
    removed = table.create({"title": "gone", "owner": "wang"}, actor="admin")
    assert attach(client_for("wang"), removed["id"], [("gone.pdf", blob(2))]).status_code == 303
    trashed = table.create({"title": "trash", "owner": "wang"}, actor="admin")
    assert attach(client_for("wang"), trashed["id"], [("trash.pdf", blob(3))]).status_code == 303
    table.delete(trashed["id"], actor="admin")  # in the trash: may come back, keeps its file
    # What the old code left behind: an indexed upload no record names, and a stray blob.
    with ws.storage.transaction() as conn:
        conn.execute("INSERT INTO _gb_attachments (id, sha256, name, size, type, uploaded_by, uploaded_at) "
                     "VALUES ('att' || ?, ?, 'lost.pdf', 3, 'application/pdf', 'wang', "
                     "'2020-01-01T00:00:00Z')", (os.urandom(16).hex(), "f" * 64))
    stray = ws.data_dir / "attachments" / "ff" / ("f" * 64)
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"old")
    incoming = attachments.incoming_dir(ws) / "in-crashed"
    incoming.write_bytes(b"half")
    old = time.time() - 2 * 86400
    for path in (stray, incoming):
        os.utime(path, (old, old))
    # The file of `removed` is taken off its record: its history still names it, so it stays.
    table.update(removed["id"], {"files": []}, actor="admin")

    dry = attachments.remove_orphans(ws, grace=timedelta(0), dry_run=True)
    assert (dry.uploads, dry.files) == (1, 2) and stray.exists()
    done = attachments.remove_orphans(ws, grace=timedelta(0))
    assert (done.uploads, done.files) == (1, 2)
    assert not stray.exists() and not incoming.exists()
    names = {r[0] for r in ws.storage.conn.execute("SELECT name FROM _gb_attachments")}
    assert names == {"kept.pdf", "gone.pdf", "trash.pdf"}
    (item,) = table.get(kept["id"], actor="admin")["fields"]["files"]
    assert client_for("wang").get(f"/att/{item['id']}").content == blob(1)
    # A fresh upload no record names yet is left alone during the grace period.
    with ws.storage.transaction():
        attachments.keep(ws, [attachments.receive(ws, _Bytes(b"new"), name="n.pdf", mime="application/pdf",
                                                  key="files", label="Files", max_bytes=MB)],
                         actor=ws.actor("li"), base="cases", table="cases", field="files", label="Files",
                         now=ws.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert attachments.remove_orphans(ws).uploads == 0
    assert attachments.remove_orphans(ws, grace=timedelta(0)).uploads == 1


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, n: int) -> bytes:
        out, self.data = self.data[:n], self.data[n:]
        return out


def test_pages_exports_files_and_the_api_are_not_cached(client_for, ws, tmp_path: Path):
    table = ws.base("cases").table("cases")
    rec = table.create({"title": "secret", "owner": "wang"}, actor="admin")
    wang = client_for("wang")
    assert attach(wang, rec["id"], [("a.pdf", b"%PDF-1.4 x")]).status_code == 303
    (item,) = table.get(rec["id"], actor="admin")["fields"]["files"]
    for path in ("/", "/b/cases/t/cases", f"/b/cases/t/cases/r/{rec['id']}", f"/b/cases/t/cases/r/{rec['id']}/cells",
                 "/b/cases/t/cases/export.csv", "/b/cases/t/cases/export.xlsx",
                 f"/att/{item['id']}"):
        res = wang.get(path)
        assert res.status_code == 200, path
        assert "no-store" in res.headers["cache-control"], path
    secret = new_secret("gbt_")
    with ws.storage.transaction() as conn:
        conn.execute("INSERT INTO _gb_tokens (person, name, token_hash, created_at) VALUES ('wang', 't', ?, ?)",
                     (digest(secret), datetime.now(UTC).isoformat()))
    api = client_for(None)
    for path in ("/v0/cases/cases", f"/v0/cases/cases/{rec['id']}"):
        res = api.get(path, headers={"Authorization": f"Bearer {secret}"})
        assert res.status_code == 200 and "secret" in res.text, path
        assert res.headers["cache-control"] == "no-store", path
    assert "cache-control" not in {k.lower() for k in wang.get("/static/app.css").headers} or \
        "no-store" not in wang.get("/static/app.css").headers["cache-control"]


def test_logout_clears_site_data(client_for):
    wang = client_for("wang")
    res = wang.post("/logout", data={"csrf_token": csrf_of(wang.get("/").text)}, follow_redirects=False)
    assert res.status_code == 303
    assert res.headers["clear-site-data"] == '"cache", "storage"'
    assert "clear-site-data" not in wang.get("/login").headers


def test_the_server_sweeps_orphans_when_it_starts(ws):
    stray = ws.data_dir / "attachments" / "ab" / ("ab" * 32)
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"left by a failed post")
    old = time.time() - 2 * 86400
    os.utime(stray, (old, old))
    with TestClient(create_app(ws, automations=False, sweep=True)):
        deadline = time.monotonic() + 10
        while stray.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert not stray.exists()
