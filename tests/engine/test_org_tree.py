"""The organisation tree (engine.org) and the department field: paths, subtrees, campuses,
`$my_department` / `$my_departments` / `$my_campus` in row rules, filters and defaults,
recipients, moving a person, and the checks of workspace.yaml."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from automations.recipients import resolve
from engine import Workspace, org
from engine import people as people_db
from engine.errors import ConfigError, QueryError, ValidationError
from engine.loader import load_workspace
from tests_support import write_workspace

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

GROUP = """\
workspace: group
name: 口腔医院集团
timezone: Asia/Shanghai
departments:
  main:
    name: 中山院区
    kind: campus
    head: dir_main
    children:
      ortho: {name: 口腔正畸中心, head: qian}
      implant:
        name: 口腔种植中心
        head: zhao
        children:
          implant_team: {name: 种植一组, kind: team}
  kfq:
    name: 开发区院区
    kind: campus
    head: dir_kfq
    children:
      kfq_ortho: {name: 口腔正畸中心, head: [liu, ma]}
  qc: {name: 质控部, head: chen}
roles:
  admin: {name: 管理员, admin: true}
  staff: {name: 员工}
  director: {name: 院区主任}
  qc: {name: 质控}
people:
  admin: {name: 管理员, roles: [admin]}
  dir_main: {name: 主院主任, department: main, roles: [director]}
  dir_kfq: {name: 开发区主任, department: kfq, roles: [director]}
  qian: {name: 钱敏, department: ortho, roles: [staff]}
  zhao: {name: 赵磊, department: implant, roles: [staff]}
  wu: {name: 吴刚, department: implant_team, roles: [staff]}
  liu: {name: 刘明, department: kfq_ortho, roles: [staff]}
  ma: {name: 马丽, departments: [qc, {node: kfq_ortho, primary: true}], roles: [staff]}
  chen: {name: 陈静, department: qc, roles: [qc]}
"""

CASES = """\
base: cases
name: 事项
tables:
  cases:
    name: 事项
    primary: title
    fields:
      title: {type: text, name: 标题}
      dept: {type: department, name: 责任科室, default: $my_department}
      helpers: {type: department, name: 协办科室, multiple: true}
      campus: {type: department, name: 院区, kinds: [campus], default: $my_campus}
roles:
  director:
    cases: {access: read, rows: {dept: {under: $my_campus}}}
  staff:
    cases: {access: edit, create: true, rows: {dept: {under: $my_departments}}}
  qc:
    cases: {access: read}
"""


@pytest.fixture
def ws(make_workspace: Callable[..., Workspace]) -> Workspace:
    ws = make_workspace({"cases": CASES}, GROUP)
    ws.sync_people()
    table = ws.base("cases").table("cases")
    for title, dept in (("m-ortho", "ortho"), ("m-team", "中山院区 / 口腔种植中心 / 种植一组"), ("k-ortho", "开发区院区 / 口腔正畸中心"),
                        ("qc", "质控部"), ("main", "main")):
        table.create({"title": title, "dept": dept}, actor="admin")
    return ws


def titles(ws: Workspace, actor: str, flt: Any = None) -> list[str]:
    rows = ws.base("cases").table("cases").query(actor=actor, filter=flt, limit=50)
    return sorted(r["fields"]["title"] for r in rows.records)


def test_the_tree_knows_paths_subtrees_campuses_and_heads(ws: Workspace) -> None:
    tree = org.tree_of(ws.config)
    assert tree.path("implant_team") == "中山院区 / 口腔种植中心 / 种植一组"
    assert set(tree.subtree("main")) == {"main", "ortho", "implant", "implant_team"}
    assert tree.campus_of("implant_team") == "main" and tree.campus_of("qc") is None
    assert tree.heads_of("implant_team") == ["zhao"]  # a team without a head: its department's
    assert tree.heads_of("kfq_ortho") == ["liu", "ma"]
    assert sorted(tree.find("口腔正畸中心")) == ["kfq_ortho", "ortho"]  # a shared name
    assert tree.find("开发区院区 / 口腔正畸中心") == ["kfq_ortho"]


def test_a_department_field_reads_keys_paths_and_unique_names(ws: Workspace) -> None:
    table = ws.base("cases").table("cases")
    rec = table.create({"title": "x", "dept": "口腔种植中心", "helpers": "qc、开发区院区 / 口腔正畸中心"}, actor="admin")
    assert rec["fields"]["dept"] == "中山院区 / 口腔种植中心"
    assert rec["fields"]["helpers"] == ["质控部", "开发区院区 / 口腔正畸中心"]
    with pytest.raises(ValidationError, match="several departments"):
        table.create({"title": "y", "dept": "口腔正畸中心"}, actor="admin")  # which campus's?
    with pytest.raises(ValidationError, match="unknown department"):
        table.create({"title": "y", "dept": "放射科"}, actor="admin")
    with pytest.raises(ValidationError, match="unknown department"):
        table.create({"title": "y", "campus": "质控部"}, actor="admin")  # `kinds: [campus]`
    assert table.fields["campus"].options["options"] == ["中山院区", "开发区院区"]


def test_defaults_are_the_creators_department_and_campus(ws: Workspace) -> None:
    rec = ws.base("cases").table("cases").create({"title": "by wu"}, actor="wu")
    assert rec["fields"]["dept"] == "中山院区 / 口腔种植中心 / 种植一组"
    assert rec["fields"]["campus"] == "中山院区"


def test_row_rules_match_a_node_and_everything_below_it(ws: Workspace) -> None:
    assert titles(ws, "dir_main") == ["m-ortho", "m-team", "main"]  # the campus director: the whole campus
    assert titles(ws, "dir_kfq") == ["k-ortho"]  # ... and no other campus's
    assert titles(ws, "chen") == ["k-ortho", "m-ortho", "m-team", "main", "qc"]  # 质控部 reads all
    assert titles(ws, "ma") == ["k-ortho", "qc"]  # every node of hers
    assert titles(ws, "zhao") == ["m-team"]  # her department and its team


def test_filters_under_and_not_under(ws: Workspace) -> None:
    assert titles(ws, "admin", {"dept": {"under": "kfq"}}) == ["k-ortho"]
    assert titles(ws, "admin", {"dept": {"under": ["implant", "qc"]}}) == ["m-team", "qc"]
    assert titles(ws, "admin", {"dept": {"not_under": "main"}}) == ["k-ortho", "qc"]
    assert titles(ws, "admin", {"dept": "main"}) == ["main"]  # equality is the node itself
    assert titles(ws, "dir_main", {"dept": {"under": "$my_campus"}}) == ["m-ortho", "m-team", "main"]
    table = ws.base("cases").table("cases")
    table.create({"title": "helped", "dept": "qc", "helpers": ["种植一组"]}, actor="admin")
    assert titles(ws, "admin", {"helpers": {"under": "main"}}) == ["helped"]
    assert titles(ws, "admin", {"helpers": {"under": "kfq"}}) == []
    with pytest.raises(QueryError, match="not a department"):
        titles(ws, "admin", {"dept": {"under": "放射科"}})


def test_moving_a_person_takes_effect_at_once(ws: Workspace) -> None:
    assert titles(ws, "qian") == ["m-ortho"]
    assert people_db.move(ws.storage, "qian", "kfq_ortho", [])
    assert ws.actor("qian").campus == "kfq"
    assert titles(ws, "qian") == ["k-ortho"]
    rec = ws.base("cases").table("cases").create({"title": "new"}, actor="qian")
    assert rec["fields"]["campus"] == "开发区院区"


def _who(ws: Workspace, spec: Any, dept: str) -> list[str]:
    table = ws.base("cases").table("cases")
    rec = table.create({"title": "r", "dept": dept}, actor="admin")
    row = table.stored_row(rec["id"])
    found, _ = resolve(ws, spec, table, row)
    return sorted(p.key for p in found)


def test_recipients_head_of_the_department_in_a_field_and_everyone_in_it(ws: Workspace) -> None:
    assert _who(ws, "head:{dept}", "开发区院区 / 口腔正畸中心") == ["liu", "ma"]  # that campus's centre, no other
    assert _who(ws, "head:{dept}", "中山院区 / 口腔正畸中心") == ["qian"]
    assert _who(ws, "head:{dept}", "种植一组") == ["zhao"]
    assert _who(ws, "dept:{dept}", "kfq") == ["dir_kfq", "liu", "ma"]
    assert _who(ws, "dept:qc", "qc") == ["chen", "ma"]  # a second membership counts
    people_db.move(ws.storage, "liu", "ortho", [])
    assert _who(ws, "dept:{dept}", "kfq") == ["dir_kfq", "ma"]


@pytest.mark.parametrize(("change", "message"), [
    (("    name: 中山院区\n", "    name: 中山院区\n    parent: implant_team\n"),
     r"workspace.yaml:7:\d+: department 'main' is its own ancestor \(a cycle through main → implant_team → implant → main\)"),
    (("  qian: {name: 钱敏, department: ortho, roles: [staff]}", "  qian: {name: 钱敏, department: orth, roles: [staff]}"),
     "workspace.yaml:.*unknown department 'orth' for person 'qian'.*ortho"),
    (("departments: [qc, {node: kfq_ortho, primary: true}]", "department: qc, departments: [{node: kfq_ortho, primary: true}]"),
     "workspace.yaml:.*person 'ma' has two primary departments"),
    (("head: [liu, ma]", "head: [liu, nobody]"), "unknown person 'nobody' as head of department 'kfq_ortho'"),
])
def test_mistakes_in_the_tree_are_errors_at_their_line(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    assert change[0] in GROUP
    root = write_workspace(tmp_path / "bad", {"cases": CASES}, GROUP.replace(*change))
    with pytest.raises(ConfigError, match=message):
        load_workspace(root)


@pytest.mark.parametrize("rule", ["{dept: {under: 放射科}}", "{dept: 放射科}", "{dept: {in: [qc, 放射科]}}"])
def test_a_rule_naming_no_department_is_an_error_at_its_line(tmp_path: Path, rule: str) -> None:
    bad = CASES.replace("{access: read, rows: {dept: {under: $my_campus}}}", f"{{access: read, rows: {rule}}}")
    root = write_workspace(tmp_path / "bad", {"cases": bad}, GROUP)
    with pytest.raises(ConfigError, match=r"cases.yaml:14:\d+: '放射科' in .*unknown department '放射科'"):
        load_workspace(root)
