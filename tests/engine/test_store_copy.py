"""`gridbase store copy`: a seeded workspace moves SQLite → PostgreSQL → SQLite with every table
verified (counts and checksums printed), reads the same afterwards, and a non-empty target is refused."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from engine import Workspace, comments
from gridbase.cli import main
from tests_support import write_workspace

pytestmark = pytest.mark.stores  # needs PostgreSQL (the session's throwaway server)

CLINIC = """\
base: clinic
name: 门诊
tables:
  patients:
    name: 患者
    primary: name
    fields:
      name: {type: text, name: 姓名}
      born: {type: date, name: 出生日期}
      weight: {type: number, name: 体重, precision: 1}
  visits:
    name: 就诊
    primary: title
    fields:
      title: {type: text, name: 标题}
      patient: {type: link, name: 患者, table: patients, multiple: false, inverse: visits, inverse_name: 就诊}
      patient_name: {type: lookup, name: 患者姓名, link: patient, field: name}
      tags: {type: multi_select, name: 标签, options: [复诊, 急诊]}
"""


def _schema(pg_url: str) -> str:
    name = "copy_" + os.urandom(3).hex()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')  # type: ignore[arg-type]  # a name made above
    return f"{pg_url}?options=-csearch_path%3D{name}"


def _seed(ws: Workspace) -> None:
    patients, visits = ws.base("clinic").table("patients"), ws.base("clinic").table("visits")
    for i in range(30):
        p = patients.create({"name": f"患者{i}", "born": f"1990-01-{i % 28 + 1:02d}", "weight": 50.5 + i}, actor="admin")
        v = visits.create({"title": f"就诊{i}", "patient": [p["id"]], "tags": ["复诊"] if i % 2 else []}, actor="admin")
        if i % 3 == 0:
            patients.update(p["id"], {"weight": 60}, actor="admin")
            comments.add(visits, v["id"], f"已电话随访 {i}", actor="admin")
    patients.delete(patients.query(actor="admin", limit=1000).records[0]["id"], actor="admin")


def _view(ws: Workspace) -> list[tuple[str, str | None, list[str]]]:
    visits = ws.base("clinic").table("visits")
    return sorted((r["fields"].get("title"), r["fields"].get("patient_name"), r["fields"].get("tags") or [])
                  for r in visits.query(actor="admin", limit=1000).records)


def _copy(root: Path, source: str, target: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["store", "copy", str(root), "--from", source, "--to", target]) == 0
    return capsys.readouterr().out


def test_copy_both_ways_verifies_every_table(pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_workspace(tmp_path / "ws", {"clinic": CLINIC})
    first = tmp_path / "first.db"
    ws = Workspace.open(root, db=first)
    ws.apply()
    _seed(ws)
    before = _view(ws)
    audit = ws.storage.conn.execute("SELECT count(*) FROM _gb_audit").fetchone()[0]
    ws.close()

    url = _schema(pg_url)
    printed = _copy(root, f"sqlite:{first}", url, capsys)
    for table in ("clinic__patients", "clinic__visits", "_gb_audit", "_gb_comments", "_gb_people", "_gb_outbox"):
        assert table in printed
    assert any(line.startswith("_gb_audit ") and f" {audit} rows" in line for line in printed.splitlines())
    assert "counts and checksums match" in printed

    ws = Workspace.open(root, db=url)
    assert _view(ws) == before
    visits = ws.base("clinic").table("visits")
    first_visit = next(r["id"] for r in visits.query(actor="admin", limit=1000).records if r["fields"]["title"] == "就诊0")
    assert [c.body for c in comments.for_record(visits, first_visit, actor="admin")] == ["已电话随访 0"]
    # new rows continue after the copied keys (the identity sequences were moved on)
    made = visits.create({"title": "新就诊"}, actor="admin")
    assert made["id"]
    ws.close()

    back = tmp_path / "back.db"
    printed = _copy(root, url, f"sqlite:{back}", capsys)
    assert "counts and checksums match" in printed
    ws = Workspace.open(root, db=back)
    assert _view(ws) == sorted([*before, ("新就诊", None, [])])
    assert ws.storage.conn.execute("SELECT count(*) FROM _gb_comments").fetchone()[0] == 10
    ws.close()


def test_copy_refuses_a_target_that_holds_data(pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_workspace(tmp_path / "ws", {"clinic": CLINIC})
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    for db in (first, second):
        ws = Workspace.open(root, db=db)
        ws.apply()
        ws.close()
    assert main(["store", "copy", str(root), "--from", f"sqlite:{first}", "--to", f"sqlite:{second}"]) == 1
    assert "the target database is not empty" in capsys.readouterr().err
