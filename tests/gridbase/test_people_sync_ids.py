"""`gridbase people DIR sync-ids --channel KEY`: people matched by e-mail or mobile through the
Feishu app's API (the local stand-in, through lark-oapi) or WeCom's, their ids written into
workspace.yaml with its comments and layout kept, the unmatched reported."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.loader import load_workspace
from gridbase.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugins"))
from feishu_standin import FeishuStandin, User  # noqa: E402  (the plugins' tests' stand-ins)
from wecom_standin import WeComStandin  # noqa: E402

ZHAO = User("ou_7d8a6e6df7621556ce0d21922b676706", "zhaolei01", "zhao.lei@hospital.example.org",
            mobile="13011112222")
QIAN = User("ou_1f2e3d4c5b6a79881f2e3d4c5b6a7988", "qianfang02", "qian.fang@hospital.example.org",
            mobile="13833334444")
SUN = User("ou_5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a", "sun03", "sun@hospital.example.org")

WORKSPACE = """\
workspace: hospital
name: 医院
timezone: Asia/Shanghai
# 人员：飞书 ID 由 gridbase people sync-ids 写入
roles:
  admin: {{name: 管理员, admin: true}}
people:
  zhao: {{name: 赵雷, roles: [admin], email: Zhao.Lei@hospital.example.org}}  # 院长
  qian:
    name: 钱芳   # 护理部
    phone: +86 138-3333-4444
  sun:
    name: 孙伟
    email: sun@hospital.example.org
    accounts: {{feishu: {{open_id: "ou_5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"}}}}
  li: {{name: 李四, email: li@elsewhere.example.org}}
  wu: {{name: 吴五}}
channels:
  feishu: {{type: feishu_app, app_id: {app_id}, app_secret_env: FEISHU_APP_SECRET, base_url: "{base_url}"}}
allowed_hosts: [127.0.0.1]
"""


@pytest.fixture
def standin() -> Iterator[FeishuStandin]:
    server = FeishuStandin(users=[ZHAO, QIAN, SUN])
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def root(tmp_path: Path, standin: FeishuStandin, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FEISHU_APP_SECRET", standin.app_secret)
    folder = tmp_path / "ws"
    (folder / "bases").mkdir(parents=True)
    (folder / "workspace.yaml").write_text(WORKSPACE.format(app_id=standin.app_id, base_url=standin.base_url),
                                           encoding="utf-8")
    return folder


def test_sync_ids_prints_the_lines_to_paste_and_reports_the_unmatched(root: Path, standin: FeishuStandin,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    before = (root / "workspace.yaml").read_text(encoding="utf-8")
    assert main(["people", str(root), "sync-ids", "--channel", "feishu_app"]) == 0  # the one channel of that type
    printed = capsys.readouterr().out
    assert f"found zhao by e-mail: open_id {ZHAO.open_id}" in printed
    assert f"found qian by mobile: open_id {QIAN.open_id}" in printed
    assert "already in workspace.yaml: sun" in printed
    assert "not matched: li (not found by e-mail li@elsewhere.example.org)" in printed
    assert "not matched: wu (no e-mail or mobile in workspace.yaml)" in printed
    assert f'accounts: {{feishu: {{open_id: "{QIAN.open_id}"}}}}' in printed
    assert (root / "workspace.yaml").read_text(encoding="utf-8") == before  # nothing written without --write
    assert standin.batch_get_id_calls == 1


def test_sync_ids_writes_the_ids_keeping_comments_and_layout(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["people", str(root), "sync-ids", "--channel", "feishu", "--write"]) == 0
    text = (root / "workspace.yaml").read_text(encoding="utf-8")
    assert "# 人员：飞书 ID 由 gridbase people sync-ids 写入" in text and "# 院长" in text and "# 护理部" in text
    assert f'zhao: {{name: 赵雷, roles: [admin], email: Zhao.Lei@hospital.example.org, accounts: {{feishu: {{open_id: "{ZHAO.open_id}"}}}}}}  # 院长' in text
    assert f'    phone: +86 138-3333-4444\n    accounts: {{feishu: {{open_id: "{QIAN.open_id}"}}}}\n  sun:' in text
    config = load_workspace(root)  # still a valid workspace, now with the ids
    assert config.people["zhao"].accounts == {"feishu": {"open_id": ZHAO.open_id}}
    assert config.people["qian"].accounts == {"feishu": {"open_id": QIAN.open_id}}
    assert config.people["li"].accounts == {}
    capsys.readouterr()
    assert main(["people", str(root), "sync-ids", "--channel", "feishu", "--write"]) == 0  # again: nothing to do
    assert "nothing to change in workspace.yaml" in capsys.readouterr().out


def test_sync_ids_says_clearly_what_is_wrong(root: Path, standin: FeishuStandin, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["people", str(root), "sync-ids", "--channel", "wecom"]) == 1
    assert "no channel 'wecom' in workspace.yaml (channels: feishu (feishu_app))" in capsys.readouterr().err
    monkeypatch.setenv("FEISHU_APP_SECRET", "not-the-app-secret")
    assert main(["people", str(root), "sync-ids", "--channel", "feishu"]) == 1
    assert "the app_secret is wrong" in capsys.readouterr().err


WECOM_WORKSPACE = """\
workspace: hospital
name: 医院
timezone: Asia/Shanghai
roles:
  admin: {{name: 管理员, admin: true}}
people:
  zhao: {{name: 赵雷, roles: [admin], phone: "130 1111 2222"}}
  qian: {{name: 钱芳, email: qian.fang@hospital.example.org}}
  li: {{name: 李四, phone: "13900000000"}}
channels:
  wecom: {{type: wecom_app, corp_id: {corp_id}, agent_id: {agent_id}, corp_secret_env: WECOM_APP_SECRET,
           base_url: "{base_url}"}}
allowed_hosts: [127.0.0.1]
"""


def test_sync_ids_finds_wecom_userids_by_mobile_and_email(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    server = WeComStandin(userids={"ZhaoLei", "QianFang"}, mobiles={"13011112222": "ZhaoLei"},
                          emails={"qian.fang@hospital.example.org": "QianFang"})
    server.start()
    try:
        monkeypatch.setenv("WECOM_APP_SECRET", server.secret)
        root = tmp_path / "ws"
        (root / "bases").mkdir(parents=True)
        (root / "workspace.yaml").write_text(WECOM_WORKSPACE.format(
            corp_id=server.corp_id, agent_id=server.agent_id, base_url=server.base_url), encoding="utf-8")
        assert main(["people", str(root), "sync-ids", "--channel", "wecom", "--write"]) == 0
        printed = capsys.readouterr().out
        assert "found zhao by mobile: userid ZhaoLei" in printed and "found qian by e-mail: userid QianFang" in printed
        assert "not matched: li (not found by mobile 13900000000)" in printed
        config = load_workspace(root)
        assert config.people["zhao"].accounts == {"wecom": {"userid": "ZhaoLei"}}
        assert config.people["qian"].accounts == {"wecom": {"userid": "QianFang"}}
    finally:
        server.close()
