"""Several workspaces on one server (`gridbase serve GROUP_DIR`), over a real uvicorn server.

Two workspaces, 中山 (`zs`, base `cases_zs`) and 开发区 (`kfq`, base `cases_kfq`), each with its
own database and a planted marker record; the group directory holds `gu` (both workspaces, a
different role in each) and `amy` (中山 only). A person sees only their workspaces, a workspace
they do not belong to answers 404 to their pages and 403 to their API token, and the other
workspace's marker never appears in what they get.
"""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from automations.delivery import PUBLIC_URL_ENV, outgoing
from engine import signins, tokens
from engine.auth import verify_password
from engine.errors import ConfigError, GridbaseError
from engine.group import load_group
from engine.stores import URL_VARIABLE
from gridbase.cli import main
from gridbase.group_app import create_group_app, open_group
from tests_support import csrf_of, free_port
from views.pages.group import COOKIE_PATH, WorkspaceDoor

PASSWORD = "correct horse battery"
MARK_ZS, MARK_KFQ = "MARK-ZS-7f3a", "MARK-KFQ-91c2"

WORKSPACE = """\
workspace: {key}
name: {name}
timezone: Asia/Shanghai
locale: zh-CN
roles:
  admin: {{name: 管理员, admin: true}}
  staff: {{name: 员工}}
people:
  local_{key}: {{name: 本地 {key}, roles: [staff], password: "{password}"}}
"""

BASE = """\
base: cases_{key}
name: 投诉 {key}
tables:
  cases:
    name: 投诉记录
    primary: title
    fields:
      title: {{type: text, name: 标题}}
  notes:
    name: 内部备注
    primary: note
    fields:
      note: {{type: text, name: 备注}}
dashboards:
  overview:
    name: 概览
    widgets:
      - {{type: number, title: "投诉数 {key}", table: cases, aggregate: count}}
      - {{type: number, title: "备注数 {key}", table: notes, aggregate: count}}
roles:
  staff: {{cases: {{access: read}}}}
"""

GROUP = f"""\
group: dalian_group
name: 口腔医院集团
people:
  gu: {{name: 顾总, password: "{PASSWORD}", workspaces: {{zs: {{roles: [admin]}}, kfq: {{roles: [staff]}}}}}}
  amy: {{name: 艾米, email: amy@example.org, password: "{PASSWORD}", workspaces: {{zs: {{roles: [staff]}}}}}}
dashboards:
  campuses:
    name: 两院区对比
    show:
      - {{workspace: zs, base: cases_zs, dashboard: overview}}
      - {{workspace: kfq, base: cases_kfq, dashboard: overview}}
"""


def write_group(root: Path, group: str = GROUP) -> Path:
    for key, name in (("zs", "中山院区"), ("kfq", "开发区院区")):
        (root / key / "bases").mkdir(parents=True)
        (root / key / "workspace.yaml").write_text(WORKSPACE.format(key=key, name=name, password=PASSWORD), encoding="utf-8")
        (root / key / "bases" / "cases.yaml").write_text(BASE.format(key=key), encoding="utf-8")
    (root / "group.yaml").write_text(group, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    import uvicorn

    site = open_group(write_group(tmp_path_factory.mktemp("group")))
    site.workspaces["zs"].base("cases_zs").table("cases").create({"title": MARK_ZS}, actor="system")
    site.workspaces["kfq"].base("cases_kfq").table("cases").create({"title": MARK_KFQ}, actor="system")
    port = free_port()
    app = create_group_app(site, automations=False)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield {"url": f"http://127.0.0.1:{port}", "site": site}
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        for ws in site.workspaces.values():
            ws.close()


@contextmanager
def signed_in(url: str, who: str) -> Iterator[httpx.Client]:
    """A client that signed in once, on the group's landing page."""
    with httpx.Client(base_url=url, follow_redirects=False, timeout=20) as client:
        page = client.get("/")
        assert page.status_code == 200 and 'action="/login"' in page.text
        done = client.post("/login", data={"username": who, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
        assert done.status_code == 303, done.text
        yield client


def test_a_person_of_one_workspace_sees_only_it(group: dict[str, Any]) -> None:
    with signed_in(group["url"], "amy@example.org") as amy:
        home = amy.get("/")
        assert "中山院区" in home.text and 'href="/w/zs/"' in home.text
        assert "开发区院区" not in home.text and "/w/kfq" not in home.text
        grid = amy.get("/w/zs/b/cases_zs/t/cases")
        assert grid.status_code == 200 and MARK_ZS in grid.text
        # The page's links stay inside its workspace; none points at the site's root.
        assert 'href="/w/zs/b/cases_zs/t/cases' in grid.text
        assert f'href="{group["url"]}/"' in grid.text  # back to the group's page
        assert not re.search(r'(?:href|action|src|data-[a-z-]*url)="/(?!w/zs/)', grid.text)
        for path in ("/w/kfq/", "/w/kfq/b/cases_kfq/t/cases", "/w/kfq/inbox"):
            other = amy.get(path)
            assert other.status_code == 404, path
            assert MARK_KFQ not in other.text and "开发区" not in other.text
        # Signing out at the group ends the workspace's session too (its cookie no longer opens anything).
        kept = next(c.value for c in amy.cookies.jar if c.name == "gb_session")
        assert amy.post("/logout", data={"csrf_token": csrf_of(home.text)}).status_code == 303
    with httpx.Client(base_url=group["url"], cookies={"gb_session": kept}, timeout=20) as stale:
        gone = stale.get("/w/zs/b/cases_zs/t/cases", follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"].startswith("/w/zs/login")


def test_one_sign_in_opens_every_workspace_of_a_group_person_with_their_roles_there(group: dict[str, Any]) -> None:
    with signed_in(group["url"], "gu") as gu:
        home = gu.get("/")
        assert 'href="/w/zs/"' in home.text and 'href="/w/kfq/"' in home.text
        zs, kfq = gu.get("/w/zs/b/cases_zs/t/cases"), gu.get("/w/kfq/b/cases_kfq/t/cases")
        assert MARK_ZS in zs.text and MARK_KFQ not in zs.text
        assert MARK_KFQ in kfq.text and MARK_ZS not in kfq.text
        # Every link of the workspace's pages stays under its path.
        rid = group["site"].workspaces["zs"].base("cases_zs").table("cases").query(actor="system").records[0]["id"]
        for path in ("/w/zs/", "/w/zs/inbox", "/w/zs/admin/people", "/w/zs/admin/audit", "/w/zs/b/cases_zs/d/overview",
                     f"/w/zs/b/cases_zs/t/cases/r/{rid}", "/w/zs/b/cases_zs/t/cases/new", "/w/zs/account/security"):
            page = gu.get(path)
            assert page.status_code == 200, path
            assert not re.search(r'(?:href|action|src|hx-[a-z]+|data-[a-z-]*url)="/(?!w/zs/)', page.text), path
        # An admin in 中山, staff in 开发区: each workspace applies its own roles.
        assert gu.get("/w/zs/admin/people").status_code == 200
        assert gu.get("/w/kfq/admin/people").status_code == 403
        paths = {c.path for c in gu.cookies.jar if c.name == "gb_session"}
        assert paths == {"/w/zs", "/w/kfq"}  # two sessions, each kept to its own workspace


def test_a_group_dashboard_reads_each_workspace_with_the_readers_roles_there(group: dict[str, Any]) -> None:
    with signed_in(group["url"], "gu") as gu:
        assert 'href="/d/campuses"' in gu.get("/").text
        board = gu.get("/d/campuses")
        assert board.status_code == 200
        assert "投诉数 zs" in board.text and "投诉数 kfq" in board.text
        assert "备注数 zs" in board.text  # an admin in 中山
        assert "备注数 kfq" not in board.text  # staff in 开发区 may not read its notes
        assert 'href="/w/kfq/b/cases_kfq/t/cases' in board.text  # each card links into its own workspace
    with signed_in(group["url"], "amy") as amy:
        board = amy.get("/d/campuses")
        assert board.status_code == 200 and "投诉数 zs" in board.text
        assert "kfq" not in board.text and "开发区" not in board.text


def test_the_api_addresses_bases_across_workspaces_with_each_workspace_tokens(group: dict[str, Any]) -> None:
    site = group["site"]
    secret_zs, _ = tokens.create(site.workspaces["zs"], "amy")
    secret_kfq, _ = tokens.create(site.workspaces["kfq"], "local_kfq")
    with httpx.Client(base_url=group["url"], timeout=20) as api:
        mine = api.get("/v0/cases_zs/cases", headers={"Authorization": f"Bearer {secret_zs}"})
        assert mine.status_code == 200 and MARK_ZS in mine.text
        other = api.get("/v0/cases_kfq/cases", headers={"Authorization": f"Bearer {secret_zs}"})
        assert other.status_code == 403 and MARK_KFQ not in other.text
        assert other.json()["error"]["type"] == "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"
        theirs = api.get("/v0/cases_kfq/cases", headers={"Authorization": f"Bearer {secret_kfq}"})
        assert theirs.status_code == 200 and MARK_KFQ in theirs.text
        bases = api.get("/v0/meta/bases", headers={"Authorization": f"Bearer {secret_kfq}"})
        assert [b["id"] for b in bases.json()["bases"]] == ["cases_kfq"]
        assert api.get("/v0/cases_zs/cases").status_code == 401


def test_validate_checks_a_group_folder_and_refuses_a_role_a_workspace_lacks(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    good = write_group(tmp_path / "ok")
    for _ in range(2):  # started again: the directory's people its databases now keep are no clash
        for ws in open_group(good).workspaces.values():
            ws.close()
        assert main(["validate", str(good)]) == 0
        assert "2 workspace(s), 2 people in the group directory, 1 group dashboard(s)" in capsys.readouterr().out
    bad = write_group(tmp_path / "bad", GROUP.replace("kfq: {roles: [staff]}", "kfq: {roles: [director]}"))
    assert main(["validate", str(bad)]) == 1
    assert "group.yaml:4:102: person 'gu' in 'kfq': no role 'director'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="no role 'director'"):
        open_group(bad, apply=False)


def test_group_yaml_may_name_each_workspace_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere" / "kfq.db"
    elsewhere.parent.mkdir()
    root = write_group(tmp_path / "g", GROUP.replace("people:", f"workspaces: [zs, {{folder: kfq, db: '{elsewhere}'}}]\npeople:", 1))
    site = open_group(root, apply=False)
    try:
        assert site.workspaces["kfq"].data_dir == elsewhere.parent
        assert site.workspaces["zs"].data_dir == root / "zs" / "data"
    finally:
        for ws in site.workspaces.values():
            ws.close()
    # One database URL for the whole process would put every workspace in one schema: refused.
    monkeypatch.setenv(URL_VARIABLE, "postgresql://gridbase@db1/gridbase")
    with pytest.raises(GridbaseError, match="every workspace of the group in one database"):
        open_group(root, apply=False)


def test_passwd_on_a_group_folder_sets_a_directory_persons_password_in_each_of_their_workspaces(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_group(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("a new group passphrase 2026\n"))
    assert main(["passwd", str(root), "gu"]) == 0
    assert "password set for gu in kfq, zs" in capsys.readouterr().out
    site = open_group(root, apply=False)
    try:
        for ws in site.workspaces.values():
            found = signins.find_person(ws, "gu")
            assert found is not None and verify_password(found[1], "a new group passphrase 2026")
    finally:
        for ws in site.workspaces.values():
            ws.close()
    assert main(["passwd", str(root), "local_zs"]) == 1  # not in the directory: its workspace's own passwd
    assert "gridbase passwd GROUP_DIR/WORKSPACE KEY" in capsys.readouterr().err
    # Taken out of group.yaml, a person stays in their workspaces' databases until disabled in each.
    (root / "group.yaml").write_text(GROUP.replace("  gu: {name: 顾总", "  gu_next: {name: 顾总", 1), encoding="utf-8")
    assert main(["people", str(root), "disable", "gu"]) == 0
    assert "disabled gu in kfq, zs" in capsys.readouterr().out
    site = open_group(root, apply=False)
    try:
        for ws in site.workspaces.values():
            found = signins.find_person(ws, "gu")
            assert found is not None and found[2]  # disabled
    finally:
        for ws in site.workspaces.values():
            ws.close()


def test_links_sent_out_by_a_group_workspace_lead_to_its_path(group: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PUBLIC_URL_ENV, "https://gridbase.example.cn")
    zs = group["site"].workspaces["zs"]
    sent = outgoing("k1", {"title": "新投诉", "link": "/b/cases_zs/t/cases/r/rec1"}, zs.config.url_path)
    assert sent.link == "https://gridbase.example.cn/w/zs/b/cases_zs/t/cases/r/rec1"


def test_a_workspace_cookie_stays_under_its_path(group: dict[str, Any]) -> None:
    with httpx.Client(base_url=group["url"], timeout=20) as anonymous:
        login = anonymous.get("/w/kfq/login")
        assert login.status_code == 200 and 'action="/w/kfq/login"' in login.text
        assert {c.path for c in anonymous.cookies.jar} == {"/w/kfq"}
    door = WorkspaceDoor(group["site"].apps["kfq"], group["site"], "kfq")  # e.g. the sign-in flow cookie of SSO (Path=/login/sso)
    moved = COOKIE_PATH.sub(door.cookie_path, "gb_sso_flow=x; Path=/login/sso; HttpOnly")
    assert moved == "gb_sso_flow=x; Path=/w/kfq/login/sso; HttpOnly"


def test_wrong_passwords_on_the_group_page_meet_the_workspaces_throttle(group: dict[str, Any]) -> None:
    """Last in this module: it leaves amy throttled."""
    with httpx.Client(base_url=group["url"], timeout=20) as guess:
        page = guess.get("/")
        answers = [guess.post("/login", data={"username": "amy", "password": f"guess {i}", "csrf_token": csrf_of(page.text)})
                   for i in range(6)]
        assert [a.status_code for a in answers] == [401] * 5 + [429]
        assert "gb_group" not in guess.cookies and "gb_session" not in guess.cookies


def test_a_directory_persons_token_reaches_the_bases_of_each_of_their_workspaces(group: dict[str, Any]) -> None:
    site = group["site"]
    gu_kfq, _ = tokens.create(site.workspaces["kfq"], "gu")  # staff in 开发区, admin in 中山
    gu_zs, _ = tokens.create(site.workspaces["zs"], "gu")
    narrow, _ = tokens.create(site.workspaces["kfq"], "gu", bases=["cases_kfq"])
    revoked, made = tokens.create(site.workspaces["kfq"], "gu", name="old")
    tokens.revoke(site.workspaces["kfq"], "gu", token_id=made.id)

    def get(path: str, secret: str) -> httpx.Response:
        return api.get(path, headers={"Authorization": f"Bearer {secret}"})

    with httpx.Client(base_url=group["url"], timeout=20) as api:
        listed = get("/v0/meta/bases", gu_kfq).json()["bases"]
        assert [(b["id"], b["permissionLevel"]) for b in listed] == [("cases_kfq", "read"), ("cases_zs", "create")]
        assert [b["id"] for b in get("/v0/meta/bases", gu_zs).json()["bases"]] == ["cases_zs", "cases_kfq"]
        there = get("/v0/cases_zs/notes", gu_kfq)  # an admin in 中山 reads its notes with a 开发区 token
        assert there.status_code == 200, there.text
        refused = get("/v0/cases_kfq/notes", gu_zs)  # staff in 开发区 may not, whichever token
        assert refused.status_code in (403, 404) and refused.json()["error"]["type"] != "AUTHENTICATION_REQUIRED"
        assert MARK_KFQ in get("/v0/cases_kfq/cases", gu_zs).text
        assert get("/v0/cases_zs/cases", narrow).status_code == 403  # a token's bases still bound it
        assert [b["id"] for b in get("/v0/meta/bases", narrow).json()["bases"]] == ["cases_kfq"]
        assert get("/v0/cases_zs/cases", revoked).status_code == 403
        assert get("/v0/meta/bases", revoked).status_code == 401


def test_the_example_group_validates_and_reuses_the_dental_workspace(capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "dalian_dental" / "group"
    assert main(["validate", str(example)]) == 0
    assert "2 workspace(s), 1 people in the group directory, 1 group dashboard(s)" in capsys.readouterr().out
    config = load_group(example)
    assert config.workspaces == {"dalian": example.parent, "jinzhou": example / "jinzhou"}
    assert config.member_of("zhou_min") == ["dalian", "jinzhou"]


def test_a_workspace_kept_outside_the_group_folder_is_named_with_a_path(tmp_path: Path) -> None:
    root = write_group(tmp_path / "g")
    (tmp_path / "g" / "kfq").rename(tmp_path / "kfq_elsewhere")
    with pytest.raises(ConfigError, match="no workspace 'kfq' in the group"):
        load_group(root)
    text = (root / "group.yaml").read_text(encoding="utf-8")
    (root / "group.yaml").write_text(text + "workspaces: [zs, {folder: kfq, path: ../kfq_elsewhere}]\n", encoding="utf-8")
    assert load_group(root).workspaces["kfq"] == tmp_path / "kfq_elsewhere"
    (root / "group.yaml").write_text(text + "workspaces: [zs, {folder: kfq, path: zs}]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is already in the group"):
        load_group(root)
    (root / "group.yaml").write_text(text + "workspaces: [zs, {folder: kfq, where: x}]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"group.yaml:12:18: each entry of workspaces"):
        load_group(root)
