"""Attachments: upload limits, content addressing, download permissions and safe headers."""

from __future__ import annotations

import hashlib
import re

import pytest

from tests.views.conftest import token

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


def make(ws, **values):
    values.setdefault("title", "with files")
    return ws.base("cases").table("cases").create(values, actor="admin")


def upload(client, rid, name, data, mime):
    return client.post(f"/b/cases/t/cases/r/{rid}/attach/files", data={"csrf_token": token(client)},
                       files={"file": (name, data, mime)}, follow_redirects=False)


def test_upload_and_download(client_for, ws):
    rec = make(ws)
    client = client_for("wang")
    assert upload(client, rec["id"], "photo.png", PNG, "image/png").status_code == 303
    (att,) = ws.base("cases").table("cases").get(rec["id"], actor="admin")["fields"]["files"]
    sha = hashlib.sha256(PNG).hexdigest()
    assert re.fullmatch(r"att[0-9a-f]{32}", att["id"]) and att["id"] != "att" + sha[:32]  # not derived from the bytes
    assert att["type"] == "image/png" and att["size"] == len(PNG)
    assert (ws.data_dir / "attachments" / sha[:2] / sha).read_bytes() == PNG
    page = client.get(f"/b/cases/t/cases/r/{rec['id']}").text
    assert f"/att/{att['id']}" in page
    res = client.get(f"/att/{att['id']}")
    assert res.status_code == 200 and res.content == PNG and res.headers["content-type"] == "image/png"
    assert res.headers["content-disposition"].startswith("attachment;")


def test_hostile_filename_is_never_html(client_for, ws):
    rec = make(ws)
    client = client_for("wang")
    body = b"<script>alert(1)</script>"
    assert upload(client, rec["id"], "<script>.html", body, "text/plain").status_code == 303
    (att,) = ws.base("cases").table("cases").get(rec["id"], actor="admin")["fields"]["files"]
    res = client.get(f"/att/{att['id']}")
    assert res.status_code == 200
    assert res.headers["content-type"] == "application/octet-stream"
    disposition = res.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''%3Cscript%3E.html" in disposition
    assert "<" not in disposition
    assert "sandbox" in res.headers["content-security-policy"]
    page = client.get(f"/b/cases/t/cases/r/{rec['id']}").text
    assert "<script>.html" not in page and "&lt;script&gt;.html" in page


def test_upload_limits(client_for, ws):
    rec = make(ws)
    client = client_for("wang")
    big = upload(client, rec["id"], "big.png", b"0" * (1024 * 1024 + 1), "image/png")
    assert big.status_code == 422 and "larger than 1 MB" in big.text
    exe = upload(client, rec["id"], "x.exe", b"MZ", "application/x-msdownload")
    assert exe.status_code == 422 and "not accepted" in exe.text
    assert "files" not in ws.base("cases").table("cases").get(rec["id"], actor="admin")["fields"]


def test_download_needs_permission(client_for, ws):
    rec = make(ws)
    assert upload(client_for("admin"), rec["id"], "a.pdf", b"%PDF-1.4 x", "application/pdf").status_code == 303
    (att,) = ws.base("cases").table("cases").get(rec["id"], actor="admin")["fields"]["files"]
    assert client_for("wang").get(f"/att/{att['id']}").status_code == 200
    assert client_for("li").get(f"/att/{att['id']}").status_code == 404  # li cannot read that record
    assert client_for("zhao").get(f"/att/{att['id']}").status_code == 404
    assert client_for(None).get(f"/att/{att['id']}", follow_redirects=False).status_code == 303
    assert client_for("admin").get("/att/att0000000000000000").status_code == 404


def test_upload_needs_edit_rights(client_for, ws):
    mine = ws.base("cases").table("cases").create({"title": "li's"}, actor="admin", system_values={"reporter": "li"})
    assert upload(client_for("li"), mine["id"], "p.png", PNG, "image/png").status_code == 403
    assert upload(client_for("zhao"), mine["id"], "p.png", PNG, "image/png").status_code == 404


def test_body_limit(client_for, ws):
    rec = make(ws)
    client = client_for("admin")
    res = upload(client, rec["id"], "huge.png", b"0" * (26 * 1024 * 1024), "image/png")
    assert res.status_code == 413


def test_the_same_file_uploaded_twice_is_two_uploads_stored_once(client_for, ws):
    first, second = make(ws), make(ws)
    assert upload(client_for("admin"), first["id"], "a.png", PNG, "image/png").status_code == 303
    assert upload(client_for("wang"), second["id"], "b.png", PNG, "image/png").status_code == 303
    table = ws.base("cases").table("cases")
    (one,) = table.get(first["id"], actor="admin")["fields"]["files"]
    (two,) = table.get(second["id"], actor="admin")["fields"]["files"]
    assert one["id"] != two["id"]  # each uploader owns an upload of their own
    assert client_for("wang").get(f"/att/{two['id']}").content == PNG
    sha = hashlib.sha256(PNG).hexdigest()
    assert [p.name for p in (ws.data_dir / "attachments" / sha[:2]).iterdir()] == [sha]


def test_uploads_at_the_same_time_all_end_up_on_the_record(client_for, ws):
    import threading

    rec = make(ws)
    clients = [client_for("wang"), client_for("admin")]
    statuses: list[int] = []

    def send(client, n):
        for i in range(8):
            statuses.append(upload(client, rec["id"], f"{n}-{i}.png", PNG + bytes([n, i]), "image/png").status_code)

    threads = [threading.Thread(target=send, args=(c, n)) for n, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [303] * 16
    names = sorted(a["name"] for a in ws.base("cases").table("cases").get(rec["id"], actor="admin")["fields"]["files"])
    assert names == sorted(f"{n}-{i}.png" for n in range(2) for i in range(8))


def test_a_records_cells_are_served_for_the_page_to_refresh(client_for, ws):
    rec = make(ws)
    cells = client_for("wang").get(f"/b/cases/t/cases/r/{rec['id']}/cells")
    assert cells.status_code == 200 and cells.headers["cache-control"] == "no-store"
    assert 'data-field="title"' in cells.text and 'data-record="' + rec["id"] + '"' in cells.text
    assert client_for("li").get(f"/b/cases/t/cases/r/{rec['id']}/cells").status_code == 404  # li cannot read it
