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
