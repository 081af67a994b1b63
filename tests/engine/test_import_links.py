"""An import names linked records as people know them: by the linked table's primary field
(a formula too) or by any unique field of it, exactly; a name that fits several records or
none rejects its row with its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.transfer import import_file

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

BASE = """\
base: dent
name: 口腔
tables:
  visits:
    name: 就诊
    primary: label
    fields:
      who: {type: text, name: 患者}
      day: {type: date, name: 日期}
      card: {type: text, name: 就诊卡号, unique: true}
      label: {type: formula, name: 标题, formula: "{患者} & ' ' & {日期}"}
  bills:
    name: 账单
    primary: num
    fields:
      num: {type: text, name: 单号}
      visit: {type: link, name: 就诊, table: visits, multiple: false}
"""


def test_links_by_a_formula_primary_or_a_unique_field_and_ambiguous_names_refused(make_workspace: Any,
                                                                                  tmp_path: Path) -> None:
    ws = make_workspace({"dent": BASE})
    visits, bills = ws.base("dent").table("visits"), ws.base("dent").table("bills")
    ids = visits.insert_many([{"who": f"患者{i}", "day": "2026-12-01", "card": f"K{i}"} for i in range(80)], actor="admin")
    twin = visits.insert_many([{"who": "王五", "day": "2026-12-02"}, {"who": "王五", "day": "2026-12-02"}], actor="admin")
    lines = [f"B{i},患者{i} 2026-12-01" for i in range(70)]  # more names than are looked up one at a time
    lines += ["B70,K75", "B71,王五 2026-12-02", "B72,患者99 2026-12-01", f"B73,{twin[0]}"]
    path = tmp_path / "bills.csv"
    path.write_text("单号,就诊\n" + "\n".join(lines) + "\n", encoding="utf-8")
    report = import_file(bills, path, actor="admin", skip_invalid=True)
    assert report.imported == 72
    assert report.problems == [
        "row 73: 就诊: '王五 2026-12-02' is the 标题 of more than one record of '就诊'; name it by a unique field or by record id",
        "row 74: 就诊: no record of '就诊' has '患者99 2026-12-01' as its '标题' or '就诊卡号'"]
    linked = {r["fields"]["num"]: r["fields"]["visit"] for r in bills.query(actor="admin", limit=100).records}
    assert linked["B0"] == [ids[0]] and linked["B69"] == [ids[69]] and linked["B70"] == [ids[75]]
    assert linked["B73"] == [twin[0]]
