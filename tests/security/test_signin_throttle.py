"""Sign-in throttling (issue 17, item 9): spraying from one address, locking a colleague out,
the global ceiling, and the bilingual "try again in N seconds" with Retry-After.

Each test builds its own small workspace and signs in through the real /login form from
chosen client addresses (tests/security/signin_support.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from engine import Workspace, signins
from tests.security.signin_support import (
    BASE,
    GOOD,
    NAMES,
    SPRAYED,
    Browsers,
    browsers_for,
    workspace_yaml,
)
from tests_support import sign_in


@pytest.fixture
def ws(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace({"notes": BASE}, workspace_yaml())


@pytest.fixture
def browsers(ws: Workspace) -> Iterator[Browsers]:
    yield from browsers_for(ws)


def later(ws: Workspace, seconds: float) -> Any:
    """Move the workspace clock forward (the throttle reads ws.now())."""
    real = ws.clock
    ws.clock = lambda: real() + timedelta(seconds=seconds)
    return real


def test_spraying_one_password_over_many_names_from_one_address_is_stopped(ws, browsers) -> None:
    attacker = browsers.at("203.0.113.66")
    answers = [sign_in(attacker, name, SPRAYED).status_code for name in NAMES]
    # 20 wrong guesses are let through; from then on the address must wait, so the account
    # that does use the sprayed password is not broken into.
    assert answers[:20] == [401] * 20
    assert set(answers[20:]) == {429}
    refused = sign_in(attacker, NAMES[-1], SPRAYED)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 20
    assert "gb_session" not in refused.cookies
    # people elsewhere are not affected
    assert sign_in(browsers.at("198.51.100.7"), NAMES[-1], SPRAYED).status_code == 303


def test_a_colleague_cannot_lock_the_victim_out(ws, browsers) -> None:
    attacker = browsers.at("203.0.113.66")
    for _ in range(5):
        assert sign_in(attacker, "victim", "guess-guess-guess").status_code == 401
    assert sign_in(attacker, "victim", "guess-guess-guess").status_code == 429
    # the victim, at their own desk, signs in at once with the right password
    assert sign_in(browsers.at("198.51.100.7"), "victim", GOOD).status_code == 303


def test_many_addresses_hammering_one_account_delay_it_a_minute_at_most(ws, browsers) -> None:
    who = signins.account_of("victim", "victim")
    real = ws.clock
    made = 0
    try:
        for second in range(0, 3600, 7):  # a botnet: a new address every 7 seconds for an hour
            ws.clock = lambda s=second: real() + timedelta(seconds=s)
            made += not signins.begin(ws, who, f"192.0.2.{second % 250}").refused
            assert signins.waiting(ws, who, "198.51.100.7") <= 60
        assert made > 50  # the attack did go on (and was slowed: far fewer than 514 tries)
        ws.clock = lambda: real() + timedelta(seconds=3661)
        assert sign_in(browsers.at("198.51.100.7"), "victim", GOOD).status_code == 303
    finally:
        ws.clock = real


def test_global_ceiling_refuses_everyone_for_the_rest_of_the_minute(ws, browsers) -> None:
    browsers.app.state.signin_limits = signins.Limits(global_per_minute=6)
    for i in range(6):  # six addresses, six names: no per-address or per-account limit is near
        assert sign_in(browsers.at(f"192.0.2.{i}"), NAMES[i], "wrong-wrong-wrong").status_code == 401
    refused = sign_in(browsers.at("198.51.100.7"), "victim", GOOD)
    assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
    real = later(ws, 61)
    try:
        assert sign_in(browsers.at("198.51.100.7"), "victim", GOOD).status_code == 303
    finally:
        ws.clock = real


def test_the_wait_is_said_in_the_readers_language(ws, browsers) -> None:
    client = browsers.at("203.0.113.9")
    for _ in range(5):
        sign_in(client, "victim", "wrong-wrong-wrong")
    client.cookies.set("lang", "zh-CN")
    refused = sign_in(client, "victim", GOOD)
    seconds = int(refused.headers["retry-after"])
    assert refused.status_code == 429 and 25 <= seconds <= 30
    assert f"尝试次数过多，请 {seconds} 秒后再试" in refused.text


def test_an_ipv6_client_cannot_dodge_the_address_limit_within_its_64(ws, browsers) -> None:
    answers = [sign_in(browsers.at(f"2001:db8:1:2::{i + 1:x}"), name, SPRAYED).status_code
               for i, name in enumerate(NAMES)]
    assert answers[:20] == [401] * 20 and set(answers[20:]) == {429}
    assert sign_in(browsers.at("2001:db8:1:3::1"), NAMES[-1], SPRAYED).status_code == 303  # another /64


def test_parallel_guesses_meet_the_count_and_parallel_sign_ins_pass(ws, browsers) -> None:
    """A burst of simultaneous guesses cannot slip past the count; people signing in at the
    same moment into one shared account from one address are all let in."""
    from concurrent.futures import ThreadPoolExecutor

    clients = [browsers.at("203.0.113.66") for _ in range(12)]
    with ThreadPoolExecutor(12) as pool:
        guesses = list(pool.map(lambda c: sign_in(c, "victim", "guess-guess-guess").status_code, clients))
    assert sorted(guesses) == [401] * 5 + [429] * 7
    clients = [browsers.at("198.51.100.7") for _ in range(12)]
    with ThreadPoolExecutor(12) as pool:
        logins = list(pool.map(lambda c: sign_in(c, NAMES[-1], SPRAYED).status_code, clients))
    assert logins == [303] * 12
