"""The password policy (issue 17, item 9): `gridbase passwd` and the account page refuse
passwords shorter than 10 characters or on the shipped list of common passwords."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest

from engine import Workspace
from engine.auth import common_passwords
from gridbase.cli import main as cli
from tests.security.signin_support import BASE, GOOD, Browsers, browsers_for, csrf, workspace_yaml
from tests_support import sign_in


@pytest.fixture
def ws(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace({"notes": BASE}, workspace_yaml())


@pytest.fixture
def browsers(ws: Workspace) -> Iterator[Browsers]:
    yield from browsers_for(ws)


def passwd(ws: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], password: str) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    capsys.readouterr()
    code = cli(["passwd", ws.config.root, "victim", "--db", str(ws.storage.database)])
    printed = capsys.readouterr()
    return code, printed.out + printed.err


@pytest.mark.parametrize("password, reason", [
    ("short-pw1", "at least 10 characters"),
    ("1234567890", "common passwords"),
    ("Password123", "common passwords"),   # any case
    ("qwertyuiop", "common passwords"),
    ("victim@example.org", "user name or e-mail"),
])
def test_passwd_refuses_weak_passwords(ws, browsers, monkeypatch, capsys, password, reason) -> None:
    code, text = passwd(ws, monkeypatch, capsys, password)
    assert code == 1 and reason in text and "nothing was changed" in text
    assert sign_in(browsers.at("198.51.100.7"), "victim", password).status_code == 401
    assert sign_in(browsers.at("198.51.100.8"), "victim", GOOD).status_code == 303


@pytest.mark.stores
def test_passwd_accepts_a_good_password_and_ends_sessions(ws, browsers, monkeypatch, capsys) -> None:
    before = browsers.at("198.51.100.7")
    assert sign_in(before, "victim", GOOD).status_code == 303
    code, text = passwd(ws, monkeypatch, capsys, "teal otter under the bridge")
    assert code == 0, text
    assert before.get("/", follow_redirects=False).status_code == 303
    assert sign_in(browsers.at("198.51.100.8"), "victim", "teal otter under the bridge").status_code == 303


def test_the_shipped_list_is_there() -> None:
    listed = common_passwords()
    assert len(listed) > 1500 and "1qaz2wsx3edc" in listed and "woaini1314" in listed


def test_account_page_changes_the_password_under_the_same_policy(ws, browsers) -> None:
    me = browsers.at("198.51.100.7")
    other = browsers.at("198.51.100.9")
    sign_in(me, "victim", GOOD)
    sign_in(other, "victim", GOOD)

    def change(current: str, new: str, again: str | None = None):
        return me.post("/account/password", data={"csrf_token": csrf(me, "/account/security"), "current": current,
                                                  "new": new, "again": new if again is None else again},
                       follow_redirects=False)

    assert change("not my password", "teal otter under the bridge").status_code == 401
    common = change(GOOD, "iloveyou123")
    assert common.status_code == 422 and "common passwords" in common.text
    assert change(GOOD, "short", "short").status_code == 422
    assert change(GOOD, "teal otter under the bridge", "teal otter under the brigde").status_code == 422
    done = change(GOOD, "teal otter under the bridge")
    assert done.status_code == 303 and me.get("/account/security").status_code == 200  # still signed in here
    assert other.get("/", follow_redirects=False).status_code == 303  # signed out elsewhere
    assert sign_in(browsers.at("198.51.100.10"), "victim", "teal otter under the bridge").status_code == 303
