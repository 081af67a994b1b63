"""The table page's import: a column that matches no field fails the import, listed in the
reader's language, unless its checkbox skips such columns (then the page lists them)."""

from __future__ import annotations

import pytest

from engine.errors import Message
from tests.views.conftest import token
from views.messages import render

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)


def test_an_unknown_column_fails_the_import_unless_the_box_is_ticked(client_for, ws):
    client = client_for("wang")
    page = client.get("/b/cases/t/cases")
    assert 'name="ignore_unknown"' in page.text and "Skip columns that match no field" in page.text
    csrf = token(client)
    data = b"Title,Scor\nfirst,3\n"
    res = client.post("/b/cases/t/cases/import", data={"csrf_token": csrf}, files={"file": ("in.csv", data, "text/csv")})
    assert res.status_code == 422 and "Nothing was imported" in res.text
    assert "column &#39;Scor&#39; matches no field of &#39;Case records&#39;; did you mean &#39;Score&#39;?" in res.text
    client.cookies.set("lang", "zh-CN")
    res = client.post("/b/cases/t/cases/import", data={"csrf_token": csrf}, files={"file": ("in.csv", data, "text/csv")})
    assert "“Scor”列与“Case records”的字段都不对应；您是不是要填“Score”？" in res.text
    assert ws.base("cases").table("cases").count(actor="admin") == 0
    res = client.post("/b/cases/t/cases/import", data={"csrf_token": csrf, "ignore_unknown": "1"},
                      files={"file": ("in.csv", data, "text/csv")})
    assert res.status_code == 200 and "已跳过“Scor”列" in res.text
    assert ws.base("cases").table("cases").count(actor="admin") == 1


def test_a_repeated_unique_value_reads_in_chinese():
    taken = Message("field_problem", field="资产编号",
                    problem=Message("unique_taken_by_record", value="A-1", record="recAAAAAAAAAAAAAA"))
    assert str(taken) == "资产编号: 'A-1' is already used by record recAAAAAAAAAAAAAA"
    assert render(taken, "zh-CN") == "资产编号：“A-1”已被记录 recAAAAAAAAAAAAAA 使用"
    other = Message("field_problem", field="资产编号", problem=Message("unique_taken", value="A-1"))
    assert render(other, "zh-CN") == "资产编号：“A-1”已被另一条记录使用"
    row = Message("row_problems", row=5, problems=[Message("field_problem", field="资产编号",
                                                           problem=Message("unique_taken_by_row", value="A-2", row=2))])
    assert render(row, "zh-CN") == "第 5 行：资产编号：“A-2”与第 2 行重复"
