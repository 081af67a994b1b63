"""A mask is not undone by the fields beside it (issue 17, item 5).

An ID number's mask showed its first 2 and last 4 characters while the same roles saw the
birth date and sex, which are digits 7–14 and 17 of it: the number was among ~1.8 candidates.
Now the mask shows the last 4 at most; a field declares what it `embeds`, and `gridbase
validate` warns when a role (or a person's roles together) sees it masked beside those fields
unmasked. The dental example declares it and gives no such warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.loader import load_workspace
from gridbase.cli import main
from tests_support import DENTAL, write_workspace

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

WORKSPACE = """\
workspace: clinic
name: Clinic
roles:
  admin: {name: admin, admin: true}
  front: {name: 前台}
  doctor: {name: 医生}
  lab: {name: 检验}
people:
  admin: {name: Admin, roles: [admin]}
  li: {name: 李四, roles: [doctor, lab]}
"""
BASE = """\
base: people
name: 人员
tables:
  members:
    name: 成员
    primary: name
    fields:
      name: {type: text, name: 姓名}
      card: {type: text, name: 证件号, embeds: [born, sex]}
      born: {type: date, name: 出生日期}
      sex: {type: single_select, name: 性别, options: [男, 女]}
roles:
  front:                       # masked card beside the birth date: warned
    members:
      access: read
      fields:
        card: {access: read, mask: id_number}
  doctor:                      # masked card, no birth date or sex: fine alone
    members:
      access: read
      fields:
        card: {access: read, mask: id_number}
        born: none
        sex: none
  lab:                         # birth date, no card: fine alone, but li has doctor + lab
    members:
      access: read
      fields:
        card: none
"""


def _validate(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["validate", str(root)])
    captured = capsys.readouterr()
    return code, [line for line in (captured.out + captured.err).splitlines() if "warning:" in line]


def test_validate_warns_of_a_masked_identifier_beside_what_it_embeds(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = write_workspace(tmp_path / "clinic", {"people": BASE}, WORKSPACE)
    code, warnings = _validate(root, capsys)
    assert code == 0, warnings  # a warning does not stop the workspace
    front = [w for w in warnings if "role 'front'" in w]
    assert len(front) == 1 and "'card'" in front[0] and "'born'" in front[0] and "'sex'" in front[0], warnings
    assert "people.yaml:" in front[0]
    assert not [w for w in warnings if "role 'doctor'" in w or "role 'lab'" in w], warnings
    # li's two roles together see the masked card and the birth date.
    assert [w for w in warnings if "doctor + lab" in w and "'li'" in w], warnings
    # A full mask shows nothing to combine: no warning.
    full = BASE.replace("  front:                       # masked card beside the birth date: warned\n    members:\n"
                        "      access: read\n      fields:\n        card: {access: read, mask: id_number}",
                        "  front:\n    members:\n      access: read\n      fields:\n        card: {access: read, mask: full}")
    root = write_workspace(tmp_path / "clinic2", {"people": full}, WORKSPACE)
    assert not [w for w in _validate(root, capsys)[1] if "role 'front'" in w]
    assert load_workspace(root).warnings  # li's combination is still there


def test_embeds_must_name_fields_of_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_workspace(tmp_path / "clinic", {"people": BASE.replace("embeds: [born, sex]", "embeds: [bron]")},
                           WORKSPACE)
    assert main(["validate", str(root)]) == 1
    assert "did you mean 'born'" in capsys.readouterr().err


def test_the_example_declares_what_the_id_number_embeds_and_gets_no_warning(capsys: pytest.CaptureFixture[str]) -> None:
    config = load_workspace(DENTAL)
    fields = config.bases["patients"].tables["patients"].fields
    assert set(fields["id_number"].options.get("embeds", [])) >= {"birth_date", "gender"}
    code, warnings = _validate(DENTAL, capsys)
    assert code == 0 and warnings == []


@pytest.mark.parametrize("role", ["director", "dept_head", "doctor", "consultant"])
def test_roles_that_see_birth_date_and_sex_see_no_part_of_the_id_number(env: Any, role: str) -> None:
    p1 = env.records["P1"]
    access = env.access(role, "patients", "patients")
    assert access.readable("birth_date") and access.readable("gender")
    assert not access.readable("id_number") or access.mask("id_number") == "full"
    page = env.web(role).get(f"/b/patients/t/patients/r/{p1}").text
    api = env.api(role).get(f"/v0/patients/patients/{p1}").text
    for text in (page, api):
        assert "5678" not in text and "2102" not in text, role  # no part of 2102MKRIDNAQXY5678
