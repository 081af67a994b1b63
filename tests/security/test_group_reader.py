"""A group chat is told only what its reader may read (engine.groupreader, automations.actions).

One message goes to a whole Feishu/WeCom/DingTalk group or webhook, whose members Gridbase does
not know; it is rendered as the channel's `as_person:` or `as_role:` would read the record, or,
left out, as every role reading the table sees it alike (masked where any role masks, left out
where any role may not read). A reader who may not read the record gets nothing posted. The
options are checked when the workspace loads, with a clear error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from automations import process_pending
from engine import Workspace, deliveries
from engine.errors import ConfigError
from engine.loader import load_workspace
from tests_support import write_workspace

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

WORKSPACE = """\
workspace: clinic
name: Clinic
timezone: Asia/Shanghai
roles:
  admin: {{name: Admin, admin: true}}
  nurse: {{name: Nurse}}
  front: {{name: Front desk}}
  own: {{name: Own patients}}
people:
  admin: {{name: Admin, roles: [admin]}}
  wang: {{name: 王芳, roles: [nurse]}}
  li: {{name: 李四, roles: [front]}}
channels:
  least: {{type: webhook, url: "https://hooks.example.org/least"}}
  nurses: {{type: webhook, url: "https://hooks.example.org/nurses", as_role: nurse}}
  desk: {{type: webhook, url: "https://hooks.example.org/desk", as_person: li}}
  own: {{type: webhook, url: "https://hooks.example.org/own", as_role: own}}
  mail: {{type: email, host: 127.0.0.1, port: 25, sender: gridbase@example.org}}
{extra}"""

BASE = """\
base: care
name: Care
tables:
  patients:
    name: Patients
    primary: name
    fields:
      name: {type: text, name: 姓名}
      phone: {type: phone, name: 手机}
      diagnosis: {type: text, name: 诊断}
      owner: {type: person, name: 负责人}
      contact: {type: email, name: 联系邮箱}
roles:
  nurse:
    patients: {access: read}
  front:
    patients: {access: read, fields: {phone: {access: read, mask: phone}, diagnosis: none}}
  own:
    patients: {access: read, rows: {owner: $me}}
automations:
  tell:
    when: {created: patients}
    do:
      - notify: {to: "person:wang", title: "新患者 {{ record.name }}",
                 message: "手机 {{ record.phone }} 诊断 {{ record.diagnosis }}", channels: [least, nurses, desk, own]}
      - email: {to: "{contact}", subject: "患者 {{ record.name }}",
                body: "手机 {{ record.phone }} 诊断 {{ record.diagnosis }}"}
"""


def posted(ws: Workspace) -> dict[str, str]:
    """Each group channel's queued message: title and body."""
    out = {}
    for row in deliveries.listed(ws.storage):
        if row["person"] is None:
            message = json.loads(row["payload"])["message"]
            out[row["channel"]] = f"{message['title']} | {message['body']}"
    return out


@pytest.fixture
def clinic(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace({"care": BASE}, WORKSPACE.format(extra=""))


def test_each_group_reads_as_its_reader(clinic: Workspace) -> None:
    clinic.base("care").table("patients").create(
        {"name": "赵六", "phone": "13812345678", "diagnosis": "牙周炎", "owner": "wang",
         "contact": "outsider@example.com"}, actor="admin")
    result = process_pending(clinic)
    assert result is not None
    got = posted(clinic)
    # as_role nurse: everything a nurse reads
    assert got["nurses"] == "新患者 赵六 | 手机 13812345678 诊断 牙周炎"
    # as_person li (front desk): the phone masked, the diagnosis left out
    assert got["desk"] == "新患者 赵六 | 手机 *******5678 诊断 "
    # no reader declared: what every role reading the table sees alike (front desk's mask, no diagnosis)
    assert got["least"] == "新患者 赵六 | 手机 *******5678 诊断 "
    # a role whose rows are the person's own reads no record for a group: nothing is posted
    assert "own" not in got
    # an e-mail to an address of nobody known reads as the least reader too
    assert got["mail"] == "患者 赵六 | 手机 *******5678 诊断 "


@pytest.mark.parametrize(("channel", "fragment"), [
    ('bot: {type: webhook, url: "https://h.example.org/x", as_role: nures}', "unknown role 'nures'"),
    ('bot: {type: webhook, url: "https://h.example.org/x", as_person: nobody}', "unknown person 'nobody'"),
    ('bot: {type: webhook, url: "https://h.example.org/x", as_role: nurse, as_person: li}', "not both"),
    ('bot: {type: webhook, url: "https://h.example.org/x", as_role: 3}', "as_role"),
    ("app: {type: wecom_app, corp_id: ww1, agent_id: 1, corp_secret_env: S, as_role: nurse}",
     "unknown key 'as_role'"),
])
def test_a_wrong_reader_is_a_clear_error_at_its_line(tmp_path: Path, channel: str, fragment: str) -> None:
    workspace = WORKSPACE.format(extra="").replace("channels:\n", "channels:\n  " + channel + "\n")
    root = write_workspace(tmp_path / "ws", {"care": BASE}, workspace)
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    text = str(caught.value)
    assert fragment in text and "workspace.yaml:" in text
