"""Signing in with Feishu and with an OpenID Connect provider, end to end and without the Internet.

A real uvicorn server, the Feishu stand-in (tests/plugins/feishu_standin.py, its OAuth endpoints)
and a tiny standards OIDC provider (tests/oidc_standin.py) on loopback; httpx plays the browser,
following every redirect from the login button to the provider and back. Each refusal — a state
not this browser's, a code used twice, a wrong nonce, a token signed by a stranger, an unknown or
disabled person, the provider saying no — ends on a clear page and with no session.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from oidc_standin import OidcStandin

from engine import Workspace, people, signins
from engine.errors import ConfigError
from engine.loader import load_workspace
from tests.conftest import write_workspace
from tests.plugins.feishu_standin import FeishuStandin, User
from tests_support import WORKSPACE_YAML, csrf_of, free_port

ZHAO = User("ou_zhao", "u_zhao", "zhao@feishu.example.cn", union_id="on_zhao", mobile="+8613900000001", name="赵六")
QIAN = User("ou_qian", "u_qian", "qian.personal@feishu.example.cn", mobile="+86 139-0000-0002", name="钱芳")
SUN = User("ou_sun", "u_sun", "sun@feishu.example.cn", union_id="on_sun", name="孙七")  # not a workspace person
LI = User("ou_li", "u_li", "li@feishu.example.cn", union_id="on_li", name="李四")  # disabled below
# Typed wang's address as their own personal e-mail; and wang's real Feishu account (企业邮箱 set by the tenant)
POSER = User("ou_poser", "u_poser", "wang@hospital.example.org", name="冒名者")
WANG = User("ou_wang", "u_wang", "", enterprise_email="wang@hospital.example.org", name="王芳")
OUTSIDER = User("ou_out", "u_out", "", union_id="on_zhao", tenant_key="0000other0000000", name="外企赵六")

WORKSPACE = """\
workspace: ssotest
name: SSO Test
timezone: Asia/Shanghai
locale: en
roles:
  admin: {{name: Admin, admin: true}}
  staff: {{name: Staff}}
people:
  admin: {{name: Admin, roles: [admin], email: admin@hospital.example.org}}
  wang: {{name: 王芳, roles: [staff], email: Wang@Hospital.example.org}}
  zhao: {{name: 赵六, roles: [staff], accounts: {{feishu_bot: {{union_id: on_zhao}}}}}}
  qian: {{name: 钱芳, roles: [staff], phone: "13900000002"}}
  li: {{name: 李四, roles: [staff], accounts: {{feishu_bot: {{union_id: on_li}}}}}}
channels:
  feishu_bot: {{type: feishu_app, app_id: {app_id}, app_secret_env: FEISHU_LOGIN_SECRET, base_url: "{feishu}"}}
sign_in:
  require_second_factor: admins
  providers:
    feishu: {{type: feishu, app_id: {app_id}, app_secret_env: FEISHU_LOGIN_SECRET, base_url: "{feishu}",
              accounts_url: "{feishu}", match: [union_id, mobile, email], channel: feishu_bot,
              tenant_key: 736588c9260f175d}}
    corp_sso: {{type: oidc, name: Corporate SSO, issuer: "{issuer}", client_id: gridbase,
                client_secret_env: SSO_CLIENT_SECRET, match: email}}
    unset: {{type: oidc, issuer: "{issuer}", client_id: gridbase, client_secret_env: NOT_SET_ANYWHERE}}
"""

BASE = """\
base: notes
name: Notes
tables:
  notes:
    name: Notes
    primary: title
    fields:
      title: {type: text, name: Title}
"""


@contextmanager
def serving(app: Any) -> Iterator[int]:
    import uvicorn

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield port
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory,
         session_database: Callable[[str], str | None]) -> Iterator[dict[str, Any]]:
    from gridbase.app import create_app

    feishu = FeishuStandin(users=[ZHAO, QIAN, SUN, LI, POSER, WANG, OUTSIDER])
    oidc = OidcStandin()
    feishu.start()
    oidc.start()
    mp = pytest.MonkeyPatch()
    mp.setenv("FEISHU_LOGIN_SECRET", feishu.app_secret)
    mp.setenv("SSO_CLIENT_SECRET", oidc.client_secret)
    mp.delenv("NOT_SET_ANYWHERE", raising=False)
    tmp = tmp_path_factory.mktemp("sso")
    root = write_workspace(tmp / "ws", {"notes": BASE},
                           WORKSPACE.format(app_id=feishu.app_id, feishu=feishu.base_url, issuer=oidc.issuer))
    ws = Workspace.open(root, db=session_database("sso"))
    ws.apply()
    people.set_disabled(ws.storage, "li", True)
    app = create_app(ws, automations=False)
    app.state.signin_limits = signins.Limits(pair=signins.Step(50, 1.0, 1.0, signins.Limits().pair.window),
                                             address=signins.Step(100, 1.0, 1.0, signins.Limits().address.window))
    try:
        with serving(app) as port:
            url = f"http://127.0.0.1:{port}"
            feishu.redirect_uris = [f"{url}/login/sso/feishu/callback"]
            oidc.redirect_uris = [f"{url}/login/sso/corp_sso/callback"]
            yield {"url": url, "ws": ws, "feishu": feishu, "oidc": oidc}
    finally:
        feishu.close()
        oidc.close()
        ws.close()
        mp.undo()


@pytest.fixture
def browser(site: dict[str, Any]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site["url"], follow_redirects=True, timeout=20, trust_env=False) as client:
        yield client


@pytest.fixture(autouse=True)
def fresh(site: dict[str, Any]) -> None:
    feishu, oidc = site["feishu"], site["oidc"]
    feishu.deny = oidc.deny = oidc.wrong_nonce = oidc.wrong_key = oidc.other_audience = False
    feishu.unavailable = set()
    feishu.signing_in = None
    oidc.signing_in = None


def signed_in_as(client: httpx.Client) -> str | None:
    """Who the server says this browser is (from /account/security's frame), or None."""
    page = client.get("/", follow_redirects=False)
    if page.status_code != 200:
        return None
    return page.text


def attempts(ws: Workspace, who: str) -> list[int]:
    return [r[0] for r in ws.storage.conn.execute("SELECT ok FROM _gb_login_attempts WHERE who = ? ORDER BY rowid", (who,))]


# -- the good ways in ------------------------------------------------------------------------------
def test_the_login_page_offers_each_provider_in_both_languages(browser: httpx.Client) -> None:
    page = browser.get("/login")
    assert "Sign in with Feishu" in page.text and "Sign in with Corporate SSO" in page.text
    assert 'href="/login/sso/feishu?next=/"' in page.text or 'href="/login/sso/feishu?next=%2F"' in page.text
    browser.cookies.set("lang", "zh-CN")
    assert "使用飞书登录" in browser.get("/login").text


def test_feishu_signs_in_the_person_with_that_union_id(site: dict[str, Any], browser: httpx.Client) -> None:
    site["feishu"].signing_in = ZHAO
    page = browser.get("/login/sso/feishu", params={"next": "/inbox"})
    assert page.status_code == 200 and urlsplit(str(page.url)).path == "/inbox"
    assert "赵六" in page.text
    # the hops: our start page → Feishu's authorize (PKCE S256, exact redirect URI) → our callback
    authorize = next(r for r in page.history if "/open-apis/authen/v1/authorize" in str(r.url))
    asked = parse_qs(urlsplit(str(authorize.url)).query)
    assert asked["code_challenge_method"] == ["S256"] and asked["client_id"] == [site["feishu"].app_id]
    assert asked["redirect_uri"] == [f"{site['url']}/login/sso/feishu/callback"]
    session = next(c for c in browser.cookies.jar if c.name == "gb_session")
    assert session.has_nonstandard_attr("HttpOnly") and not any(c.name == "gb_sso" for c in browser.cookies.jar)
    assert attempts(site["ws"], "person:zhao")[-1] == signins.SIGNED_IN
    # a signed-in page carries its CSRF token, and signing out needs it as ever
    assert browser.post("/logout", data={}, follow_redirects=False).status_code == 403
    token = csrf_of(page.text)
    assert browser.post("/logout", data={"csrf_token": token}).url.path == "/login"
    assert browser.get("/", follow_redirects=False).status_code in (302, 303)


def test_feishu_matches_by_mobile_when_there_is_no_account_id(site: dict[str, Any], browser: httpx.Client) -> None:
    site["feishu"].signing_in = QIAN
    page = browser.get("/login/sso/feishu")
    assert page.status_code == 200 and urlsplit(str(page.url)).path == "/" and "钱芳" in page.text


def test_oidc_signs_in_by_verified_email_any_case(site: dict[str, Any], browser: httpx.Client) -> None:
    site["oidc"].signing_in = {"sub": "s-wang", "email": "wang@hospital.example.org", "email_verified": True}
    page = browser.get("/login/sso/corp_sso")
    assert page.status_code == 200 and urlsplit(str(page.url)).path == "/" and "王芳" in page.text
    asked = parse_qs(urlsplit(str(page.history[1].url)).query)
    assert asked["nonce"] and asked["state"] and asked["code_challenge_method"] == ["S256"]
    assert "openid" in asked["scope"][0].split()


def test_a_second_factor_is_still_asked(site: dict[str, Any], browser: httpx.Client) -> None:
    site["oidc"].signing_in = {"sub": "s-admin", "email": "admin@hospital.example.org", "email_verified": True}
    page = browser.get("/login/sso/corp_sso")
    assert urlsplit(str(page.url)).path == "/login/enrol"  # admins must set one up first
    assert not any(c.name == "gb_session" for c in browser.cookies.jar)
    assert attempts(site["ws"], "person:admin")[-1] == signins.HALF


# -- the refusals ----------------------------------------------------------------------------------
def callback_url(client: httpx.Client, provider: str) -> str:
    """Start a flow and let the provider answer, but stop before our callback: its URL."""
    start = client.get(f"/login/sso/{provider}", follow_redirects=False)
    assert start.status_code == 303
    back = client.get(start.headers["location"], follow_redirects=False)
    assert back.status_code == 302
    return str(back.headers["location"])


def test_a_state_that_is_not_this_browsers_is_refused(site: dict[str, Any], browser: httpx.Client) -> None:
    site["feishu"].signing_in = ZHAO
    url = callback_url(browser, "feishu")
    forged = url.replace("state=", "state=x")
    page = browser.get(forged)
    assert page.status_code == 400 and "was not started here" in page.text
    assert signed_in_as(browser) is None
    # a callback with no flow at all (another browser's link)
    with httpx.Client(base_url=site["url"], trust_env=False) as other:
        assert other.get(url).status_code == 400


def test_a_code_cannot_be_used_twice(site: dict[str, Any], browser: httpx.Client) -> None:
    site["feishu"].signing_in = ZHAO
    url = callback_url(browser, "feishu")
    assert browser.get(url).status_code == 200  # signed in once
    assert browser.get(url).status_code == 400  # the flow is spent
    # someone who saw the URL starts a flow of their own and puts the old code in it: Feishu refuses
    with httpx.Client(base_url=site["url"], trust_env=False) as thief:
        mine = callback_url(thief, "feishu")
        state = parse_qs(urlsplit(mine).query)["state"][0]
        code = parse_qs(urlsplit(url).query)["code"][0]
        page = thief.get(f"/login/sso/feishu/callback?code={code}&state={state}")
        assert page.status_code == 502 and "20003" in page.text
        assert not any(c.name == "gb_session" for c in thief.cookies.jar)


def test_a_replayed_callback_with_its_saved_cookie_is_refused_by_the_server(site: dict[str, Any],
                                                                             browser: httpx.Client) -> None:
    site["feishu"].signing_in = ZHAO
    url = callback_url(browser, "feishu")
    cookie = browser.cookies.get("gb_sso", path="/login/sso")
    assert browser.get(url).status_code == 200  # signed in once; the browser drops the cookie
    # an attacker who copied the flow's cookie and the callback URL replays both: the state was taken
    with httpx.Client(base_url=site["url"], trust_env=False) as thief:
        thief.cookies.set("gb_sso", cookie, path="/login/sso")
        page = thief.get(url)
        assert page.status_code == 400 and "was not started here" in page.text
        assert not any(c.name == "gb_session" for c in thief.cookies.jar)


@pytest.mark.parametrize("knob", ["wrong_nonce", "wrong_key", "other_audience"])
def test_an_id_token_that_does_not_hold_up_is_refused(site: dict[str, Any], browser: httpx.Client, knob: str) -> None:
    site["oidc"].signing_in = {"sub": "s-wang", "email": "wang@hospital.example.org", "email_verified": True}
    setattr(site["oidc"], knob, True)
    page = browser.get("/login/sso/corp_sso")
    assert page.status_code == 502 and "ID token refused" in page.text
    assert signed_in_as(browser) is None


@pytest.mark.parametrize("verified", [{"email_verified": False}, {}])
def test_an_unverified_email_matches_nobody(site: dict[str, Any], browser: httpx.Client, verified: dict[str, Any]) -> None:
    site["oidc"].signing_in = {"sub": "s-x", "email": "wang@hospital.example.org", **verified}
    page = browser.get("/login/sso/corp_sso")
    assert page.status_code == 403 and "is not a person of this workspace" in page.text


def test_an_unknown_person_gets_a_clear_page_in_both_languages(site: dict[str, Any], browser: httpx.Client) -> None:
    site["feishu"].signing_in = SUN
    page = browser.get("/login/sso/feishu")
    assert page.status_code == 403 and "孙七 is not a person of this workspace" in page.text
    assert "Sign-in refused" in page.text and 'href="/login"' in page.text
    assert attempts(site["ws"], "feishu:ou_sun")[-1] == signins.FAILED
    browser.cookies.set("lang", "zh-CN")
    page = browser.get("/login/sso/feishu")
    assert page.status_code == 403 and "孙七 不是本工作区的成员" in page.text and "登录被拒绝" in page.text


def test_feishu_matches_the_enterprise_email_never_the_personal_one(site: dict[str, Any], browser: httpx.Client) -> None:
    site["feishu"].signing_in = POSER
    page = browser.get("/login/sso/feishu")
    assert page.status_code == 403 and "冒名者 is not a person of this workspace" in page.text
    assert signed_in_as(browser) is None
    site["feishu"].signing_in = WANG
    page = browser.get("/login/sso/feishu")
    assert page.status_code == 200 and "王芳" in page.text


def test_a_person_of_another_feishu_tenant_is_refused(site: dict[str, Any], browser: httpx.Client) -> None:
    site["feishu"].signing_in = OUTSIDER  # the same union_id as zhao, from another company's tenant
    page = browser.get("/login/sso/feishu")
    assert page.status_code == 502 and "another tenant" in page.text
    assert signed_in_as(browser) is None


def test_a_disabled_person_cannot_sign_in(site: dict[str, Any], browser: httpx.Client) -> None:
    site["feishu"].signing_in = LI
    page = browser.get("/login/sso/feishu")
    assert page.status_code == 403 and "李四 is disabled" in page.text
    assert signed_in_as(browser) is None
    assert attempts(site["ws"], "person:li")[-1] == signins.FAILED


def test_the_provider_saying_no_is_a_clear_page(site: dict[str, Any], browser: httpx.Client) -> None:
    site["feishu"].signing_in = ZHAO
    site["feishu"].deny = True
    page = browser.get("/login/sso/feishu")
    assert page.status_code == 502 and "access_denied" in page.text
    site["feishu"].deny = False
    site["feishu"].unavailable = {ZHAO.open_id}  # outside the app's availability: Feishu's 20010
    page = browser.get("/login/sso/feishu")
    assert page.status_code == 502 and "20010" in page.text
    assert signed_in_as(browser) is None


def test_a_provider_without_its_secret_or_unknown_is_refused_before_leaving(browser: httpx.Client) -> None:
    page = browser.get("/login/sso/unset", follow_redirects=False)
    assert page.status_code == 502 and "NOT_SET_ANYWHERE" in page.text
    assert browser.get("/login/sso/nope", follow_redirects=False).status_code == 404


# -- the YAML ------------------------------------------------------------------------------------
def test_a_provider_missing_its_keys_or_naming_an_unknown_channel_is_a_clear_yaml_error(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws", {}, WORKSPACE_YAML + "sign_in:\n  providers:\n    sso: {type: oidc, client_id: x}\n")
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    assert "'issuer' is a required property" in str(caught.value)
    root = write_workspace(tmp_path / "ws2", {}, WORKSPACE_YAML + "sign_in:\n  providers:\n    fs: {type: feishu, app_id: cli_x, "
                           "app_secret_env: S, channel: feishu_ap}\n")
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    assert "unknown channel 'feishu_ap' for sign-in provider 'fs'" in str(caught.value)
    root = write_workspace(tmp_path / "ws3", {}, WORKSPACE_YAML + "sign_in:\n  providers:\n    fs: {type: feishu, app_id: cli_x, "
                           "app_secret_env: S, match: mobile}\n")
    provider = load_workspace(root).sign_in_providers["fs"]
    assert (provider.type, provider.client_id, provider.secret_env, provider.match) == ("feishu", "cli_x", "S", ["mobile"])
