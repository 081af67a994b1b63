"""The dashboard page's filter bar, pivot table and previous-period change, per viewer."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from engine import Workspace
from tests.engine.test_dashfilters import BASE, LAST, ROWS, THIS
from tests.views.test_boards import PASSWORD, build_app, csrf_of

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

WORKSPACE = f"""\
workspace: desk
name: Desk
timezone: Asia/Shanghai
locale: en
departments:
  qc: {{name: 质控部}}
  ortho: {{name: 口腔正畸中心}}
roles:
  admin: {{name: Admin, admin: true}}
  handler: {{name: Handler}}
  viewer: {{name: Viewer}}
people:
  admin: {{name: Admin, roles: [admin], department: qc, password: "{PASSWORD}"}}
  boss: {{name: Boss Wang, roles: [handler], department: qc, password: "{PASSWORD}"}}
  li: {{name: Li Si, roles: [handler], department: ortho, password: "{PASSWORD}"}}
  zhao: {{name: Zhao Liu, roles: [viewer], password: "{PASSWORD}"}}
"""


@pytest.fixture
def client(make_workspace: Callable[..., Workspace]) -> Iterator[Callable[[str], Any]]:
    ws = make_workspace({"desk": BASE}, WORKSPACE)
    table = ws.base("desk").table("cases")
    for title, cat, dept, tags, owner, amount, at in ROWS:
        table.create({"title": title, "category": cat, "dept": dept, "tags": tags, "owner": owner,
                      "amount": amount, "at": at.isoformat()}, actor="admin")
    app = build_app(ws)
    clients: list[TestClient] = []

    def make(person: str) -> Any:
        c = TestClient(app, base_url="http://testserver")
        c.__enter__()
        clients.append(c)
        page = c.get("/login")
        done = c.post("/login", data={"username": person, "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                      "next": "/inbox"}, follow_redirects=False)
        assert done.status_code == 303, done.text
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def figure(html: str, title: str) -> str:
    match = re.search(rf'<h2>{re.escape(title)}</h2>\s*<a class="value"[^>]*>([^<]+)</a>', html)
    assert match, html
    return match.group(1)


def pivot_rows(html: str) -> dict[str, list[str]]:
    """Row header -> its cells (the total last), footer included as "Total"."""
    table = re.search(r'<table class="pivot-table">(.*?)</table>', html, re.S)
    assert table, html
    found = re.findall(r"<tr><th scope=\"row\">([^<]+)</th>(.*?)</tr>", table.group(1), re.S)
    out = {label: re.findall(r"<td[^>]*>([^<]*)</td>", cells) for label, cells in found}
    assert len(out) == len(found), "a row value shown twice"
    return out


def test_the_period_filter_defaults_to_this_month_and_a_link_keeps_another(client: Any) -> None:
    admin = client("admin")
    page = admin.get("/b/desk/d/main")
    assert page.status_code == 200
    assert figure(page.text, "Cases") == "3"
    assert '<label for="df-period">Period</label>' in page.text
    assert re.search(r'<option value="this_month" selected>This month</option>', page.text)
    assert figure(admin.get("/b/desk/d/main?period=all").text, "Cases") == "6"
    assert figure(admin.get("/b/desk/d/main?period=last_month").text, "Cases") == "2"
    custom = admin.get(f"/b/desk/d/main?period=custom&period_from={LAST.isoformat()}&period_to={THIS.isoformat()}")
    assert figure(custom.text, "Cases") == "5"
    assert f'value="{LAST.isoformat()}"' in custom.text  # the chosen days stay in the form
    narrowed = admin.get("/b/desk/d/main?period=all&cat=Service&who=li")
    assert figure(narrowed.text, "Cases") == "2"
    assert re.search(r'<option value="Service" selected>Service</option>', narrowed.text)
    assert re.search(r'<option value="li" selected>Li Si</option>', narrowed.text)


def test_a_number_shows_its_change_from_the_previous_period(client: Any) -> None:
    page = client("admin").get("/b/desk/d/main").text
    compare = re.search(r'<p class="dash-compare (\w+)">(.*?)</p>', page, re.S)
    assert compare and compare.group(1) == "up"
    assert "+1" in compare.group(2) and "(50.0%)" in compare.group(2) and "vs 2" in compare.group(2)
    assert re.search(r'<span class="sr-only">Up 1 \(50.0%\) from the previous period \(\d{4}-\d\d-01 – [\d-]+: 2\)</span>', page)
    assert 'class="dash-compare' not in client("admin").get("/b/desk/d/main?period=all").text  # no period, nothing to compare
    # A share (2 of 3 this month, 1 of 2 last month) changes by percentage points.
    assert figure(page, "Service share") == "66.7%"
    assert "Up 16.7 pp from the previous period" in page


def test_the_pivot_is_a_table_with_totals_and_follows_the_filters(client: Any) -> None:
    admin = client("admin")
    page = admin.get("/b/desk/d/main?period=all").text
    assert '<th scope="col">Category \\ Dept</th><th scope="col">质控部</th><th scope="col">口腔正畸中心</th>' \
           '<th scope="col">Empty</th><th scope="col">Total</th>' in page
    rows = pivot_rows(page)
    assert rows["Service"] == ["2", "1", "0", "3"]
    assert rows["Empty"] == ["0", "1", "0", "1"]
    assert rows["Total"] == ["3", "2", "1", "6"]
    assert list(rows) == ["Service", "Quality", "Fees", "Empty", "Total"]  # options in order, empty last
    this_month = pivot_rows(admin.get("/b/desk/d/main").text)
    assert this_month["Total"][-1] == "3"
    assert pivot_rows(admin.get("/b/desk/d/main?period=all&unit=ortho").text)["Total"] == ["2", "2"]


def test_a_viewer_gets_figures_without_what_they_may_not_see(client: Any) -> None:
    li = client("li").get("/b/desk/d/main?period=all").text
    assert figure(li, "Cases") == "3"  # only their own rows
    assert "pivot-table" not in li  # the pivot's column field is masked for them
    zhao = client("zhao").get("/b/desk/d/main?period=all").text
    assert pivot_rows(zhao)["Total"][-1] == "6"


def test_a_bad_choice_is_said_not_a_failure(client: Any) -> None:
    page = client("admin").get("/b/desk/d/main?period=custom&period_from=2026-13-01&cat=<b>x</b>")
    assert page.status_code == 200
    assert "Period: give a from and a to day" in page.text
    assert "Category: &#39;&lt;b&gt;x&lt;/b&gt;&#39; is not one of the choices" in page.text
    assert figure(page.text, "Cases") == "6"


def test_a_chart_follows_the_filters_on_the_page_and_in_its_spec(client: Any) -> None:
    admin = client("admin")
    page = admin.get("/b/desk/d/main?period=last_month&team=ortho").text
    url = re.search(r'data-spec-url="([^"]+)"', page)
    assert url and "period=last_month" in url.group(1) and "team=ortho" in url.group(1)
    spec = admin.get(url.group(1).replace("&amp;", "&")).json()
    assert {v["label"]: v["value"] for v in spec["data"]["values"]} == {"Service": 1}  # e: li, last month
    assert figure(page, "Cases") == "1"
