"""A field grant's `options`: which options of a select a role may set (a complaint that only
quality control may close). Enforced in the engine's one write path, single and bulk; roles
combine to the union; admins, automations and roles without a list may set any; `validate`
names an option that is not one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine import Workspace
from engine.errors import ValidationError
from gridbase.cli import main
from tests_support import WORKSPACE_YAML, write_workspace

pytestmark = pytest.mark.stores

DESK = """\
base: desk
name: 投诉
tables:
  cases:
    name: 投诉
    primary: title
    fields:
      title: {type: text, name: 标题}
      status: {type: single_select, name: 状态, options: [待受理, 处理中, 待审核, 已办结], default: 待受理}
      tags: {type: multi_select, name: 标签, options: [急, 慢, 归档]}
roles:
  handler:
    cases:
      access: edit
      fields:
        status: {access: edit, options: [处理中, 待审核]}
        tags: {access: edit, options: [急, 慢]}
  viewer:
    cases:
      access: edit
      fields:
        status: {access: edit, options: [待受理]}
"""

MORE_ROLES = WORKSPACE_YAML.replace("  li: {name: 李四, roles: [handler]", "  li: {name: 李四, roles: [handler, viewer]")


def _desk(make_workspace: Callable[..., Workspace], workspace: str = WORKSPACE_YAML) -> Workspace:
    return make_workspace({"desk": DESK}, workspace)


def test_a_role_sets_only_its_options_and_is_told_which_it_may_not(make_workspace: Callable[..., Workspace]) -> None:
    cases = _desk(make_workspace).base("desk").table("cases")
    rid = cases.create({"title": "候诊太久"}, actor="boss")["id"]
    assert cases.update(rid, {"status": "处理中"}, actor="boss")["fields"]["status"] == "处理中"
    with pytest.raises(ValidationError) as refused:
        cases.update(rid, {"status": "已办结"}, actor="boss")
    assert str(refused.value.errors["status"]) == "状态: you may not set it to '已办结'"
    with pytest.raises(ValidationError):
        cases.update(rid, {"tags": ["急", "归档"]}, actor="boss")  # one option of a list is enough to refuse
    assert cases.get(rid, actor="admin")["fields"]["status"] == "处理中"  # nothing of the refused writes stored
    assert cases.update(rid, {"tags": ["急"], "status": "待审核"}, actor="boss")["fields"]["tags"] == ["急"]


def test_admins_and_automations_set_any_option(make_workspace: Callable[..., Workspace]) -> None:
    cases = _desk(make_workspace).base("desk").table("cases")
    rid = cases.create({"title": "收费有误"}, actor="boss")["id"]
    assert cases.update(rid, {"status": "已办结"}, actor="admin")["fields"]["status"] == "已办结"
    assert cases.update(rid, {"status": "待受理"}, actor="automation:desk.reopen")["fields"]["status"] == "待受理"
    cases.update(rid, {"status": "已办结", "tags": ["归档"]}, actor="admin")
    # A form sent whole keeps what it cannot set as it is: the handler may still fix the title.
    done = cases.update(rid, {"title": "收费有误（已退费）", "status": "已办结", "tags": ["归档"]}, actor="boss")
    assert done["fields"]["title"] == "收费有误（已退费）" and done["fields"]["status"] == "已办结"


def test_roles_combine_to_the_union_of_their_options(make_workspace: Callable[..., Workspace]) -> None:
    cases = _desk(make_workspace, MORE_ROLES).base("desk").table("cases")
    rid = cases.create({"title": "态度"}, actor="li")["id"]
    for status in ("处理中", "待受理", "待审核"):
        assert cases.update(rid, {"status": status}, actor="li")["fields"]["status"] == status
    with pytest.raises(ValidationError):
        cases.update(rid, {"status": "已办结"}, actor="li")


def test_a_bulk_import_is_held_to_the_same_options(make_workspace: Callable[..., Workspace]) -> None:
    cases = _desk(make_workspace).base("desk").table("cases")
    rows = [{"title": "一", "status": "处理中"}, {"title": "二", "status": "已办结"}]
    result = cases.import_rows(rows, actor="boss", skip_invalid=True)
    assert len(result.ids) == 1
    [(number, errors)] = result.rejected
    assert number == 2 and "已办结" in str(errors["status"])


def test_validate_names_an_option_that_is_not_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_workspace(tmp_path / "ws", {"desk": DESK.replace("options: [处理中, 待审核]", "options: [处理中, 已完结]")})
    assert main(["validate", str(root)]) == 1
    output = capsys.readouterr()
    text = output.out + output.err
    assert "'已完结' is not an option of field 'status'" in text and "已办结" in text  # did you mean
    root = write_workspace(tmp_path / "ws2", {"desk": DESK.replace("title: {type: text, name: 标题}", "title: {type: text, name: 标题}\n      note: {type: text, name: 备注}").replace(
        "        tags: {access: edit, options: [急, 慢]}", "        tags: {access: edit, options: [急, 慢]}\n        note: {access: edit, options: [甲]}")})
    assert main(["validate", str(root)]) == 1
    output = capsys.readouterr()
    assert "options in role 'handler' limit a single or multiple select; 'note' is a" in output.out + output.err
