"""Dashboards: numbers and chart specs equal independent SQL over the same rows, per viewer."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import altair
import jsonschema

from tests.views.test_boards import add, board_client, bws  # noqa: F401 - fixtures

SCHEMA = next((Path(altair.__file__).parent / "vegalite" / "v6" / "schema").glob("vega-lite-schema.json"))


def seed(ws: Any) -> None:
    rows = [("a", "Open", "li", 10.5, "2026-11-25T20:00:00Z"), ("b", "Open", "wang", 4, "2026-11-25T01:00:00Z"),
            ("c", "Done", "li", 1.25, None), ("d", "Doing", None, None, "2026-11-26T10:00:00Z"),
            ("e", None, "wang", 7, None), ("f", "Done", "wang", 2, None)]
    for title, status, owner, amount, due in rows:
        add(ws, title=title, status=status, owner=owner, amount=amount, due_at=due, phone="13800001111")
    add(ws, title="gone", status="Open", owner="li", amount=100)
    gone = ws.base("ops").table("tickets").query(actor="admin", filter={"title": "gone"}).records[0]["id"]
    ws.base("ops").table("tickets").delete(gone, actor="admin")
    ws.base("ops").table("secrets").create({"name": "k", "value": 1}, actor="admin")


def numbers(html: str) -> dict[str, float]:
    """Widget title -> figure shown on the page."""
    found = re.findall(r'<h2>([^<]+)</h2>\s*<a class="value"[^>]*>([^<]+)</a>', html)
    return {title: float(value.replace(",", "").replace("%", "")) for title, value in found}


def sql(ws: Any, text: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return ws.storage.conn.execute(text, params).fetchall()


def test_numbers_equal_independent_sql(board_client, bws):  # noqa: F811
    seed(bws)
    live = "FROM ops__tickets WHERE _deleted_at IS NULL"
    for person, rows in (("admin", ""), ("li", " AND owner = 'li'")):
        shown = numbers(board_client(person).get("/b/ops/d/main").text)
        total = sql(bws, f"SELECT count(*) {live}{rows}")[0][0]
        opened = sql(bws, f"SELECT count(*) {live}{rows} AND status = 'Open'")[0][0]
        amount = float(sql(bws, f"SELECT coalesce(sum(amount), 0) {live}{rows}")[0][0])  # PostgreSQL: numeric
        done = float(sql(bws, f"SELECT 100.0 * sum(CASE WHEN status = 'Done' THEN 1 ELSE 0 END) / count(*) {live}{rows}")[0][0])
        assert shown["Total"] == total and shown["Open ones"] == opened
        assert shown["Amount sum"] == round(amount, 2)
        assert shown["Done share"] == round(done, 1)
    assert numbers(board_client("li").get("/b/ops/d/main").text)["Total"] == 2


def spec_values(client: Any, index: int) -> list[dict[str, Any]]:
    response = client.get(f"/b/ops/d/main/w/{index}.json")
    assert response.status_code == 200, response.text
    spec = response.json()
    # Vega-Lite's own schema names definitions like 'Foo<"bar">', which are not valid URI references:
    # checking the schema itself fails wherever a strict URI checker (rfc3987) is installed, so only the spec is checked.
    jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8"))).validate(spec)
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    return list(spec["data"]["values"])


def test_chart_spec_is_vega_lite_and_equals_group_by(board_client, bws):  # noqa: F811
    seed(bws)
    client = board_client("admin")
    values = spec_values(client, 4)
    expected = {("Empty" if k is None else k): n for k, n in sql(
        bws, "SELECT status, count(*) FROM ops__tickets WHERE _deleted_at IS NULL GROUP BY status")}
    assert {v["label"]: v["value"] for v in values} == expected
    hrefs = {v["label"]: v["href"] for v in values}
    assert hrefs["Open"] == "/b/ops/t/tickets?f=status&op=eq&v=Open"
    assert hrefs["Empty"] == "/b/ops/t/tickets?f=status&op=is_empty"

    names = {"li": "Li Si", "wang": "Wang Fang", None: "Empty"}
    pie = {v["label"]: v["value"] for v in spec_values(client, 5)}
    assert pie == {names[k]: float(n or 0) for k, n in sql(
        bws, "SELECT owner, sum(amount) FROM ops__tickets WHERE _deleted_at IS NULL GROUP BY owner")}

    mine = {v["label"]: v["value"] for v in spec_values(board_client("li"), 4)}
    assert mine == {k: n for k, n in sql(bws, "SELECT status, count(*) FROM ops__tickets "
                                              "WHERE _deleted_at IS NULL AND owner = 'li' GROUP BY status")}


def test_daily_line_groups_by_local_date(board_client, bws):  # noqa: F811
    seed(bws)
    days = {v["label"]: v["value"] for v in spec_values(board_client("admin"), 8)}
    assert days == {"2026-11-25": 1, "2026-11-26": 2, "Empty": 3}


def test_widgets_of_unreadable_tables_or_masked_fields_are_skipped(board_client, bws):  # noqa: F811
    seed(bws)
    viewer = board_client("zhao")
    page = viewer.get("/b/ops/d/main")
    assert page.status_code == 200
    shown = numbers(page.text)
    assert "Secret count" not in shown and "Secret bars" not in page.text and shown["Total"] == 6
    assert viewer.get("/b/ops/d/main/w/7.json").status_code == 404
    handler = board_client("li")
    assert "By phone" not in handler.get("/b/ops/d/main").text
    assert handler.get("/b/ops/d/main/w/9.json").status_code == 404
    admin = board_client("admin").get("/b/ops/d/main").text
    assert numbers(admin)["Secret count"] == 1 and "By phone" in admin


def test_dashboard_roles(board_client, bws):  # noqa: F811
    assert board_client("li").get("/b/ops/d/admins").status_code == 404
    assert board_client("admin").get("/b/ops/d/admins").status_code == 200
    assert board_client("admin").get("/b/ops/d/nope").status_code == 404
    assert board_client("admin").get("/b/ops/d/main/w/99.json").status_code == 404


def test_chart_page_loads_vendored_scripts_only(board_client, bws):  # noqa: F811
    html = board_client("admin").get("/b/ops/d/main").text
    assert 'data-spec-url="/b/ops/d/main/w/4.json"' in html
    assert "/static/vendor/vega-embed.min.js" in html and "<script>" not in html


def test_charts_keep_option_order_and_colours_and_show_empty_days(board_client, bws):  # noqa: F811
    seed(bws)
    add(bws, title="later", status="Open", due_at="2026-11-28T03:00:00Z")
    client = board_client("admin")
    bars = spec_values(client, 4)
    # The options' declared order (Open, Doing, Done), not the alphabet; "Empty" last.
    assert [v["label"] for v in bars] == ["Open", "Doing", "Done", "Empty"]
    # Options without colours get none here: the chart's palette tells them apart (not all gray).
    assert all("color" not in v for v in bars)
    assert "scale" not in client.get("/b/ops/d/main/w/4.json").json()["encoding"].get("color", {})
    days = [(v["label"], v["value"]) for v in spec_values(client, 8)]
    # 2026-11-27 had nothing: it is on the line as 0 instead of being skipped.
    assert days == [("2026-11-25", 1), ("2026-11-26", 2), ("2026-11-27", 0), ("2026-11-28", 1), ("Empty", 3)]


def test_option_colours_reach_the_chart(make_workspace):
    from engine.model import Widget
    from views.pages.dashboards import chart_spec, chart_values

    ws = make_workspace({"c": """\
base: c
name: C
tables:
  t:
    name: T
    primary: s
    fields:
      s: {type: single_select, name: S, options: [{name: 满意, color: green}, {name: 不满意, color: red},
          {name: 一般, color: "#22aa66"}, {name: 其他, color: teal}]}
"""})
    table = ws.base("c").table("t")
    for value in ("不满意", "满意", "满意", "一般", "其他"):
        table.create({"s": value}, actor="admin")
    widget = Widget(type="pie", title="满意度", table="t", group_by="s")
    values = chart_values(table, widget, ws.actor("admin"), str)
    assert [(v["label"], v["color"]) for v in values] == [("满意", "#3a9a2e"), ("不满意", "#d64541"),
                                                          ("一般", "#22aa66"), ("其他", "#138a7e")]
    spec = chart_spec(widget, values, table, str)
    assert spec["encoding"]["color"]["scale"] == {"domain": ["满意", "不满意", "一般", "其他"],
                                                  "range": ["#3a9a2e", "#d64541", "#22aa66", "#138a7e"]}
