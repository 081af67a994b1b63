"""`gridbase import` and `export` as an admin migrating another system's data uses them:
unknown columns fail the import (or are skipped with --ignore-unknown), links go by the
linked record's primary or unique field, --key updates the record a unique value finds, and
--created-from keeps the source's created times."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from engine import Workspace
from gridbase.cli import main
from tests_support import WORKSPACE_YAML, rewrite_base

BASE = """\
base: eq
name: 设备科
tables:
  devices:
    name: 设备
    primary: name
    fields:
      name: {type: text, name: 名称}
      asset: {type: text, name: 资产编号, unique: true}
      status: {type: single_select, name: 状态, options: [在用, 维修中, 报废]}
      repairs: {type: link, name: 维修单, table: repairs, inverse: device, inverse_name: 设备}
      fixes: {type: rollup, name: 维修次数, link: repairs, field: title, function: count}
      since: {type: created_time, name: 登记时间}
  repairs:
    name: 维修单
    primary: title
    fields:
      title: {type: text, name: 标题}
"""


@pytest.fixture
def where(make_workspace: Callable[..., Workspace], tmp_path: Path) -> list[str]:
    ws = make_workspace({"eq": BASE}, WORKSPACE_YAML)
    ws.close()
    return [str(tmp_path / "ws"), "--db", str(tmp_path / "test.db")]


def run(where: list[str], *args: str) -> int:
    return main([args[0], where[0], *args[1:], *where[1:]])


def csv_file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_an_unknown_or_computed_column_fails_the_import_naming_it_and_the_nearest_field(
        where: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = csv_file(tmp_path, "devices.csv", "名称,资产编号,Statu,维修次数\n牙椅,A-001,在用,3\n")
    assert run(where, "import", "eq.devices", path) == 1
    text = capsys.readouterr().err
    assert "column 'Statu' matches no field of '设备'; did you mean 'status'?" in text
    assert "column '维修次数' is the computed field '维修次数', which cannot be imported" in text
    assert "--ignore-unknown" in text
    assert run(where, "import", "eq.devices", path, "--ignore-unknown") == 0
    captured = capsys.readouterr()
    assert "warning: column 'Statu' was skipped: it matches no field of '设备'; did you mean 'status'?" in captured.err
    assert "warning: column '维修次数' was skipped: it is the computed field '维修次数'" in captured.err
    assert "imported 1 row(s), rejected 0" in captured.out


def test_links_by_name_and_a_csv_round_trip_into_an_empty_copy_keeps_them(
        where: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        make_workspace: Callable[..., Workspace]) -> None:
    repairs = csv_file(tmp_path, "repairs.csv", "标题\n换气管\n\"修脚踏, 第二次\"\n补漆\n")
    assert run(where, "import", "eq.repairs", repairs) == 0
    devices = csv_file(tmp_path, "devices.csv",
                       "名称,资产编号,维修单\n牙椅,A-001,\"换气管\n修脚踏, 第二次\"\n灯,A-002,补漆\n椅子,A-003,换汽管\n")
    assert run(where, "import", "eq.devices", devices) == 1
    assert "row 4: 维修单: no record of '维修单' has '换汽管' as its '标题'" in capsys.readouterr().err
    assert run(where, "import", "eq.devices", devices, "--skip-invalid") == 1  # two rows in, the bad one listed
    assert "imported 2 row(s), rejected 1" in capsys.readouterr().out
    out = tmp_path / "out.csv"
    assert run(where, "export", "eq.devices", "--out", str(out)) == 0
    exported = out.read_text(encoding="utf-8-sig")
    assert '"换气管\n修脚踏, 第二次"' in exported and "rec" not in exported
    assert run(where, "export", "eq.devices", "--format", "json", "--out", str(tmp_path / "out.json")) == 0
    assert all(v.startswith("rec") for row in json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
               for v in row["维修单"].split(", "))
    # An empty copy: the repairs first, then the devices, by name.
    copy = [where[0], "--db", str(tmp_path / "copy.db")]
    assert main(["apply", copy[0], *copy[1:]]) == 0
    assert run(copy, "import", "eq.repairs", repairs) == 0
    assert run(copy, "import", "eq.devices", str(out), "--ignore-unknown") == 0  # 维修次数, 登记时间 are computed
    copy_out = tmp_path / "copy.csv"
    assert run(copy, "export", "eq.devices", "--out", str(copy_out)) == 0
    strip = [line.split(",")[:3] for line in exported.splitlines()]
    assert [line.split(",")[:3] for line in copy_out.read_text(encoding="utf-8-sig").splitlines()] == strip
    ws = Workspace.open(Path(copy[0]), db=Path(copy[2]))
    linked = {r["fields"]["name"]: len(r["fields"].get("repairs", [])) for r in
              ws.base("eq").table("devices").query(actor="admin").records}
    ws.close()
    assert linked == {"牙椅": 2, "灯": 1}


def test_key_updates_the_record_a_unique_value_finds_and_creates_the_rest(
        where: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = csv_file(tmp_path, "a.csv", "名称,资产编号,状态\n牙椅,A-001,在用\n灯,A-002,在用\n")
    assert run(where, "import", "eq.devices", first) == 0
    second = csv_file(tmp_path, "b.csv", "资产编号,状态\nA-002,维修中\nA-003,在用\n")
    assert run(where, "import", "eq.devices", second) == 1  # without --key: A-002 is taken
    assert "row 2: 资产编号: 'A-002' is already used by record rec" in capsys.readouterr().err
    assert run(where, "import", "eq.devices", second, "--key", "资产编号") == 0
    assert "imported 1 row(s), updated 1, rejected 0" in capsys.readouterr().out
    assert run(where, "import", "eq.devices", second, "--key", "名称") == 1
    assert "field '名称' is not unique" in capsys.readouterr().err
    ws = Workspace.open(Path(where[0]), db=Path(where[2]))
    got = {r["fields"]["asset"]: r["fields"].get("status") for r in ws.base("eq").table("devices").query(actor="admin").records}
    ws.close()
    assert got == {"A-001": "在用", "A-002": "维修中", "A-003": "在用"}


def test_created_from_keeps_the_sources_dates(where: list[str], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = csv_file(tmp_path, "old.csv", "名称,建档时间,资产编号\n牙椅,2019-03-04 08:30,A-1\n灯,2020-01-01T00:00:00Z,A-2\n"
                                         "椅,上周,A-3\n")
    assert run(where, "import", "eq.devices", path, "--created-from", "建档时间") == 1
    assert "row 4: created time: expected a date and time such as 2026-11-25 14:30, not '上周'" in capsys.readouterr().err
    path = csv_file(tmp_path, "old.csv", "名称,建档时间\n牙椅,2019-03-04 08:30\n灯,2020-01-01T00:00:00Z\n")
    assert run(where, "import", "eq.devices", path, "--created-from", "建档时间") == 0
    assert run(where, "import", "eq.devices", path, "--created-from", "建挡时间") == 1
    assert "no column '建挡时间' to take created times from; did you mean '建档时间'?" in capsys.readouterr().err
    ws = Workspace.open(Path(where[0]), db=Path(where[2]))
    records = ws.base("eq").table("devices").query(actor="admin", sort=["name"]).records
    audit = ws.storage.conn.execute("SELECT at, action, actor, new FROM _gb_audit WHERE tbl = 'devices' "
                                    "ORDER BY id").fetchall()
    history = ws.base("eq").table("devices").history(records[1]["id"], actor="admin")
    ws.close()
    assert [(r["fields"]["name"], r["createdTime"], r["fields"]["since"]) for r in records] == [
        ("灯", "2020-01-01T00:00:00.000Z", "2020-01-01T00:00:00.000Z"),
        ("牙椅", "2019-03-04T00:30:00.000Z", "2019-03-04T00:30:00.000Z")]  # 08:30 in Shanghai
    # The audit log says when and by whom the records were really written (the import), and
    # keeps the created time they were given; the record's history shows its fields only.
    assert all(at >= "2026" and action == "create" and actor == "system" for at, action, actor, _ in audit)
    assert [json.loads(new)["_created_at"] for *_, new in audit] == ["2019-03-04T00:30:00Z", "2020-01-01T00:00:00Z"]
    assert {e["field"] for e in history} == {"name"}


def test_plan_marks_a_unique_field_over_duplicates_refused_and_apply_changes_nothing(
        where: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rewrite_base(Path(where[0]), "eq", BASE.replace(", unique: true", ""))
    assert run(where, "apply") == 0
    twice = csv_file(tmp_path, "twice.csv", "名称,资产编号\n牙椅,A-001\n灯,A-001\n")
    assert run(where, "import", "eq.devices", twice) == 0
    rewrite_base(Path(where[0]), "eq", BASE)
    capsys.readouterr()
    assert run(where, "plan") == 0
    text = capsys.readouterr().out
    assert "x add unique index on eq.devices.asset" in text
    assert "refused: field eq.devices.asset cannot be made unique: these values are held by more than one record: " \
           "'A-001' in rec" in text
    assert run(where, "apply") == 1
    assert "the YAML cannot be applied as it stands" in capsys.readouterr().err


def test_key_rows_with_bad_values_are_listed_and_nothing_is_kept(where: list[str], tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert run(where, "import", "eq.repairs", csv_file(tmp_path, "r.csv", "标题\n换气管\n")) == 0
    path = csv_file(tmp_path, "k.csv", "资产编号,状态,维修单\nA-1,在用,换气管\nA-2,坏了,\nA-3,在用,没有这张\n")
    assert run(where, "import", "eq.devices", path, "--key", "asset") == 1
    text = capsys.readouterr().err
    assert "row 3: 状态: expected one of: 在用, 维修中, 报废" in text
    assert "row 4: 维修单: no record of '维修单' has '没有这张' as its '标题'" in text
    assert run(where, "import", "eq.devices", path, "--key", "asset", "--skip-invalid") == 1
    assert "imported 1 row(s), updated 0, rejected 2" in capsys.readouterr().out
