"""Entering records in the web app: the new-record page (an input per field type, link
pickers, defaults, errors kept next to their fields), link cells on the record page, a cell
save that refreshes the fields computed from it, form defaults, links to a table's forms, and
option colours."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from engine import Workspace
from gridbase.app import create_app
from tests.views.entry_support import BASE, PASSWORD, WORKSPACE, seed
from tests_support import csrf_of, sign_in
from views.pages.cells import contrast, options_css

NEW = "/b/clinic/t/visits/new"


@pytest.fixture
def ws(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace({"clinic": BASE}, WORKSPACE)


@pytest.fixture
def ids(ws: Workspace) -> dict[str, Any]:
    return seed(ws)


@pytest.fixture
def as_person(ws: Workspace) -> Iterator[Callable[[str], TestClient]]:
    app = create_app(ws, automations=False)
    clients: list[TestClient] = []

    def make(person: str) -> TestClient:
        client = TestClient(app, base_url="http://testserver")
        client.__enter__()
        clients.append(client)
        assert sign_in(client, person, PASSWORD).status_code == 303
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def visits(ws: Workspace) -> Any:
    return ws.base("clinic").table("visits")


def today(ws: Workspace) -> str:
    return ws.now().astimezone(ws.tz).date().isoformat()


def field_block(html: str, key: str) -> str:
    """The <div class="field" data-field=KEY> of a page, up to the next field."""
    match = re.search(rf'<div class="field[^"]*"[^>]*data-field="{key}">.*?(?=<div class="field |<div class="form-actions)',
                      html, re.S)
    assert match, f"no input for {key}"
    return match.group(0)


def post_new(client: TestClient, data: dict[str, Any], **kw: Any) -> Any:
    token = csrf_of(client.get("/").text)
    return client.post(NEW, data={"csrf_token": token, "submitted": "1", **data}, follow_redirects=False, **kw)


# -- the new-record page -----------------------------------------------------------------------
def test_new_record_page_has_an_input_per_field_type(as_person, ws, ids):
    page = as_person("wang").get(NEW)
    assert page.status_code == 200
    html = page.text
    assert re.search(r'<select id="f-kind" name="kind"[^>]*>', html)
    kind = field_block(html, "kind")
    assert '<option value="First" class="opt-teal" selected>' in kind  # the default, with its colour
    assert 'class="opt-x22aa66"' in kind and 'class="opt-blue"' in kind
    tags = field_block(html, "tags")
    assert tags.count('type="checkbox" name="tags"') == 3
    assert 'type="checkbox" id="f-paid" name="paid"' in field_block(html, "paid")
    assert f'type="date" value="{today(ws)}"' in field_block(html, "day")  # $today
    assert re.search(r'type="datetime-local" value="\d{4}-\d\d-\d\dT\d\d:\d\d"', field_block(html, "at"))  # $now
    for key in ("fee", "share", "stars", "count"):
        assert 'type="number"' in field_block(html, key), key
    assert 'min="1" max="5"' in field_block(html, "stars") and 'min="0"' in field_block(html, "count")
    doctor = field_block(html, "doctor")
    assert '<option value="wang" selected>王芳 · 前台</option>' in doctor  # $me, with the department
    assert '<option value="chen">陈医生 · 正畸中心</option>' in doctor
    assert 'name="team" value="chen"' in field_block(html, "team")
    assert "<textarea" in field_block(html, "notes")
    patient = field_block(html, "patient")
    assert 'data-search-url="/b/clinic/t/visits/link/patient"' in patient and 'data-multiple="false"' in patient
    assert 'class="required"' in patient and 'class="required"' in field_block(html, "day")
    assert 'data-multiple="true"' in field_block(html, "helpers")
    # hidden, read-only and computed fields have no input
    for key in ("secret", "locked", "due"):
        assert f'name="{key}"' not in html, key
    assert "Secret note" not in html


def test_the_add_record_button_opens_the_page_and_cancel_goes_back(as_person, ids):
    client = as_person("wang")
    grid = client.get("/b/clinic/t/visits/v/all").text
    assert 'href="/b/clinic/t/visits/new?view=all"' in grid
    page = client.get(NEW + "?view=all").text
    assert 'name="view" value="all"' in page and 'href="/b/clinic/t/visits/v/all">Cancel' in page
    assert "Add record" not in as_person("zhao").get("/b/clinic/t/visits").text
    assert as_person("zhao").get(NEW).status_code == 403


def test_a_required_link_is_saved(as_person, ws, ids):
    client = as_person("wang")
    made = post_new(client, {"title": "First visit", "patient": ids["李四"], "helpers": [ids["张三"], ids["张三丰"]],
                             "day": "2026-06-02", "at": "2026-06-02T10:15", "kind": "Repeat", "tags": ["x", "z"],
                             "paid": "1", "fee": "120.5", "share": "25", "stars": "4", "count": "2",
                             "doctor": "chen", "team": ["wang", "chen"], "notes": "line 1\nline 2"})
    assert made.status_code == 303, made.text
    rid = made.headers["location"].rsplit("/", 1)[-1]
    rec = visits(ws).get(rid, actor="admin")["fields"]
    assert rec["patient"] == [ids["李四"]] and rec["helpers"] == [ids["张三"], ids["张三丰"]]
    assert rec["day"] == "2026-06-02" and rec["at"] == "2026-06-02T02:15:00.000Z"
    assert rec["kind"] == "Repeat" and rec["tags"] == ["x", "z"] and rec["paid"] is True
    assert rec["fee"] == 120.5 and rec["share"] == 0.25 and rec["stars"] == 4 and rec["count"] == 2
    assert rec["doctor"] == "chen" and rec["team"] == ["wang", "chen"] and rec["notes"] == "line 1\nline 2"
    patient = ws.base("clinic").table("patients").get(ids["李四"], actor="admin")["fields"]
    assert patient["visits"] == [rid]
    page = client.get(made.headers["location"]).text
    assert "李四" in page and f'href="/b/clinic/t/patients/r/{ids["李四"]}"' in page


def test_defaults_apply_to_fields_left_as_they_came(as_person, ws, ids):
    made = post_new(as_person("wang"), {"patient": ids["张三"]})  # day left empty: $today
    assert made.status_code == 303, made.text
    rec = visits(ws).get(made.headers["location"].rsplit("/", 1)[-1], actor="admin")["fields"]
    assert rec["day"] == today(ws) and rec["doctor"] == "wang" and rec["kind"] == "First"


def test_errors_are_shown_next_to_their_fields_and_what_was_typed_is_kept(as_person, ws, ids):
    client = as_person("wang")
    before = visits(ws).count(actor="admin")
    bad = post_new(client, {"title": "Typed <b>title</b>", "count": "-1", "kind": "Repeat", "tags": ["y"],
                            "team": ["chen"], "helpers": [ids["张三丰"]], "notes": "kept\nnotes", "day": "2026-07-01"})
    assert bad.status_code == 422
    html = bad.text
    assert "Patient is required" in field_block(html, "patient")
    assert "at least 0" in field_block(html, "count") and 'value="-1"' in field_block(html, "count")
    assert 'value="Typed &lt;b&gt;title&lt;/b&gt;"' in field_block(html, "title")
    assert '<option value="Repeat" class="opt-x22aa66" selected>' in field_block(html, "kind")
    assert 'value="y" checked' in field_block(html, "tags")
    assert 'value="chen" checked' in field_block(html, "team")
    assert 'value="2026-07-01"' in field_block(html, "day")
    assert ">kept\nnotes</textarea>" in html
    helpers = field_block(html, "helpers")
    assert f'name="helpers" value="{ids["张三丰"]}"' in helpers and "张三丰" in helpers  # the chosen record, named
    assert visits(ws).count(actor="admin") == before
    # Reloading the page after the error shows the form (GET), not "405 Method Not Allowed".
    again = client.get(NEW)
    assert again.status_code == 200 and 'data-field="patient"' in again.text and "field-error" not in again.text


def test_a_field_the_person_may_not_set_is_refused(as_person, ws, ids):
    client = as_person("wang")
    before = visits(ws).count(actor="admin")
    for key in ("secret", "locked", "due"):
        refused = post_new(client, {"patient": ids["张三"], key: "sneaked in"})
        assert refused.status_code == 422, key
        assert "sneaked in" not in refused.text
    assert visits(ws).count(actor="admin") == before
    assert "Secret note" not in post_new(client, {"patient": ids["张三"], "secret": "x"}).text


def test_a_link_to_a_record_the_person_may_not_read_is_refused(as_person, ws, ids):
    client = as_person("wang")  # reads ward A only
    refused = post_new(client, {"patient": ids["王五"]})
    assert refused.status_code == 422 and "unknown record" in field_block(refused.text, "patient")
    assert "王五" not in refused.text
    two = post_new(client, {"patient": [ids["张三"], ids["李四"]]})
    assert two.status_code == 422 and "expected one linked record" in field_block(two.text, "patient")


def test_files_chosen_on_a_refused_form_are_kept(as_person, ws, ids):
    client = as_person("wang")
    page = client.get(NEW).text
    assert 'enctype="multipart/form-data"' in page and 'type="file" name="scan"' in field_block(page, "scan")
    token = csrf_of(page)
    refused = client.post(NEW, data={"csrf_token": token, "submitted": "1"},
                          files={"scan": ("note.txt", b"x-ray notes", "text/plain")})
    assert refused.status_code == 422 and "Patient is required" in refused.text
    kept = re.search(r'<input type="hidden" name="scan" value="(att\w+)">note.txt', field_block(refused.text, "scan"))
    assert kept
    made = client.post(NEW, data={"csrf_token": token, "submitted": "1", "patient": ids["张三"], "scan": kept.group(1)},
                       files={"other": ("", b"", "application/octet-stream")}, follow_redirects=False)
    assert made.status_code == 303, made.text
    rec = visits(ws).get(made.headers["location"].rsplit("/", 1)[-1], actor="admin")["fields"]
    assert [a["name"] for a in rec["scan"]] == ["note.txt"]
    # someone else's upload cannot be slipped in by its id
    other = as_person("chen")
    theirs = other.post(NEW, data={"csrf_token": csrf_of(other.get("/").text), "submitted": "1",
                                   "patient": ids["张三"], "scan": kept.group(1)}, follow_redirects=False)
    assert theirs.status_code == 303
    assert not visits(ws).get(theirs.headers["location"].rsplit("/", 1)[-1], actor="admin")["fields"].get("scan")


def test_bare_add_record_post_still_works(as_person, ids):
    client = as_person("wang")
    token = csrf_of(client.get("/").text)
    form = client.post(NEW, data={"csrf_token": token})
    assert form.status_code == 200 and 'data-field="patient"' in form.text and "field-error" not in form.text
    assert client.post(NEW, data={"title": "x"}).status_code == 403  # no CSRF token


def test_save_and_add_another(as_person, ids):
    client = as_person("wang")
    made = post_new(client, {"title": "Split 1", "patient": ids["张三"], "then": "new", "view": "all"})
    assert made.status_code == 303 and made.headers["location"].startswith(NEW + "?view=all&added=rec")
    page = client.get(made.headers["location"]).text
    assert "Record added" in page and "Split 1" in page and 'name="view" value="all"' in page


# -- the picker's search -----------------------------------------------------------------------
def test_link_search_reads_the_linked_table_as_the_person(as_person, ws, ids):
    client = as_person("wang")
    found = client.get("/b/clinic/t/visits/link/patient", params={"q": "张"}).json()
    assert {r["title"] for r in found["records"]} == {"张三", "张三丰"}  # not 张无忌 (ward B)
    assert found["more"] is False
    assert {r["title"] for r in as_person("admin").get("/b/clinic/t/visits/link/patient", params={"q": "张"}).json()[
        "records"]} == {"张三", "张三丰", "张无忌"}
    first = client.get("/b/clinic/t/visits/link/helpers").json()
    assert {r["title"] for r in first["records"]} == {"张三", "张三丰", "李四"}
    assert client.get("/b/clinic/t/visits/link/patient", params={"q": "nobody"}).json() == {"records": [], "more": False}
    # only for a link field the person may set
    assert as_person("zhao").get("/b/clinic/t/visits/link/patient").status_code == 404
    assert client.get("/b/clinic/t/visits/link/title").status_code == 404
    assert client.get("/b/clinic/t/visits/link/nope").status_code == 404


def test_link_search_is_limited(as_person, ws, ids):
    ws.base("clinic").table("patients").insert_many([{"name": f"病人{i:03d}", "ward": "A"} for i in range(60)],
                                                     actor="admin")
    found = as_person("wang").get("/b/clinic/t/visits/link/patient", params={"q": "病人"}).json()
    assert len(found["records"]) == 20 and found["more"] is True


# -- link cells on the record page, and cells refreshed after a save ---------------------------
def test_link_cells_are_edited_on_the_record_page(as_person, ws, ids):
    client = as_person("wang")
    url = f"/b/clinic/t/visits/r/{ids['visit']}"
    page = client.get(url).text
    cell = re.search(r'<td class="cell link-cell"[^>]*data-field="helpers".*?</td>', page, re.S).group(0)
    assert f'data-save-url="{url}/cell/helpers"' in cell and 'class="link-search"' in cell
    token = csrf_of(page)
    saved = client.post(f"{url}/cell/helpers", data={"value": f"{ids['张三']},{ids['李四']}"},
                        headers={"X-CSRF-Token": token})
    assert saved.status_code == 200 and saved.text.startswith("<td") and "李四" in saved.text
    assert visits(ws).get(ids["visit"], actor="admin")["fields"]["helpers"] == [ids["张三"], ids["李四"]]
    assert client.post(f"{url}/cell/helpers", data={"value": ids["张三"]},
                       headers={"X-CSRF-Token": token}).status_code == 200
    assert visits(ws).get(ids["visit"], actor="admin")["fields"]["helpers"] == [ids["张三"]]
    hidden = client.post(f"{url}/cell/helpers", data={"value": ids["王五"]}, headers={"X-CSRF-Token": token})
    assert hidden.status_code == 422 and "unknown record" in hidden.text and "王五" not in hidden.text
    assert visits(ws).get(ids["visit"], actor="admin")["fields"]["helpers"] == [ids["张三"]]
    # a person who may only read sees the links, without a picker
    readonly = as_person("zhao").get(url).text
    assert "张三" in readonly and "link-picker" not in readonly


def test_a_link_already_there_may_stay_when_another_is_added(as_person, ws, ids):
    visits(ws).update(ids["visit"], {"helpers": [ids["王五"]]}, actor="admin")  # out of wang's sight
    client = as_person("wang")
    url = f"/b/clinic/t/visits/r/{ids['visit']}"
    saved = client.post(f"{url}/cell/helpers", data={"value": f"{ids['王五']},{ids['李四']}"},
                        headers={"X-CSRF-Token": csrf_of(client.get(url).text)})
    assert saved.status_code == 200
    assert visits(ws).get(ids["visit"], actor="admin")["fields"]["helpers"] == [ids["王五"], ids["李四"]]
    assert "王五" not in saved.text


def test_a_cell_save_sends_the_cells_that_changed_with_it(as_person, ws, ids):
    client = as_person("wang")
    url = f"/b/clinic/t/visits/r/{ids['visit']}"
    saved = client.post(f"{url}/cell/at", data={"value": "2026-06-10T08:00"}, headers={"X-CSRF-Token": csrf_of(
        client.get(url).text)})
    assert saved.status_code == 200
    assert saved.headers["X-Changed-Fields"].split(",") == ["at", "due"]
    cells = re.findall(r'<td class="cell[^"]*"[^>]*data-field="(\w+)" data-record="(rec\w+)"', saved.text)
    assert cells == [("at", ids["visit"]), ("due", ids["visit"])]
    assert "2026-06-13" in saved.text.split('data-field="due"')[1]
    bad = client.post(f"{url}/cell/count", data={"value": "-5"}, headers={"X-CSRF-Token": csrf_of(client.get(url).text)})
    assert bad.status_code == 422 and bad.headers["X-Changed-Fields"] == "" and bad.text.count("<td") == 1


# -- forms ---------------------------------------------------------------------------------------
def test_form_defaults_are_shown_and_applied_before_the_required_check(as_person, ws, ids):
    client = as_person("admin")
    page = client.get("/f/clinic/register").text
    assert f'name="since" type="date" value="{today(ws)}"' in page  # the field's $today
    assert re.search(r'name="seen_at" type="datetime-local" value="\d{4}-\d\d-\d\dT\d\d:\d\d"', page)  # the form's $now
    sent = client.post("/f/clinic/register", data={"csrf_token": csrf_of(page), "name": "From the form", "since": ""})
    assert sent.status_code == 200 and "Thank you" in sent.text, sent.text
    rec = ws.base("clinic").table("patients").query(actor="admin", search="From the form").records[0]["fields"]
    assert rec["since"] == today(ws) and rec.get("seen_at")
    # a value typed over the default is kept
    client.post("/f/clinic/register", data={"csrf_token": csrf_of(page), "name": "Typed date", "since": "2026-01-05"})
    rec = ws.base("clinic").table("patients").query(actor="admin", search="Typed date").records[0]["fields"]
    assert rec["since"] == "2026-01-05"


def test_dental_followup_form_defaults_to_today(dental_ws_client):
    ws, client = dental_ws_client
    page = client.get("/f/complaints/log").text
    assert f'name="followup_date" type="date" value="{today(ws)}"' in page
    sent = client.post("/f/complaints/log", data={"csrf_token": csrf_of(page), "patient_name": "测试患者",
                                                  "followup_date": ""})
    assert sent.status_code == 200 and "请填写“回访日期”" not in sent.text and "回访日期 is required" not in sent.text
    rows = ws.base("complaints").table("followups").query(actor="admin", search="测试患者").records
    assert rows[0]["fields"]["followup_date"] == today(ws)


@pytest.fixture
def dental_ws_client(dental_copy, database) -> Iterator[tuple[Workspace, TestClient]]:
    ws = Workspace.open(dental_copy, db=database())
    ws.apply()
    client = TestClient(create_app(ws, automations=False), base_url="http://testserver")
    client.__enter__()
    assert sign_in(client, "ma_lili", "demo1234").status_code == 303
    yield ws, client
    client.__exit__(None, None, None)
    ws.close()


def test_table_and_home_pages_link_to_the_forms(as_person, ids):
    admin = as_person("admin")
    grid = admin.get("/b/clinic/t/visits").text
    assert 'href="/f/clinic/log">Log a visit</a>' in grid and 'href="/f/clinic/quick">Quick note</a>' in grid
    assert 'href="/f/clinic/log/poster"' in grid and 'href="/f/clinic/log/qr.png"' in grid
    home = admin.get("/").text
    assert 'href="/f/clinic/log">Log a visit</a>' in home and 'href="/f/clinic/log/poster"' in home
    clerk = as_person("wang").get("/b/clinic/t/visits").text  # may add records, does not manage the table
    assert 'href="/f/clinic/log">' in clerk and "/poster" not in clerk
    viewer = as_person("zhao").get("/b/clinic/t/visits").text  # may not add: only the public form
    assert 'href="/f/clinic/log"' not in viewer and 'href="/f/clinic/quick">' in viewer
    assert as_person("zhao").get("/f/clinic/log").status_code == 404


# -- option colours --------------------------------------------------------------------------------
def test_option_colours_named_airtable_hex_and_nonsense(as_person, ws, ids):
    grid = as_person("admin").get("/b/clinic/t/visits").text
    assert '<span class="badge opt-x22aa66">Repeat</span>' in grid and 'class="badge opt-xaabbcc">x<' in grid
    visits(ws).update(ids["visit"], {"kind": "Odd"}, actor="admin")
    grid = as_person("admin").get("/b/clinic/t/visits").text
    assert '<span class="badge opt-gray">Odd</span>' in grid and "onmouseover" not in grid
    css = as_person("admin").get("/options.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ".opt-x22aa66 {" in css.text and ".opt-xaabbcc {" in css.text and "onmouseover" not in css.text
    assert as_person("admin").get("/options.css", headers={"If-None-Match": css.headers["etag"]}).status_code == 304
    app_css = (__import__("pathlib").Path(__file__).resolve().parents[2] / "views/pages/static/app.css").read_text()
    for name in ("red", "orange", "yellow", "green", "teal", "cyan", "blue", "purple", "pink", "gray"):
        assert f".opt-{name} " in app_css, name


def test_colour_classes() -> None:
    from views.pages.cells import colour_class

    assert [colour_class(c) for c in ("teal", "Teal", "blueBright", "greenLight2", "redDark1", "grey", "#22AA66",
                                      "#2a6", "#22aa6", "url(x)", "", None, "red; x")] == [
        "teal", "teal", "blue", "green", "red", "gray", "x22aa66", "x22aa66", "gray", "gray", "gray", "gray", "gray"]


@pytest.mark.parametrize("colour", ["#22aa66", "#ffee00", "#ffffff", "#00ffff", "#000000", "#ff0000"])
def test_a_hex_option_colour_is_drawn_with_text_of_at_least_4_5_to_1(colour: str) -> None:
    """However light an admin's hex colour, the tag's text meets WCAG 2.1 AA on its tint."""
    token = "x" + colour[1:]
    ws = SimpleNamespace(config=SimpleNamespace(bases={"b": SimpleNamespace(tables={"t": SimpleNamespace(fields={
        "f": SimpleNamespace(options={"options": [{"name": "A", "color": colour}]})})})}))
    css = options_css(ws)  # type: ignore[arg-type]
    found = re.search(rf"\.opt-{token} {{ background: #(\w{{6}}); color: #(\w{{6}}); }}", css)
    assert found, css
    tint, text = ([int(h[i:i + 2], 16) for i in (0, 2, 4)] for h in found.groups())
    assert contrast(text, tint) >= 4.5
