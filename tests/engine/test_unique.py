"""Unique fields (`unique: true`): every write path refuses a value a live record already
holds, naming the field, the value and (when the writer may read it) the record; the
migration adds and removes the index, and refuses it over existing duplicates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine import Workspace, undo
from engine.errors import CellErrors, ConfigError, MigrationRefused, ValidationError
from engine.loader import load_workspace
from engine.transfer import import_file
from tests_support import rewrite_base, write_workspace

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

BASE = """\
base: eq
name: 设备
tables:
  devices:
    name: 设备
    primary: asset
    fields:
      asset: {{type: text, name: 资产编号{unique}}}
      title: {{type: text, name: 名称}}
      dept: {{type: text, name: 科室}}
roles:
  handler:
    devices:
      access: edit
      create: true
      rows: {{dept: ortho}}
"""


def reopen(ws: Workspace, text: str) -> Workspace:
    """The same database under a changed base YAML (closing the workspace given)."""
    root, db = Path(ws.config.root), ws.storage.database  # the file, or the PostgreSQL URL
    rewrite_base(root, "eq", text)
    ws.close()
    return Workspace.open(root, db=db)


def base(unique: bool = True) -> str:
    return BASE.format(unique=", unique: true" if unique else "")


@pytest.fixture
def devices(make_workspace: Any) -> Any:
    return make_workspace({"eq": base()}).base("eq").table("devices")


def test_a_second_record_with_the_same_value_is_refused_naming_the_record(devices: Any) -> None:
    first = devices.create({"asset": "A-001", "title": "牙椅", "dept": "qc"}, actor="admin")
    with pytest.raises(ValidationError) as caught:
        devices.create({"asset": "A-001", "title": "另一台"}, actor="admin")
    assert caught.value.errors == {"asset": f"资产编号: 'A-001' is already used by record {first['id']}"}
    devices.create({"asset": "A-002"}, actor="admin")
    devices.create({"title": "no number"}, actor="admin")
    devices.create({"title": "no number either"}, actor="admin")  # blanks are not values
    assert devices.count(actor="admin") == 4


def test_a_writer_who_may_not_read_the_holder_learns_nothing_of_it(devices: Any) -> None:
    hidden = devices.create({"asset": "A-001", "dept": "qc"}, actor="admin")  # outside li's rows
    with pytest.raises(ValidationError) as caught:
        devices.create({"asset": "A-001", "dept": "ortho"}, actor="li")
    assert caught.value.errors["asset"] == "资产编号: 'A-001' is already used by another record"
    assert hidden["id"] not in str(caught.value)
    mine = devices.create({"asset": "B-001", "dept": "ortho"}, actor="li")
    with pytest.raises(ValidationError) as caught:
        devices.create({"asset": "B-001", "dept": "ortho"}, actor="li")
    assert mine["id"] in caught.value.errors["asset"]


def test_updates_and_pastes_are_refused_but_keeping_ones_own_value_is_fine(devices: Any) -> None:
    a = devices.create({"asset": "A-001"}, actor="admin")["id"]
    b = devices.create({"asset": "A-002"}, actor="admin")["id"]
    devices.update(a, {"asset": "A-001", "title": "same number"}, actor="admin")
    with pytest.raises(ValidationError, match=f"'A-001' is already used by record {a}"):
        devices.update(b, {"asset": "A-001"}, actor="admin")
    with pytest.raises(CellErrors) as caught:  # a paste setting two records to one value
        devices.update_many([(a, {"asset": "X"}), (b, {"asset": "X"})], actor="admin")
    assert [(e.record, e.field) for e in caught.value.cells] == [(b, "asset")]
    assert devices.get(a, actor="admin")["fields"]["asset"] == "A-001"  # all or nothing


def test_a_deleted_records_value_may_be_used_again_and_restoring_it_is_then_refused(devices: Any) -> None:
    old = devices.create({"asset": "A-001"}, actor="admin")["id"]
    devices.delete(old, actor="admin")
    new = devices.create({"asset": "A-001"}, actor="admin")["id"]
    with pytest.raises(ValidationError, match=f"'A-001' is already used by record {new}"):
        devices.restore(old, actor="admin")
    devices.update(new, {"asset": "A-009"}, actor="admin")
    assert devices.restore(old, actor="admin")["fields"]["asset"] == "A-001"


def test_an_undo_that_would_repeat_a_value_is_refused(devices: Any) -> None:
    a = devices.create({"asset": "A-001"}, actor="admin")["id"]
    devices.update(a, {"asset": "A-002"}, actor="admin")  # admin's last write: undo gives back A-001
    other = devices.create({"asset": "A-003"}, actor="system")["id"]
    devices.update(other, {"asset": "A-001"}, actor="system")
    with pytest.raises(ValidationError, match=f"'A-001' is already used by record {other}"):
        undo.undo(devices, "admin")
    assert devices.get(a, actor="admin")["fields"]["asset"] == "A-002"


def test_an_import_lists_every_repeated_value_with_its_lines_and_writes_nothing(devices: Any, tmp_path: Path) -> None:
    held = devices.create({"asset": "A-001"}, actor="admin")["id"]
    path = tmp_path / "devices.csv"
    path.write_text("资产编号,名称\nA-002,一\nA-001,二\nA-003,三\nA-002,四\n", encoding="utf-8")
    report = import_file(devices, path, actor="admin")
    assert report.imported == 0 and report.rejected == 2
    assert report.problems[:2] == [f"row 3: 资产编号: 'A-001' is already used by record {held}",
                                   "row 5: 资产编号: 'A-002' is already used by row 2"]
    assert devices.count(actor="admin") == 1
    report = import_file(devices, path, actor="admin", skip_invalid=True)
    assert report.imported == 2 and report.rejected == 2


def test_bulk_inserts_refuse_repeats_too(devices: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        devices.insert_many([{"asset": "Z"}, {"asset": "Z"}], actor="admin")
    assert caught.value.errors == {"row 2": "资产编号: 'Z' is already used by row 1"}
    result = devices.import_rows([{"asset": "Y"}, {"asset": "Y"}], actor="admin", skip_invalid=True)
    assert len(result.ids) == 1 and result.rejected[0][0] == 2


def test_the_migration_adds_and_removes_the_index_and_refuses_it_over_duplicates(make_workspace: Any) -> None:
    ws = make_workspace({"eq": base(unique=False)})
    devices = ws.base("eq").table("devices")
    a = devices.create({"asset": "A-001"}, actor="admin")["id"]
    b = devices.create({"asset": "A-001"}, actor="admin")["id"]
    devices.create({"asset": "A-002"}, actor="admin")
    ws = reopen(ws, base(unique=True))
    steps = ws.plan()
    refused = [s.refused for s in steps if s.refused]
    assert refused == [f"field eq.devices.asset cannot be made unique: these values are held by more than one "
                       f"record: 'A-001' in {a}, {b}; change or delete the duplicates, then apply again"]
    with pytest.raises(MigrationRefused, match=f"'A-001' in {a}, {b}"):
        ws.apply(allow_data_loss=True)
    devices = ws.base("eq").table("devices")
    devices.delete(b, actor="admin")
    assert [s.description for s in ws.apply()] == ["add unique index on eq.devices.asset"]
    with pytest.raises(ValidationError):
        ws.base("eq").table("devices").create({"asset": "A-002"}, actor="admin")
    assert ws.plan() == []
    ws = reopen(ws, base(unique=False))
    assert [s.kind for s in ws.apply()] == ["drop_index"]
    ws.base("eq").table("devices").create({"asset": "A-002"}, actor="admin")
    ws.close()


def test_a_list_or_computed_field_cannot_be_unique(tmp_path: Path) -> None:
    bad = base().replace("dept: {type: text, name: 科室}", "dept: {type: checkbox, name: 科室, unique: true}")
    root = write_workspace(tmp_path / "bad", {"eq": bad})
    with pytest.raises(ConfigError, match="fields/dept/unique: A list, a yes/no or a computed field cannot be unique"):
        load_workspace(root)
