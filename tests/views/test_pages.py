"""The table page and the record page, driven through the real app as different people."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.views.conftest import token

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

XSS = "<script>alert(1)</script>"


def cases(ws):
    return ws.base("cases").table("cases")


def add(ws, **values):
    values.setdefault("title", "case")
    return cases(ws).create(values, actor="admin")


def test_grid_shows_only_readable_fields_and_masks(client_for, ws):
    add(ws, title="Broken chair", phone="13800001111", secret="top secret", score=3)
    page = client_for("wang").get("/b/cases/t/cases")
    assert page.status_code == 200
    assert "Broken chair" in page.text
    assert "*******1111" in page.text and "13800001111" not in page.text
    assert "top secret" not in page.text and "Secret note" not in page.text
    admin = client_for("admin").get("/b/cases/t/cases").text
    assert "13800001111" in admin and "top secret" in admin


def test_masked_field_cannot_be_filtered(client_for, ws):
    add(ws, title="A", phone="13800001111")
    client = client_for("wang")
    client.post("/b/cases/t/cases/prefs", data={"f_field": "phone", "f_op": "contains", "f_value": "0000",
                                                "csrf_token": token(client)})
    prefs = ws.storage.conn.execute("SELECT prefs FROM _gb_view_prefs").fetchone()[0]
    assert "phone" not in prefs


def test_row_rules_hide_records(client_for, ws):
    mine = cases(ws).create({"title": "Mine"}, actor="admin", system_values={"reporter": "li"})
    other = add(ws, title="Not mine")
    client = client_for("li")
    grid = client.get("/b/cases/t/cases").text
    assert "Mine" in grid and "Not mine" not in grid and "1 records" in grid
    assert client.get(f"/b/cases/t/cases/r/{mine['id']}").status_code == 200
    hidden = client.get(f"/b/cases/t/cases/r/{other['id']}")
    assert hidden.status_code == 404 and "Not mine" not in hidden.text
    assert client_for("zhao").get("/b/cases/t/cases").status_code == 404


def test_view_filter_sort_and_prefs(client_for, ws):
    for title, status, score in (("b", "Open", 5), ("a", "Doing", 1), ("c", "Done", 9), ("d", "Open", 7)):
        add(ws, title=f"item-{title}", status=status, score=score)
    client = client_for("wang")
    page = client.get("/b/cases/t/cases/v/open").text
    assert re.findall(r">(item-\w)<", page) == ["item-a", "item-b", "item-d"]
    csrf = token(client)
    client.post("/b/cases/t/cases/v/open/prefs", data={
        "f_field": ["score", ""], "f_op": ["gte", "eq"], "f_value": ["2", ""],
        "sort_field": "score", "sort_dir": "desc", "csrf_token": csrf})
    page = client.get("/b/cases/t/cases/v/open").text
    assert re.findall(r">(item-\w)<", page) == ["item-d", "item-b"]
    assert "2 records" in page
    # other people are unaffected
    assert re.findall(r">(item-\w)<", client_for("admin").get("/b/cases/t/cases/v/open").text) == ["item-a", "item-b", "item-d"]
    client.post("/b/cases/t/cases/v/open/prefs", data={"action": "reset", "csrf_token": csrf})
    assert re.findall(r">(item-\w)<", client.get("/b/cases/t/cases/v/open").text) == ["item-a", "item-b", "item-d"]


def test_group_by_and_bad_filter(client_for, ws):
    add(ws, title="one", status="Open")
    add(ws, title="two", status="Done")
    client = client_for("admin")
    client.post("/b/cases/t/cases/prefs", data={"group_by": "status", "f_field": "due", "f_op": "gt",
                                                "f_value": "not a date", "csrf_token": token(client)})
    page = client.get("/b/cases/t/cases")
    assert page.status_code == 200
    assert 'class="group-row"' in page.text
    assert 'alert-error' in page.text and 'one' in page.text


def test_view_roles(client_for):
    assert client_for("wang").get("/b/cases/t/cases/v/admins").status_code == 404
    assert client_for("admin").get("/b/cases/t/cases/v/admins").status_code == 200


def test_search_and_paging(client_for, ws):
    cases(ws).insert_many([{"title": f"row {i:03d}"} for i in range(120)], actor="admin")
    client = client_for("admin")
    first = client.get("/b/cases/t/cases").text
    assert "120 records" in first and "row 049" in first and "row 050" not in first
    assert "offset=50" in first
    second = client.get("/b/cases/t/cases?offset=100").text
    assert "row 119" in second and "row 099" not in second
    found = client.get("/b/cases/t/cases?q=row+07").text
    assert "10 records" in found
    assert client.get("/b/cases/t/cases?offset=abc").status_code == 200


def test_inline_edit(client_for, ws):
    rec = add(ws, title="Edit me", score=1)
    client = client_for("wang")
    csrf = token(client)
    url = f"/b/cases/t/cases/r/{rec['id']}/cell/score"
    ok = client.post(url, data={"value": "4"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.text.startswith("<td") and ">4<" in ok.text
    assert cases(ws).get(rec["id"], actor="admin")["fields"]["score"] == 4
    bad = client.post(url, data={"value": "99"}, headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 422 and 'class="cell-error"' in bad.text and "at most 10" in bad.text
    assert cases(ws).get(rec["id"], actor="admin")["fields"]["score"] == 4
    # a field the handler may only read
    denied = client.post(f"/b/cases/t/cases/r/{rec['id']}/cell/owner", data={"value": "wang"},
                         headers={"X-CSRF-Token": csrf})
    assert denied.status_code == 422 and "may not change" in denied.text
    # a person without edit rights on the table
    mine = cases(ws).create({"title": "li's"}, actor="admin", system_values={"reporter": "li"})
    li = client_for("li")
    res = li.post(f"/b/cases/t/cases/r/{mine['id']}/cell/title", data={"value": "x"}, headers={"X-CSRF-Token": token(li)})
    assert res.status_code == 403 and "cell-error" in res.text
    assert li.post(f"/b/cases/t/cases/r/{rec['id']}/cell/title", data={"value": "x"},
                   headers={"X-CSRF-Token": token(li)}).status_code == 404
    # no CSRF, nothing changes
    assert client.post(url, data={"value": "5"}).status_code == 403


def test_grid_cells_carry_edit_contract(client_for, ws):
    add(ws, title="Cells", status="Open")
    page = client_for("wang").get("/b/cases/t/cases").text
    assert 'data-kind="select"' in page and "data-options='[\"Open\", \"Doing\", \"Done\"]'" in page
    assert 'data-kind="number"' in page
    readonly = re.search(r'<td class="cell"[^>]*data-label="Owner"[^>]*>', page).group(0)
    assert "data-edit-url" not in readonly
    assert 'aria-readonly="true"' in readonly  # and looks it (editors.css)


def test_new_record(client_for, ws):
    client = client_for("wang")
    csrf = token(client)
    form = client.post("/b/cases/t/cases/new", data={"csrf_token": csrf})
    assert form.status_code == 200 and 'name="title"' in form.text  # required field: ask for it
    bad = client.post("/b/cases/t/cases/new", data={"csrf_token": csrf, "submitted": "1"})
    assert bad.status_code == 422 and "Title is required" in bad.text
    made = client.post("/b/cases/t/cases/new", data={"csrf_token": csrf, "title": "Fresh"}, follow_redirects=False)
    assert made.status_code == 303 and "/r/rec" in made.headers["location"]
    assert "Fresh" in client.get(made.headers["location"]).text


def test_record_page_history_delete_restore(client_for, ws):
    rec = add(ws, title="Lifecycle", score=2)
    cases(ws).update(rec["id"], {"score": 3}, actor="admin")
    client = client_for("wang")
    page = client.get(f"/b/cases/t/cases/r/{rec['id']}").text
    assert "Lifecycle" in page and "<del>2</del>" in page and "<ins>3</ins>" in page
    assert "top secret" not in page
    csrf = token(client)
    assert client.post(f"/b/cases/t/cases/r/{rec['id']}/delete", data={"csrf_token": csrf},
                       follow_redirects=False).status_code == 303
    assert client.get(f"/b/cases/t/cases/r/{rec['id']}").status_code == 404
    trash = client.get("/b/cases/t/cases?deleted=1").text
    assert "Lifecycle" in trash and "/restore" in trash
    assert client.post(f"/b/cases/t/cases/r/{rec['id']}/restore", data={"csrf_token": csrf},
                       follow_redirects=False).status_code == 303
    assert client.get(f"/b/cases/t/cases/r/{rec['id']}").status_code == 200
    li = client_for("li")
    assert li.post(f"/b/cases/t/cases/r/{rec['id']}/delete", data={"csrf_token": token(li)}).status_code == 404


def test_comments_and_mentions(client_for, ws):
    rec = add(ws, title="Discuss")
    client = client_for("wang")
    res = client.post(f"/b/cases/t/cases/r/{rec['id']}/comments",
                      data={"body": "@admin please look, @李四 too " + XSS, "csrf_token": token(client)}, follow_redirects=False)
    assert res.status_code == 303
    notes = ws.storage.conn.execute("SELECT person, link FROM _gb_notifications").fetchall()
    # li may not read this record (not the reporter): no notification for li
    assert notes == [("admin", f"/b/cases/t/cases/r/{rec['id']}")]
    page = client.get(f"/b/cases/t/cases/r/{rec['id']}").text
    assert "please look" in page and XSS not in page and "&lt;script&gt;" in page
    assert client_for("admin").get("/").text.count('class="badge opt-red">1<') == 1


def test_export_csv_and_xlsx(client_for, ws):
    add(ws, title="=HYPERLINK(1)", phone="13800001111", secret="hidden")
    client = client_for("wang")
    res = client.get("/b/cases/t/cases/export.csv")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    assert "filename*=UTF-8''Case%20records.csv" in res.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert "Secret note" not in rows[0] and "*******1111" in rows[1] and rows[1][0] == "'=HYPERLINK(1)"
    xlsx = client.get("/b/cases/t/cases/export.xlsx?view=open")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client.get("/b/cases/t/cases/export.exe").status_code == 404


def test_import_csv(client_for, ws):
    client = client_for("wang")
    csrf = token(client)
    good = b"Title,Score\nfrom csv,3\nsecond,4\n"
    res = client.post("/b/cases/t/cases/import", data={"csrf_token": csrf},
                      files={"file": ("in.csv", good, "text/csv")})
    assert res.status_code == 200 and "2 records added" in res.text
    bad = b"Title,Score\nok,1\nbad,99\n"
    res = client.post("/b/cases/t/cases/import", data={"csrf_token": csrf}, files={"file": ("in.csv", bad, "text/csv")})
    assert res.status_code == 422 and "row 3" in res.text
    # Nothing of that file was kept, and the page says so (not "0 records added", no command-line flags).
    assert "Nothing was imported" in res.text and "records added" not in res.text and "--skip-invalid" not in res.text
    client.cookies.set("lang", "zh-CN")
    res = client.post("/b/cases/t/cases/import", data={"csrf_token": csrf}, files={"file": ("in.csv", bad, "text/csv")})
    assert "没有导入任何记录" in res.text and "第 3 行" in res.text
    assert cases(ws).count(actor="admin") == 2
    res = client.post("/b/cases/t/cases/import", data={"csrf_token": csrf}, files={"file": ("x.exe", b"MZ", "x/y")})
    assert res.status_code == 400


def test_html_is_escaped_everywhere(client_for, ws):
    rec = add(ws, title=XSS, phone="13800001111")
    client = client_for("admin")
    csrf = token(client)
    client.post(f"/b/cases/t/cases/r/{rec['id']}/comments", data={"body": XSS, "csrf_token": csrf})
    for path in ("/", "/b/cases/t/cases", "/b/cases/t/cases/v/open", f"/b/cases/t/cases/r/{rec['id']}",
                 "/b/cases/t/cases?q=" + XSS, "/f/cases/report"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text, path
    cell = client.post(f"/b/cases/t/cases/r/{rec['id']}/cell/title", data={"value": XSS + "!"}, headers={"X-CSRF-Token": csrf})
    assert cell.status_code == 200 and "<script>alert" not in cell.text
    err = client.post(f"/b/cases/t/cases/r/{rec['id']}/cell/score", data={"value": XSS}, headers={"X-CSRF-Token": csrf})
    assert err.status_code == 422 and "<script>alert" not in err.text


def test_errors_are_pages_not_tracebacks(client_for):
    client = client_for("admin")
    for path in ("/b/nope/t/cases", "/b/cases/t/nope", "/b/cases/t/cases/r/recXXXXXXXXXXXXXX", "/b/cases/t/cases/v/nope"):
        res = client.get(path)
        assert res.status_code == 404 and "Traceback" not in res.text, path
    res = client.post("/b/cases/t/cases/r/recXXXXXXXXXXXXXX/cell/title", data={"value": "x"},
                      headers={"X-CSRF-Token": token(client)})
    assert res.status_code == 404
