"""Filters on link fields go through the link junction's index; they find exactly the rows
whose link lists the record, on both sides of the link and after links change."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from engine import Workspace

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

SHOP = """\
base: shop
name: 店
tables:
  items:
    name: 项目
    primary: name
    fields:
      name: {type: text, name: 名称}
  orders:
    name: 订单
    primary: title
    fields:
      title: {type: text, name: 标题}
      items: {type: link, name: 项目, table: items, inverse: orders, inverse_name: 订单}
      main: {type: link, name: 主项目, table: items, multiple: false}
"""


def _ids(page: Any) -> set[str]:
    return {r["id"] for r in page.records}


def test_link_filters_match_the_link_lists(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"shop": SHOP})
    items_t, orders_t = ws.base("shop").table("items"), ws.base("shop").table("orders")
    items = [items_t.create({"name": f"项目{i}"}, actor="admin")["id"] for i in range(6)]
    rng = random.Random(3)
    orders = {}
    for i in range(60):
        chosen = rng.sample(items, rng.randrange(0, 4))
        rec = orders_t.create({"title": f"订单{i}", "items": chosen, "main": rng.choice(items)}, actor="admin")
        orders[rec["id"]] = chosen
    # Links change after creation: one removed, one added, one order deleted.
    first = next(i for i, c in orders.items() if c)
    orders[first] = orders[first][1:]
    orders_t.update(first, {"items": orders[first]}, actor="admin")
    other = next(i for i, c in orders.items() if items[5] not in c)
    orders[other] = [*orders[other], items[5]]
    orders_t.update(other, {"items": orders[other]}, actor="admin")
    gone = next(iter(orders))
    orders_t.delete(gone, actor="admin")
    del orders[gone]

    def query(flt: dict[str, Any]) -> set[str]:
        return _ids(orders_t.query(actor="admin", filter=flt, limit=1000))

    for item in items:
        assert query({"items": item}) == {o for o, c in orders.items() if item in c}
        assert query({"items": {"neq": item}}) == {o for o, c in orders.items() if item not in c}
        assert orders_t.count(actor="admin", filter={"items": item}) == sum(item in c for c in orders.values())
        # The other side: an item's 订单 field lists the orders that link to it.
        back = _ids(items_t.query(actor="admin", filter={"orders": next(iter(orders))}, limit=100))
        assert back == set(orders[next(iter(orders))])
    pair = items[:2]
    assert query({"items": {"has_all": pair}}) == {o for o, c in orders.items() if set(pair) <= set(c)}
    assert query({"items": {"has_any": pair}}) == {o for o, c in orders.items() if set(pair) & set(c)}
    mains = {r["id"]: r["fields"].get("main") for r in orders_t.query(actor="admin", limit=1000).records}
    assert query({"main": [items[0]]}) == {o for o, m in mains.items() if m == [items[0]]}
    assert query({"items": "recNOSUCHRECORD01"}) == set()
    # A deleted order leaves the items' 订单 lists, and so the filter finds nothing for it.
    assert _ids(items_t.query(actor="admin", filter={"orders": gone}, limit=100)) == set()
    # A deleted item leaves the orders' lists too.
    dropped = items[1]
    items_t.delete(dropped, actor="admin")
    lists = {r["id"]: r["fields"].get("items") or [] for r in orders_t.query(actor="admin", limit=1000).records}
    assert query({"items": dropped}) == {o for o, c in lists.items() if dropped in c} == set()


@pytest.mark.sqlite_only("reads SQLite's query plan (EXPLAIN QUERY PLAN)")
def test_a_link_filter_reads_the_junction_not_every_row(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"shop": SHOP})
    orders_t = ws.base("shop").table("orders")
    where, params = orders_t.compile_filter({"items": "recAAAAAAAAAAAAAA"}, ws.actor("admin"))
    plan = " | ".join(r[3] for r in ws.storage.conn.execute(
        f'EXPLAIN QUERY PLAN SELECT _id FROM "shop__orders" WHERE {where}', params))
    assert "shop__orders__items__link" in plan and "json_each" not in where
    assert "SCAN shop__orders" not in plan, plan
