"""Second factors (issue 17, item 9): setting up TOTP, signing in with a code, recovery codes
used once, codes not replayed or guessed, the workspace rule for admins, and the CLI reset.

Codes are made the way a phone app makes them (pyotp over the secret the page shows).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pyotp
import pytest

from engine import Workspace
from gridbase.cli import main as cli
from tests.security.signin_support import BASE, GOOD, Browsers, browsers_for, csrf, workspace_yaml
from tests_support import sign_in

HOME = "198.51.100.7"


@pytest.fixture
def ws(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace({"notes": BASE}, workspace_yaml())


@pytest.fixture
def browsers(ws: Workspace) -> Iterator[Browsers]:
    yield from browsers_for(ws)


def code_at(secret: str, ws: Workspace, seconds: float = 0) -> str:
    return pyotp.TOTP(secret).at(ws.now() + timedelta(seconds=seconds))


def set_up(browser, ws: Workspace) -> tuple[str, list[str]]:
    """Set up a second factor from the account page; returns (secret, recovery codes)."""
    page = browser.post("/account/security/enrol", data={"csrf_token": csrf(browser, "/account/security")})
    assert page.status_code == 200 and 'src="data:image/svg+xml' in page.text
    secret = re.search(r'class="totp-secret">([A-Z2-7]+)<', page.text).group(1)
    done = browser.post("/account/security/confirm", data={"csrf_token": csrf(browser, "/account/security"),
                                                            "code": code_at(secret, ws)})
    assert done.status_code == 200, done.text
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", done.text)
    assert len(codes) == 10
    return secret, codes


def submit_code(browser, code: str):
    return browser.post("/login/code", data={"csrf_token": csrf(browser, "/login"), "code": code, "next": "/"},
                        follow_redirects=False)


def signed_in(browser) -> bool:
    return browser.get("/", follow_redirects=False).status_code == 200


def test_set_up_then_sign_in_with_a_code_and_recovery_codes_once(ws, browsers) -> None:
    me = browsers.at(HOME)
    assert sign_in(me, "victim", GOOD).status_code == 303
    secret, codes = set_up(me, ws)
    assert "On. Recovery codes left: 10" in me.get("/account/security").text

    later = browsers.at(HOME)
    first = sign_in(later, "victim", GOOD)
    assert first.status_code == 303 and first.headers["location"].startswith("/login/code")
    assert not signed_in(later)  # the password alone opens nothing
    assert submit_code(later, "000000").status_code == 401
    # the code that confirmed the set-up was used up; the next step's code works
    real = ws.clock
    ws.clock = lambda: real() + timedelta(seconds=30)  # the next 30-second step
    try:
        good = code_at(secret, ws)
        assert submit_code(later, good).status_code == 303 and signed_in(later)
        # the same code cannot be replayed by someone who saw it
        other = browsers.at("203.0.113.5")
        assert sign_in(other, "victim", GOOD).status_code == 303
        assert submit_code(other, good).status_code == 401 and not signed_in(other)
        # a recovery code works once
        assert submit_code(other, codes[0].upper()).status_code == 303 and signed_in(other)
        again = browsers.at("203.0.113.6")
        sign_in(again, "victim", GOOD)
        assert submit_code(again, codes[0]).status_code == 401 and not signed_in(again)
    finally:
        ws.clock = real
    assert "On. Recovery codes left: 9" in me.get("/account/security").text


def test_guessing_codes_is_throttled_like_passwords(ws, browsers) -> None:
    me = browsers.at(HOME)
    sign_in(me, "victim", GOOD)
    set_up(me, ws)
    thief = browsers.at("203.0.113.66")  # knows the password, not the phone
    assert sign_in(thief, "victim", GOOD).status_code == 303
    answers = [submit_code(thief, f"{n:06d}").status_code for n in range(6)]
    assert answers[:5] == [401] * 5 and answers[5] == 429
    # typing the password again does not buy more guesses
    assert sign_in(thief, "victim", GOOD).status_code == 429


def test_admins_must_set_one_up_when_the_workspace_says_so(make_workspace) -> None:
    ws = make_workspace({"notes": BASE}, workspace_yaml("sign_in: {require_second_factor: admins}"))
    found = browsers_for(ws)
    browsers = next(found)
    try:
        staff = browsers.at(HOME)
        assert sign_in(staff, "victim", GOOD).headers["location"] == "/"  # staff: password only
        boss = browsers.at(HOME)
        first = sign_in(boss, "boss", GOOD)
        assert first.headers["location"].startswith("/login/enrol")
        assert not signed_in(boss)
        page = boss.get(first.headers["location"])
        secret = re.search(r'class="totp-secret">([A-Z2-7]+)<', page.text).group(1)
        wrong = boss.post("/login/enrol", data={"csrf_token": csrf(boss, "/login"), "code": "123456", "next": "/"})
        assert wrong.status_code == 401 and not signed_in(boss)
        done = boss.post("/login/enrol", data={"csrf_token": csrf(boss, "/login"), "code": code_at(secret, ws),
                                               "next": "/"})
        assert done.status_code == 200 and len(re.findall(r"<code>[a-z2-9]{5}-[a-z2-9]{5}</code>", done.text)) == 10
        assert signed_in(boss)
        # and they cannot turn it off
        off = boss.post("/account/security/off", data={"csrf_token": csrf(boss, "/"), "code": code_at(secret, ws, 30)})
        assert off.status_code == 403
        assert sign_in(browsers.at(HOME), "boss", GOOD).headers["location"].startswith("/login/code")
    finally:
        browsers.close()


@pytest.mark.stores
def test_cli_resets_a_lost_phone(ws, browsers, capsys) -> None:
    me = browsers.at(HOME)
    sign_in(me, "victim", GOOD)
    set_up(me, ws)
    args = ["--db", str(ws.storage.database)]
    assert cli(["second-factor", ws.config.root, "status", "victim", *args]) == 0
    assert "second factor on, 10 recovery code(s) left" in capsys.readouterr().out
    assert cli(["second-factor", ws.config.root, "reset", "victim", *args]) == 0
    assert not signed_in(me)  # their sessions ended
    assert sign_in(browsers.at(HOME), "victim", GOOD).headers["location"] == "/"
