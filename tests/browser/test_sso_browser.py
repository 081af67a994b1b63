"""Chromium clicks "使用飞书登录" on the real login page and comes back signed in.

The Feishu stand-in (its OAuth endpoints) and a standards OIDC stand-in run on loopback beside a
real uvicorn server; the page must load with no console error under the strict CSP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from oidc_standin import OidcStandin

from engine import Workspace
from tests.browser.conftest import Watch, serving
from tests.conftest import write_workspace
from tests.plugins.feishu_standin import FeishuStandin
from tests.views.test_sso_signin import BASE, QIAN, WORKSPACE, ZHAO


@pytest.fixture(scope="module")
def sso_site(tmp_path_factory: pytest.TempPathFactory, session_database: Callable[[str], str | None]) -> Iterator[dict[str, Any]]:
    from gridbase.app import create_app

    feishu = FeishuStandin(users=[ZHAO, QIAN])
    oidc = OidcStandin()
    feishu.start()
    oidc.start()
    mp = pytest.MonkeyPatch()
    mp.setenv("FEISHU_LOGIN_SECRET", feishu.app_secret)
    mp.setenv("SSO_CLIENT_SECRET", oidc.client_secret)
    tmp = tmp_path_factory.mktemp("sso_browser")
    root = write_workspace(tmp / "ws", {"notes": BASE},
                           WORKSPACE.format(app_id=feishu.app_id, feishu=feishu.base_url, issuer=oidc.issuer))
    ws = Workspace.open(root, db=session_database("browser_sso"))
    ws.apply()
    try:
        with serving(create_app(ws, automations=False)) as port:
            url = f"http://127.0.0.1:{port}"
            feishu.redirect_uris = [f"{url}/login/sso/feishu/callback"]
            oidc.redirect_uris = [f"{url}/login/sso/corp_sso/callback"]
            yield {"url": url, "feishu": feishu, "oidc": oidc}
    finally:
        feishu.close()
        oidc.close()
        ws.close()
        mp.undo()


def test_clicking_sign_in_with_feishu_signs_in(browser: Any, sso_site: dict[str, Any]) -> None:
    sso_site["feishu"].signing_in = ZHAO
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.add_cookies([{"name": "lang", "value": "zh-CN", "url": sso_site["url"]}])
    page = context.new_page()
    watch = Watch(page)
    page.goto(sso_site["url"] + "/login?next=/inbox")
    page.get_by_role("link", name="使用飞书登录").click()
    page.wait_for_url(sso_site["url"] + "/inbox")
    assert "赵六" in page.content()
    assert not watch.errors
    # signing out is the ordinary form, CSRF and all
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["gb_session"]["httpOnly"] and "gb_sso" not in cookies
    context.close()


def test_an_unknown_person_sees_the_refusal_page(browser: Any, sso_site: dict[str, Any]) -> None:
    sso_site["oidc"].signing_in = {"sub": "s-nobody", "email": "nobody@elsewhere.example.org", "email_verified": True,
                                   "name": "Nobody"}
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    watch = Watch(page)
    page.goto(sso_site["url"] + "/login")
    page.get_by_role("link", name="Sign in with Corporate SSO").click()
    page.wait_for_url(sso_site["url"] + "/login/sso/corp_sso/callback*")
    assert page.get_by_role("alert").inner_text().startswith("Nobody is not a person of this workspace")
    assert not watch.errors
    page.get_by_role("link", name="Back to sign in").click()
    page.wait_for_url(sso_site["url"] + "/login")
    context.close()
