"""`gridbase validate`: every problem, as FILE:LINE:COL: message, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridbase.cli import main
from tests_support import DENTAL, WORKSPACE_YAML, write_workspace

VALID = """\
base: desk
name: 服务台
tables:
  tickets:
    name: 工单
    primary: title
    fields:
      title: {type: text, name: 标题, required: true}
      status: {type: single_select, name: 状态, options: [待受理, 处理中, 已办结], default: 待受理}
      owner: {type: person, name: 负责人}
      amount: {type: number, name: 金额}
      received: {type: datetime, name: 受理时间, default: $now}
      due: {type: formula, name: 时限, formula: "DATEADD({received}, 3, 'days')"}
      customer: {type: link, name: 客户, table: customers, inverse: tickets}
      customer_name: {type: lookup, name: 客户名, link: customer, field: name}
      files: {type: attachment, name: 附件}
    views:
      open: {type: grid, name: 未办结, fields: [title, status], filter: {status: {neq: 已办结}}, sort: [-received]}
      board: {type: kanban, name: 看板, group_by: status}
      cal: {type: calendar, name: 日历, date_field: received}
    forms:
      report: {name: 登记, fields: [title, amount], prefill: {status: 待受理}, submitter: owner}
  customers:
    name: 客户
    primary: name
    fields:
      name: {type: text, name: 姓名}
      total: {type: rollup, name: 合计, link: tickets, field: amount, function: sum}
roles:
  handler:
    tickets: {access: edit, edit_rows: {owner: $me}, fields: {amount: read}}
dashboards:
  main:
    name: 概览
    widgets:
      - {type: number, title: 总数, table: tickets}
      - {type: bar, title: 按状态, table: tickets, group_by: status}
automations:
  tell_owner:
    name: 通知负责人
    when: {updated: tickets, fields: [owner]}
    do:
      - notify: {to: ["{owner}", "dept:qc", "role:handler"], title: "新工单：{{ record.title }}"}
"""


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], base: str | None, workspace: str = WORKSPACE_YAML,
        raw_files: dict[str, bytes] | None = None) -> tuple[int, str]:
    root = write_workspace(tmp_path / "ws", {"desk": base} if base is not None else {}, workspace)
    for name, data in (raw_files or {}).items():
        (root / name).write_bytes(data)
    code = main(["validate", str(root)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def at(text: str, needle: str, nth: int = 1) -> tuple[int, int]:
    index = -1
    for _ in range(nth):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, col


def test_valid_workspace_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(tmp_path, capsys, VALID)
    assert code == 0, output
    assert output.startswith("ok:")


def test_dental_example_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(DENTAL)]) == 0, capsys.readouterr().err


# (description, old text, new text, needle for the position (in the new text), expected message part)
CASES = [
    ("unknown field type", "type: text, name: 标题", "type: txt, name: 标题", "txt", "unknown field type 'txt' for field 'title'; did you mean 'text'?"),
    ("view names unknown field", "fields: [title, status]", "fields: [title, stauts]", "stauts]", "unknown field 'stauts' in view 'open'; did you mean 'status'?"),
    ("sort names unknown field", "sort: [-received]", "sort: [-recieved]", "-recieved", "unknown field 'recieved' in view 'open'; did you mean 'received'?"),
    ("filter names unknown field", "filter: {status: {neq", "filter: {state: {neq", "state:", "unknown field 'state' in view 'open'"),
    ("filter unknown operator", "{neq: 已办结}", "{nq: 已办结}", "nq:", "unknown operator 'nq' in tables/tickets/views/open/filter/status; did you mean 'neq'?"),
    ("operator wrong for type", "filter: {status: {neq: 已办结}}", "filter: {status: {gt: 3}, amount: {contains: x}}", "contains", "operator 'contains' does not apply to number field 'amount'"),
    ("kanban groups by non-select", "group_by: status", "group_by: amount", "amount}", "kanban view 'board' must group by a single_select or person field"),
    ("calendar on non-date", "date_field: received", "date_field: title", "title}", "date_field 'title' of view 'cal' is not a date or datetime field"),
    ("primary unknown", "primary: title", "primary: titel", "titel", "unknown field 'titel' as primary of table 'tickets'; did you mean 'title'?"),
    ("link to unknown table", "table: customers, inverse", "table: customer, inverse", "customer, inverse", "unknown table 'customer' in link field 'customer'; did you mean 'customers'?"),
    ("lookup through non-link", "link: customer, field: name}", "link: owner, field: name}", "owner, field", "field 'owner' used by lookup 'customer_name' is a person, not a link"),
    ("lookup unknown remote field", "link: customer, field: name}", "link: customer, field: nam}", "nam}", "unknown field 'nam' in lookup field 'customer_name'; did you mean 'name'?"),
    ("rollup unknown remote field", "field: amount, function: sum", "field: amout, function: sum", "amout", "unknown field 'amout' in rollup field 'total'; did you mean 'amount'?"),
    ("formula unknown field", "DATEADD({received}, 3, 'days')", "DATEADD({recieved}, 3, 'days')", "\"DATEADD", "formula of field 'due': unknown field {recieved}; did you mean 'received'?"),
    ("formula syntax error", "DATEADD({received}, 3, 'days')", "DATEADD({received}, 3, 'days'", "\"DATEADD", "formula of field 'due':"),
    ("form unknown field", "fields: [title, amount]", "fields: [title, amont]", "amont", "unknown field 'amont' in form 'report'; did you mean 'amount'?"),
    ("form computed field", "fields: [title, amount]", "fields: [title, due]", "due]", "field 'due' in form 'report' is computed and cannot be filled in"),
    ("form prefill bad option", "prefill: {status: 待受理}", "prefill: {status: 已删除}", "已删除", "prefill of 'status' in form 'report' is invalid: expected one of: 待受理, 处理中, 已办结"),
    ("form submitter not person", "submitter: owner", "submitter: title", "title}", "submitter field 'title' of form 'report' must be a person field"),
    ("role unknown", "  handler:\n    tickets", "  handlr:\n    tickets", "handlr", "unknown role 'handlr'; did you mean 'handler'?"),
    ("role unknown table", "    tickets: {access: edit", "    tikets: {access: edit", "tikets", "unknown table 'tikets' in role 'handler'; did you mean 'tickets'?"),
    ("role unknown field", "fields: {amount: read}", "fields: {amnt: read}", "amnt", "unknown field 'amnt' in role 'handler'"),
    ("dashboard unknown table", "table: tickets, group_by", "table: ticket, group_by", "ticket, group_by", "unknown table 'ticket' in dashboard 'main'; did you mean 'tickets'?"),
    ("dashboard unknown group", "group_by: status}\nautomations", "group_by: stat}\nautomations", "stat}", "unknown field 'stat' in dashboard 'main'; did you mean 'status'?"),
    ("automation unknown table", "when: {updated: tickets", "when: {updated: tickts", "tickts", "unknown table 'tickts' in automation 'tell_owner'; did you mean 'tickets'?"),
    ("automation unknown field", "fields: [owner]}", "fields: [ownr]}", "ownr", "unknown field 'ownr' in automation 'tell_owner'; did you mean 'owner'?"),
    ("recipient unknown dept", "\"dept:qc\"", "\"dept:qcc\"", "\"dept:qcc\"", "unknown department 'qcc' in automation 'tell_owner'; did you mean 'qc'?"),
    ("recipient head without one", "\"dept:qc\"", "\"head:ortho\"", "\"head:ortho\"", "department 'ortho' in automation 'tell_owner' has no head"),
    ("recipient departments from a field without them", "\"dept:qc\"", "\"head:{status}\"", "\"head:{status}\"", "no option of field 'status' names a department, so head:{status} in automation 'tell_owner' could never reach anyone"),
    ("recipient unknown role", "\"role:handler\"", "\"role:boss\"", "\"role:boss\"", "unknown role 'boss' in automation 'tell_owner'"),
    ("recipient not a person field", "\"{owner}\"", "\"{title}\"", "\"{title}\"", "recipient field 'title' in automation 'tell_owner' is a text, not a person field"),
    ("template syntax error", "title: \"新工单：{{ record.title }}\"", "title: \"新工单：{{ record.title }\"", "\"新工单：{{ record.title }\"", "template error in automation 'tell_owner'"),
    ("default for wrong type", "received: {type: datetime, name: 受理时间, default: $now}", "received: {type: datetime, name: 受理时间, default: $me}", "$me", "default '$me' cannot be used for a datetime field"),
    ("bad default value", "default: 待受理}", "default: 已删除}", "已删除}", "default of field 'status' is invalid: expected one of"),
    ("cycle of formulas", "      amount: {type: number, name: 金额}", "      amount: {type: formula, name: 金额, formula: \"{a2} + 1\"}\n      a2: {type: formula, name: a2, formula: \"{amount} * 2\"}", "amount: {type: formula", "computed fields form a cycle: tickets.amount → tickets.a2 → tickets.amount"),
    ("misspelled field key", "{type: text, name: 标题, required: true}", "{type: text, name: 标题, requird: true}", "requird", "unknown key 'requird' in tables/tickets/fields/title; did you mean 'required'?"),
    ("misspelled table key", "    primary: title", "    primery: title", "primery", "unknown key 'primery' in tables/tickets; did you mean 'primary'?"),
    ("view type", "{type: grid, name: 未办结", "{type: grd, name: 未办结", "grd, name", "unknown view type 'grd' for view 'open'; did you mean 'grid'?"),
    ("wrong value type", "required: true}", "required: maybe}", "maybe", "tables/tickets/fields/title/required: 'maybe' is not of type 'boolean'"),
    ("filter variable", "filter: {status: {neq: 已办结}}", "filter: {owner: $mee}", "$mee", "unknown variable '$mee' in view 'open'; did you mean '$me'?"),
]


@pytest.mark.parametrize(("old", "new", "needle", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_base_is_reported_at_its_position(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 old: str, new: str, needle: str, message: str) -> None:
    assert old in VALID
    text = VALID.replace(old, new, 1)
    code, output = run(tmp_path, capsys, text)
    assert code == 1
    line, col = at(text, needle)
    expected = f"ws/bases/desk.yaml:{line}:{col}: {message}"
    assert expected in output, output
    assert "Traceback" not in output


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.replace("fields: [title, status]", "fields: [titl, stat]").replace("group_by: status", "group_by: amount")
    code, output = run(tmp_path, capsys, text)
    assert code == 1
    assert "unknown field 'titl'" in output and "unknown field 'stat'" in output and "kanban view 'board'" in output
    assert "3 problem(s) found" in output


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "ws/bases/desk.yaml:1:1: file is empty"),
    (b"- just\n- a list\n", "ws/bases/desk.yaml:1:1: file must be a mapping of keys, not a list"),
    (b"base: desk\ntables: {a: [1, 2}\n", "ws/bases/desk.yaml:2:18: YAML syntax error"),
    (b"base: desk\n  name: x\n", "ws/bases/desk.yaml:2:7: YAML syntax error"),
    (b"base: desk\nbase: again\n", "ws/bases/desk.yaml:2:1: duplicate key 'base'"),
    (b"\xff\xfe garbage", "ws/bases/desk.yaml:1:1: file is not UTF-8 text"),
    (b"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
     b"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e]\n",
     "too many aliases"),
])
def test_unreadable_files_get_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, expected: str) -> None:
    code, output = run(tmp_path, capsys, None, raw_files={"bases/desk.yaml": content})
    assert code == 1
    assert expected in output, output
    assert "Traceback" not in output


def test_workspace_references_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace = WORKSPACE_YAML.replace("roles: [handler], department: ortho", "roles: [handlr], department: orto")
    code, output = run(tmp_path, capsys, VALID, workspace)
    assert code == 1
    line, col = at(workspace, "orto")
    assert f"ws/workspace.yaml:{line}:{col}: unknown department 'orto' for person 'li'; did you mean 'ortho'?" in output
    line, col = at(workspace, "handlr")
    assert f"ws/workspace.yaml:{line}:{col}: unknown role 'handlr' for person 'li'; did you mean 'handler'?" in output


def test_missing_folder_and_missing_workspace_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope")]) == 1
    assert "no such workspace folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["validate", str(tmp_path / "empty")]) == 1
    assert "workspace.yaml is missing; run `gridbase init DIR` to make one" in capsys.readouterr().err
