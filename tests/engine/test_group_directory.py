"""The group directory (group.yaml `people:`) takes what workspace.yaml takes for a person.

E-mail, a mobile number, and per workspace roles, departments (several, one primary), channels and
the person's ids in app channels (Feishu, WeCom, DingTalk); each reaches the workspaces the person
belongs to, and a mistake is reported at its line and column in group.yaml.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.group import load_group, people_for
from engine.loader import load_workspace

WORKSPACE = """\
workspace: {key}
name: {key}
departments:
  qc: {{name: 质控部}}
  ortho: {{name: 正畸中心}}
roles:
  staff: {{name: 员工}}
channels:
  feishu: {{type: feishu_app, app_id: cli_x, app_secret_env: FEISHU_APP_SECRET}}
  wecom: {{type: wecom_app, corp_id: ww1, agent_id: 1000002, corp_secret_env: WECOM_APP_SECRET}}
"""

GROUP = """\
group: g
people:
  chen:
    name: 陈静
    email: chen@example.org
    mobile: 13800000001
    workspaces:
      zs:
        roles: [staff]
        departments: [ortho, {node: qc, primary: true}]
        channels: [feishu]
        accounts: {feishu: {open_id: ou_abc}, wecom: {userid: ChenJing}}
      kfq: {roles: [staff], department: ortho}
"""


def write(root: Path, group: str) -> Path:
    for key in ("zs", "kfq"):
        (root / key).mkdir(parents=True)
        (root / key / "workspace.yaml").write_text(WORKSPACE.format(key=key), encoding="utf-8")
    (root / "group.yaml").write_text(group, encoding="utf-8")
    return root


def test_a_directory_person_carries_what_workspace_yaml_takes_into_each_workspace(tmp_path: Path) -> None:
    group = load_group(write(tmp_path, GROUP))
    [zs] = people_for(group, "zs", load_workspace(tmp_path / "zs"))
    assert (zs.email, zs.phone, zs.roles) == ("chen@example.org", "13800000001", ["staff"])
    assert (zs.department, zs.departments) == ("qc", ["qc", "ortho"])
    assert zs.channels == ["feishu"]
    assert zs.accounts == {"feishu": {"open_id": "ou_abc"}, "wecom": {"userid": "ChenJing"}}
    [kfq] = people_for(group, "kfq", load_workspace(tmp_path / "kfq"))
    assert (kfq.department, kfq.channels, kfq.accounts, kfq.phone) == ("ortho", [], {}, "13800000001")


@pytest.mark.parametrize(("change", "expected"), [
    (("mobile: 13800000001", "mobile: 1\n    phone: '2'"), "group.yaml:6:13: person 'chen': write phone or mobile"),
    (("channels: [feishu]", "channels: [sms]"), "group.yaml:11:20: person 'chen' in 'zs': no channel 'sms'"),
    (("open_id: ou_abc", "openid: ou_abc"), "group.yaml:12:28: person 'chen' in 'zs': accounts.feishu"),
    (("userid: ChenJing", "open_id: ChenJing"),
     "group.yaml:12:55: person 'chen' in 'zs': channel 'wecom' (wecom_app) takes userid, not 'open_id'"),
    (("email: chen@example.org", "email: chen@example.org\n    accounts: {}"),
     "group.yaml:6:5: person 'chen': unknown key 'accounts'"),
    (("department: ortho", "department: nowhere"), "group.yaml:13:12: person 'chen' in 'kfq': no department 'nowhere'"),
    (("roles: [staff]\n        dep", "roles: [staff, chief]\n        dep"),
     "group.yaml:9:24: person 'chen' in 'zs': no role 'chief'"),
])
def test_a_mistake_in_the_directory_is_reported_where_it_was_written(tmp_path: Path, change: tuple[str, str],
                                                                     expected: str) -> None:
    root = write(tmp_path, GROUP.replace(*change))
    with pytest.raises(ConfigError) as caught:
        group = load_group(root)
        for name, folder in group.workspaces.items():
            people_for(group, name, load_workspace(folder))
    assert expected in str(caught.value)
