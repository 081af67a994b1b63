"""Export then import keeps every value of every writable field type (CSV and XLSX)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from engine.plugins import field_types
from engine.transfer import export_rows, import_file, write_csv, write_xlsx

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

FIELDS = """\
      title: {type: text, name: 标题}
      body: {type: long_text, name: 正文}
      n: {type: number, name: 数量, precision: 2}
      money: {type: currency, name: 金额}
      pct: {type: percent, name: 比例, precision: 1}
      ok: {type: checkbox, name: 完成}
      status: {type: single_select, name: 状态, options: [待受理, 处理中]}
      tags: {type: multi_select, name: 标签, options: [紧急, 投诉, 咨询]}
      day: {type: date, name: 日期}
      at: {type: datetime, name: 时间}
      spent: {type: duration, name: 用时}
      stars: {type: rating, name: 评分}
      mail: {type: email, name: 邮箱}
      tel: {type: phone, name: 电话}
      site: {type: url, name: 网址}
      owner: {type: person, name: 负责人}
      team: {type: person, name: 成员, multiple: true}
      customer: {type: link, name: 客户, table: customers}
      files: {type: attachment, name: 附件}
      dept: {type: department, name: 责任科室}
      depts: {type: department, name: 协办科室, multiple: true}
"""

BASE = f"""\
base: rt
name: RT
tables:
  source:
    name: 源
    primary: title
    fields:
{FIELDS}  target:
    name: 目标
    primary: title
    fields:
{FIELDS}  customers:
    name: 客户
    primary: name
    fields:
      name: {{type: text, name: 姓名}}
"""

ROWS = [
    {"title": "第一条, 带逗号", "body": "多行\n\"引号\"\n=1+1", "n": "1234.56", "money": "¥88.8", "pct": "12.5%", "ok": True,
     "status": "处理中", "tags": ["紧急", "咨询"], "day": "2026-11-25", "at": "2026-11-25 14:30:05", "spent": "1:30:15",
     "stars": 4, "mail": "li@example.org", "tel": "+86 411 8888 0000", "site": "https://example.org/a?b=1&c=中",
     "owner": "li", "team": ["li", "boss"], "dept": "口腔正畸中心", "depts": ["qc", "ortho"]},
    {"title": "=HYPERLINK(\"x\")", "ok": False, "n": "-0.5", "pct": 0.333, "at": "2026-01-01T00:00:00Z", "day": "2026-02-28"},
]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_round_trip_keeps_every_value(make_workspace: Any, tmp_path: Path, fmt: str) -> None:
    ws = make_workspace({"rt": BASE})
    base = ws.base("rt")
    source, target = base.table("source"), base.table("target")
    cid = base.table("customers").create({"name": "张三"}, actor="admin")["id"]
    with ws.storage.transaction() as blob:
        blob.execute("INSERT INTO _gb_attachments (id, sha256, name, size, type, uploaded_by, uploaded_at) VALUES "
                     "('att0123456789abcdef', 'x', '报告, final.pdf', 10, 'application/pdf', 'admin', '2026-01-01T00:00:00Z')")
    rows = [dict(r) for r in ROWS]
    rows[0]["customer"] = [cid]
    rows[0]["files"] = [{"id": "att0123456789abcdef", "name": "报告, final.pdf", "size": 10, "type": "application/pdf"}]
    for row in rows:
        source.create(row, actor="admin")
    covered = {source.tdef.fields[k].type for r in rows for k in r}
    writable = {k for k, cls in field_types().items() if not cls.computed}
    assert writable <= covered, f"not covered: {writable - covered}"
    header, data = export_rows(source, actor="admin")
    path = tmp_path / f"export.{fmt}"
    if fmt == "csv":
        text = io.StringIO()
        write_csv(text, header, data)
        path.write_text(text.getvalue(), encoding="utf-8")
    else:
        write_xlsx(path, header, data)
    report = import_file(target, path, actor="admin")
    assert report.ok and report.imported == 2, report.problems
    original = [r["fields"] for r in source.query(actor="admin", sort=["title"]).records]
    copied = [r["fields"] for r in target.query(actor="admin", sort=["title"]).records]
    for before, after in zip(original, copied, strict=True):
        for key in before:
            assert after.get(key) == before[key], (key, before[key], after.get(key))
    # In the file itself the formula-like cells were neutralised.
    if fmt == "csv":
        assert "'=HYPERLINK" in path.read_text(encoding="utf-8") and "'+86 411" in path.read_text(encoding="utf-8")
    assert json.loads(json.dumps(copied, ensure_ascii=False))  # plain JSON values
