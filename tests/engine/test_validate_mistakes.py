"""`gridbase validate` catches the mistakes that used to fail at run time (issue 19 item 3).

Each mistake gives exactly one error, at the file, line and column of the bad value, naming
the value and how to fix it: a cron line that is no cron line, a template naming an unknown
field, a value that is not an option of its select field, a wrong key of a trigger (judged
against the trigger meant); and a mistake is not echoed by errors about what depends on it.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from automations.actions import RunContext
from engine.automation import TEMPLATE_VARIABLES
from gridbase.cli import main
from tests.engine.test_validate import VALID, at
from tests_support import WORKSPACE_YAML, write_workspace

SCHEDULE = """\
  daily:
    name: 日报
    when: {schedule: "CRON"}
    do:
      - notify: {to: ["role:handler"], title: 日报}
"""


def validate(tmp_path: Path, capsys: pytest.CaptureFixture[str], base: str, workspace: str = WORKSPACE_YAML) -> str:
    root = write_workspace(tmp_path / "ws", {"desk": base}, workspace)
    assert main(["validate", str(root)]) == 1
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "Traceback" not in output
    return output


def one_error(output: str) -> str:
    """The one error line of `output` (and that there is exactly one)."""
    assert "1 problem(s) found" in output, output
    [line] = [x for x in output.splitlines() if x.startswith("ws/")]
    return line


def with_schedule(cron: str) -> str:
    return VALID.replace("automations:\n", "automations:\n" + SCHEDULE.replace("CRON", cron), 1)


@pytest.mark.parametrize(("cron", "message", "hint"), [
    ("0 25 * * *", "its hour field '25' is not valid (the last value (25) is higher than the maximum value (23))",
     "the hour (0-23)"),
    ("every day at 9", "it has 4 field(s), a cron line has five", "five fields: minute hour day month weekday"),
    ("0 0 9 * * *", "it has 6 field(s) (a seconds field is not supported), a cron line has five", 'e.g. "0 9 * * 1"'),
    ("0 9 * 13 *", "its month field '13' is not valid", "the month (1-12 or jan-dec)"),
    ("0 9 * * 9", "its weekday field '9' is not valid", "the weekday (0-7, 0 and 7 are Sunday, or sun-sat)"),
])
def test_an_invalid_cron_line_names_the_field_that_is_wrong(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            cron: str, message: str, hint: str) -> None:
    text = with_schedule(cron)
    line = one_error(validate(tmp_path, capsys, text))
    row, col = at(text, f'"{cron}"')
    assert line.startswith(f"ws/bases/desk.yaml:{row}:{col}: schedule '{cron}' of automation 'daily' is not a valid cron line: "
                           f"{message}"), line
    assert hint in line


def test_a_template_naming_an_unknown_field_suggests_the_nearest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.replace("{{ record.title }}", "{{ record.titel }}")
    line = one_error(validate(tmp_path, capsys, text))
    row, col = at(text, '"新工单')
    assert line.startswith(f"ws/bases/desk.yaml:{row}:{col}: unknown field 'titel' in template of automation 'tell_owner' "
                           "(record.titel would be empty); did you mean record.title (标题)?"), line


def test_a_template_naming_a_field_by_its_name_is_told_to_use_the_key(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.replace("{{ record.title }}", "{{ record['标题'] }}")
    line = one_error(validate(tmp_path, capsys, text))
    assert "unknown field '标题' in template of automation 'tell_owner'" in line
    assert "write record.title: templates name fields by key" in line


def test_a_template_naming_the_record_of_a_trigger_without_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = with_schedule("0 9 * * 1").replace("title: 日报}", "title: \"{{ record.title }}\"}")
    line = one_error(validate(tmp_path, capsys, text))
    assert "template in automation 'daily' names record.title, but this trigger has no record" in line


@pytest.mark.parametrize("side", ["to", "from"])
def test_a_trigger_value_that_is_no_option_lists_the_options(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             side: str) -> None:
    text = VALID.replace("fields: [owner]}", f"fields: [status], {side}: 已完成}}")
    line = one_error(validate(tmp_path, capsys, text))
    row, col = at(text, "已完成")
    assert line.startswith(f"ws/bases/desk.yaml:{row}:{col}: '已完成' is not an option of field 'status' in automation "
                           "'tell_owner'; its options: 待受理, 处理中, 已办结"), line


@pytest.mark.parametrize(("flt", "needle"), [
    ("{status: 已完结}", "已完结"),
    ("{status: {neq: 已完结}}", "已完结"),
    ("{status: {in: [处理中, 已完结]}}", "已完结"),
])
def test_a_view_filter_value_that_is_no_option_lists_the_options(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                 flt: str, needle: str) -> None:
    text = VALID.replace("{status: {neq: 已办结}}", flt)
    line = one_error(validate(tmp_path, capsys, text))
    row, col = at(text, needle)
    assert line.startswith(f"ws/bases/desk.yaml:{row}:{col}: '已完结' is not an option of field 'status' in view 'open'; "
                           "did you mean '已办结'?; its options: 待受理, 处理中, 已办结"), line


def test_a_form_default_that_is_no_option_lists_the_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.replace("fields: [title, amount]", "fields: [title, {field: status, default: 待处理}]")
    line = one_error(validate(tmp_path, capsys, text))
    row, col = at(text, "待处理")
    assert line.startswith(f"ws/bases/desk.yaml:{row}:{col}: '待处理' is not an option of field 'status' in form 'report'"), line
    assert "its options: 待受理, 处理中, 已办结" in line


def test_an_update_action_value_that_is_no_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.replace('title: "新工单：{{ record.title }}"}', 'title: 新工单}\n      - update: {status: 已关闭}')
    line = one_error(validate(tmp_path, capsys, text))
    row, col = at(text, "已关闭")
    assert line.startswith(f"ws/bases/desk.yaml:{row}:{col}: '已关闭' is not an option of field 'status' in automation "
                           "'tell_owner'"), line


def test_an_unknown_key_is_judged_against_the_trigger_meant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.replace("fields: [owner]}", "fields: [owner], update: status}")
    line = one_error(validate(tmp_path, capsys, text))
    row, col = at(text, "update: status")
    assert line == (f"ws/bases/desk.yaml:{row}:{col}: unknown key 'update' of the updated trigger in "
                    "automations/tell_owner/when; did you mean 'updated'?; the updated trigger takes: updated, fields, "
                    "to, from (see docs/yaml-reference.md#trigger_updated-base)"), line
    assert "Additional properties" not in line and "trigger_created" not in line


def test_a_bad_value_is_judged_against_the_trigger_meant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.replace("when: {updated: tickets, fields: [owner]}", "when: {date: tickets, field: received, offset: -7days}")
    line = one_error(validate(tmp_path, capsys, text))
    row, col = at(text, "-7days")
    assert line.startswith(f"ws/bases/desk.yaml:{row}:{col}: automations/tell_owner/when/offset (the date trigger): "
                           "'-7days' is not in the expected form; for example: -3d, 1d, 0d"), line
    assert "trigger_date" in line


def test_a_misspelt_trigger_is_one_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.replace("when: {updated: tickets", "when: {update: tickets")
    line = one_error(validate(tmp_path, capsys, text))
    assert "unknown trigger 'update' in automations/tell_owner/when; did you mean 'updated'?" in line


def test_two_triggers_in_one_when(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.replace("fields: [owner]}", "created: tickets}")
    line = one_error(validate(tmp_path, capsys, text))
    assert "automations/tell_owner/when names 2 triggers (updated, created); it takes exactly one" in line


def test_a_date_trigger_on_a_field_that_is_no_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.replace("when: {updated: tickets, fields: [owner]}", "when: {date: tickets, field: title}")
    line = one_error(validate(tmp_path, capsys, text))
    assert "field 'title' of automation 'tell_owner' is not a date or datetime field" in line


def test_a_field_type_typo_is_one_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.replace("type: text, name: 标题", "type: txt, name: 标题")  # title is the primary, in a view and a form
    line = one_error(validate(tmp_path, capsys, text))
    assert "unknown field type 'txt' for field 'title'; did you mean 'text'?" in line


def test_a_bad_channel_option_does_not_make_roles_unknown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace = WORKSPACE_YAML + "channels:\n  mail: {type: email, host: smtp.example.org, sender: a@example.org, ssl: true}\n"
    line = one_error(validate(tmp_path, capsys, VALID, workspace))
    row, col = at(workspace, "ssl")
    assert line.startswith(f"ws/workspace.yaml:{row}:{col}: unknown key 'ssl' in channels/mail; it takes: type, host, port, "
                           "sender, starttls, username, password_env"), line


def test_the_checks_pass_a_good_workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = with_schedule("*/15 8-18 * * mon-fri").replace(
        "fields: [owner]}", "fields: [status], to: 处理中, from: 待受理}").replace(
        "fields: [title, amount]", "fields: [title, {field: status, default: 处理中}]")
    root = write_workspace(tmp_path / "ws", {"desk": text})
    assert main(["validate", str(root)]) == 0, capsys.readouterr()


def test_a_misspelt_required_channel_option_is_one_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace = WORKSPACE_YAML + "channels:\n  mail: {type: email, host: smtp.example.org, sender_name: a@example.org}\n"
    line = one_error(validate(tmp_path, capsys, VALID, workspace))
    row, col = at(workspace, "sender_name")
    assert line.startswith(f"ws/workspace.yaml:{row}:{col}: unknown key 'sender_name' in channels/mail; did you mean 'sender'?"), line


@pytest.mark.parametrize(("template", "message"), [
    ("{{ titel }}", "unknown variable 'titel' in template of automation 'tell_owner' (it would be empty); "
                    "templates know: record, record_id"),
    ("{{ title }}", "unknown variable 'title' in template of automation 'tell_owner' (it would be empty); a field is record.title"),
    ("{{ recrod.title }}", "unknown variable 'recrod' in template of automation 'tell_owner' (it would be empty); "
                           "did you mean 'record'?"),
])
def test_a_template_reading_an_unknown_variable(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                template: str, message: str) -> None:
    text = VALID.replace("{{ record.title }}", template)
    line = one_error(validate(tmp_path, capsys, text))
    assert message in line, line


def test_templates_may_use_every_variable_a_run_gives() -> None:
    """The names validate accepts are the names a run's templates get (automations.actions.RunContext,
    whose `variables`, `variables_as`, `group_variables` and `least_variables` all build them in `_variables`)."""
    source = inspect.getsource(RunContext._variables)
    given = set(re.findall(r'"(\w+)":', source)) | {"count"}
    assert given == set(TEMPLATE_VARIABLES)
