"""`gridbase validate` checks the control steps (if, find, for_each, delete, wait) and the steps
nested in them at their own lines: one clear error each, at file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridbase.cli import main
from tests.engine.test_validate import VALID, at
from tests_support import WORKSPACE_YAML, write_workspace

STEPS = """\
  flow:
    name: 流程
    when: {created: tickets}
    do:
      - if:
          filter: {status: 处理中}
          then:
            - update: {amount: 1}
          else:
            - notify: {to: "{owner}", title: "{{ record.title }}"}
      - find: {table: customers, filter: {name: 张三}, as: same}
      - for_each:
          in: same
          do:
            - delete: {record: "{{ item.id }}"}
      - wait: {until: received}
      - update: {status: 已办结}
"""


def validate(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> tuple[int, str]:
    root = write_workspace(tmp_path / "ws", {"desk": text}, WORKSPACE_YAML)
    code = main(["validate", str(root)])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "Traceback" not in output
    return code, output


def with_steps(old: str = "", new: str = "") -> str:
    return VALID.replace("automations:\n", "automations:\n" + STEPS.replace(old, new, 1), 1)


def one_error(output: str) -> str:
    assert "1 problem(s) found" in output, output
    [line] = [x for x in output.splitlines() if x.startswith("ws/")]
    return line


def test_the_steps_as_written_are_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = validate(tmp_path, capsys, with_steps())
    assert code == 0, output


@pytest.mark.parametrize(("old", "new", "needle", "words"), [
    # a field in a branch's filter
    ("filter: {status: 处理中}", "filter: {statu: 处理中}", "statu:", "unknown field 'statu'"),
    # a field a nested step writes
    ("update: {amount: 1}", "update: {amont: 1}", "amont", "unknown field 'amont'"),
    # a template variable in a nested step
    ('"{{ record.title }}"', '"{{ recrod.title }}"', '"{{ recrod', "unknown variable 'recrod'"),
    # `item` outside a for_each
    ('"{{ record.title }}"', '"{{ item.title }}"', '"{{ item.title', "unknown variable 'item'"),
    # the table find searches
    ("table: customers", "table: custmers", "custmers", "unknown table 'custmers'"),
    # a field of the found table
    ("filter: {name: 张三}", "filter: {nam: 张三}", "nam:", "unknown field 'nam'"),
    # a template of a step nested in a loop (an unknown jinja2 filter)
    ('delete: {record: "{{ item.id }}"}', 'delete: {record: "{{ item.id | x }}"}', '"{{ item.id | x', "template error"),
    # wait until a field that is no date
    ("wait: {until: received}", "wait: {until: title}", "title}", "not a date"),
    # a wait nested in a branch
    ("update: {amount: 1}", "wait: {for: 1d}", "{for: 1d}", "may only be a step of do: itself"),
])
def test_a_bad_step_is_one_error_at_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             old: str, new: str, needle: str, words: str) -> None:
    text = with_steps(old, new)
    code, output = validate(tmp_path, capsys, text)
    line = one_error(output)
    row, col = at(text, needle, 1 if needle != "title}" else text.count("title}"))
    assert line.startswith(f"ws/bases/desk.yaml:{row}:{col}: "), (line, row, col)
    assert words in line, line


def test_a_wait_for_that_is_no_duration_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = with_steps("wait: {until: received}", 'wait: {for: "2 days"}')
    code, output = validate(tmp_path, capsys, text)
    line = one_error(output)
    row, _ = at(text, '"2 days"')
    assert line.startswith(f"ws/bases/desk.yaml:{row}:"), line
    assert "2 days" in line


APPROVAL = """\
  close:
    name: 结案审批
    when: {updated: tickets, fields: [status], to: 处理中}
    do:
      - approval:
          approvers: [{field: owner}, {role: handler}, {head: qc}]
          mode: sequence
          title: "请审批：{{ record.title }}"
          timeout: 2d
          on_approve:
            - update: {status: 已办结}
          on_reject:
            - notify: {to: "{owner}", title: "驳回：{{ approval.comment }}"}
"""


def with_approval(old: str = "", new: str = "") -> str:
    return VALID.replace("automations:\n", "automations:\n" + APPROVAL.replace(old, new, 1), 1)


def test_the_approval_step_as_written_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = validate(tmp_path, capsys, with_approval())
    assert code == 0, output


@pytest.mark.parametrize(("old", "new", "needle", "words"), [
    ("{field: owner}", "{field: ownr}", "ownr", "unknown field 'ownr'"),
    ("{field: owner}", "{field: title}", "title}", "not a person field"),
    ("{role: handler}", "{role: handlr}", "handlr", "unknown role 'handlr'"),
    ("{head: qc}", "{head: qcc}", "qcc", "unknown department 'qcc'"),
    ("timeout: 2d", "timeout: soon", "soon", "soon"),
    ("mode: sequence", "mode: all", "all", "sequence"),
    ("update: {status: 已办结}", "update: {statu: 已办结}", "statu:", "unknown field 'statu'"),
    ('"驳回：{{ approval.comment }}"', '"驳回：{{ aproval.comment }}"', '"驳回', "unknown variable 'aproval'"),
    ('"驳回：{{ approval.comment }}"', '"驳回：{{ item.title }}"', '"驳回', "unknown variable 'item'"),
])
def test_a_bad_approval_is_one_error_at_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 old: str, new: str, needle: str, words: str) -> None:
    text = with_approval(old, new)
    code, output = validate(tmp_path, capsys, text)
    line = one_error(output)
    row, _ = at(text, needle, 1 if needle != "title}" else text.count("title}"))
    assert line.startswith(f"ws/bases/desk.yaml:{row}:"), (line, row)
    assert words in line, line


def test_an_approval_nested_in_a_branch_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = with_steps("update: {amount: 1}", "approval: {approvers: {role: handler}}")
    code, output = validate(tmp_path, capsys, text)
    assert "may only be a step of do: itself" in one_error(output)


def test_an_approval_needs_a_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = with_approval("when: {updated: tickets, fields: [status], to: 处理中}", 'when: {schedule: "0 9 * * 1"}')
    code, output = validate(tmp_path, capsys, text)
    assert "needs a record" in output and code != 0, output


def test_a_loop_in_an_approval_branch_sees_both_item_and_approval(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    loop = ('for_each: {in: found, do: [{notify: {to: "{owner}", title: "{{ item.title }} {{ approval.comment }}"}}]}')
    text = with_approval("update: {status: 已办结}", loop)
    code, output = validate(tmp_path, capsys, text)
    assert code == 0, output
    bad = with_approval("update: {status: 已办结}", loop.replace("item.title", "iten.title"))
    code, output = validate(tmp_path, capsys, bad)
    assert "unknown variable 'iten'" in one_error(output)
