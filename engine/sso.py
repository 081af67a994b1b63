"""Signing in through an outside identity provider: Feishu (飞书) and any OpenID Connect provider.

Owns the protocol side of workspace.yaml `sign_in: providers:` (engine.model.SignInProvider):
the authorization-code flow with `state`, `nonce` and PKCE (S256), its URL and code challenge
made by Authlib (RFC 6749, RFC 7636), the exchange of the code for tokens, the checks of an OIDC ID token (signature against
the provider's JWKS, issuer, audience, expiry and nonce, with joserfc, Authlib's JOSE library),
and finding the workspace person the provider vouched for. It owns no table: the pending flow
(state, nonce, code verifier) travels in a signed, short-lived cookie (views.pages.sso), and its
state is also kept on the server (engine.sessions `begin_flow`) and taken once at the callback
(`take`), so a replayed callback (the same cookie and state again) is refused even where the
browser kept the cookie; the sign-in itself is logged and throttled by engine.signins and made a session by engine.sessions,
exactly as a password sign-in is.

Protocols are registry entries (`PROTOCOLS`): `oidc` reads the provider's discovery document
(`{issuer}/.well-known/openid-configuration`); `feishu` uses Feishu's documented endpoints, as
its OAuth is not standard OIDC: `GET accounts.feishu.cn/open-apis/authen/v1/authorize`,
`POST open.feishu.cn/open-apis/authen/v2/oauth/token` (RFC 6749, PKCE) and
`GET open.feishu.cn/open-apis/authen/v1/user_info` (name, email, mobile, open_id, union_id).

People are matched by the provider's `match` list, tried in order: `email` (the person's
e-mail, any case; for OIDC only with `email_verified: true` in the ID token), `mobile` (the
person's phone, digits compared, a leading +86 ignored), `union_id` and `open_id` (the person's
`accounts:` ids in workspace.yaml, under the provider's `channel`, or under any channel that
holds them). Nobody matched, or more than one person matched, is refused.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from engine import people, sessions
from engine.errors import GridbaseError
from engine.model import SignInProvider
from engine.workspace import Workspace

TIMEOUT = 10.0
FEISHU_OPEN = "https://open.feishu.cn"
FEISHU_ACCOUNTS = "https://accounts.feishu.cn"
MATCHES = ("email", "mobile", "union_id", "open_id")
DEFAULT_MATCH = {"feishu": ["union_id", "open_id", "email", "mobile"], "oidc": ["email"]}
DISCOVERY_SECONDS = 3600


@dataclass(frozen=True)
class Pending:
    """What a started flow must find again at its callback."""

    provider: str
    state: str
    nonce: str
    verifier: str
    target: str


@dataclass
class Identity:
    """Who the provider says signed in."""

    subject: str
    name: str = ""
    claims: dict[str, str] = field(default_factory=dict)  # email, mobile, union_id, open_id


def provider_error(problem: str) -> GridbaseError:
    return GridbaseError(code="sso_provider_error", params={"problem": problem[:200]})


def secret_of(provider: SignInProvider) -> str:
    value = os.environ.get(provider.secret_env, "") if provider.secret_env else ""
    if not value:
        raise GridbaseError(code="sso_no_secret", params={"provider": provider.key, "variable": provider.secret_env})
    return value


def _authorization_url(provider: SignInProvider, endpoint: str, redirect_uri: str, pending: Pending, scope: str | None,
                       **extra: str) -> str:
    """The provider's authorization URL (RFC 6749 4.1.1 with PKCE S256, RFC 7636), built by Authlib."""
    secret_of(provider)  # refuse to start a flow that cannot finish
    return str(prepare_grant_uri(endpoint, provider.client_id, "code", redirect_uri=redirect_uri, scope=scope,
                                 state=pending.state, code_challenge=create_s256_code_challenge(pending.verifier),
                                 code_challenge_method="S256", **extra))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        raise provider_error(f"HTTP {response.status_code}, not JSON") from None
    if not isinstance(data, dict):
        raise provider_error(f"HTTP {response.status_code}, not a JSON object")
    return data


# -- OpenID Connect ----------------------------------------------------------------------------
_discovered: dict[str, tuple[float, dict[str, Any]]] = {}


def discovery(provider: SignInProvider) -> dict[str, Any]:
    """The provider's discovery document (kept an hour); its issuer must be the configured one."""
    found = _discovered.get(provider.issuer)
    if found and found[0] > time.monotonic():
        return found[1]
    try:
        response = httpx.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=TIMEOUT, trust_env=False)
    except httpx.HTTPError as e:
        raise provider_error(type(e).__name__) from None
    doc = _json(response)
    if response.status_code != 200 or str(doc.get("issuer", "")).rstrip("/") != provider.issuer:
        raise provider_error("discovery document of another issuer")
    _discovered[provider.issuer] = (time.monotonic() + DISCOVERY_SECONDS, doc)
    return doc


def _oidc_authorize(provider: SignInProvider, redirect_uri: str, pending: Pending) -> str:
    doc = discovery(provider)
    return _authorization_url(provider, str(doc["authorization_endpoint"]), redirect_uri, pending,
                              provider.scope or "openid email profile phone", nonce=pending.nonce)


def _oidc_identity(provider: SignInProvider, redirect_uri: str, code: str, pending: Pending) -> Identity:
    doc = discovery(provider)
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as http:
        try:
            response = http.post(str(doc["token_endpoint"]), auth=(provider.client_id, secret_of(provider)), data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": pending.verifier})
            token = _json(response)
            if response.status_code != 200 or token.get("error"):
                raise provider_error(str(token.get("error_description") or token.get("error") or response.status_code))
            id_token = token.get("id_token")
            if not id_token:
                raise provider_error("no id_token")
            jwks = _json(http.get(str(doc["jwks_uri"])))
        except httpx.HTTPError as e:
            raise provider_error(type(e).__name__) from None
        try:
            keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
            decoded = jwt.decode(str(id_token), keys)
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": provider.issuer}, sub={"essential": True},
                aud={"essential": True, "value": provider.client_id}, exp={"essential": True},
                nonce={"essential": True, "value": pending.nonce}, leeway=60).validate(decoded.claims)
        except (JoseError, ValueError, KeyError) as e:
            raise provider_error(f"ID token refused ({type(e).__name__})") from None
    claims = decoded.claims
    out: dict[str, str] = {}
    # Only what the provider vouches for: an address anyone could type into their profile is no proof.
    if claims.get("email") and claims.get("email_verified") in (True, "true"):
        out["email"] = str(claims["email"])
    if claims.get("phone_number") and claims.get("phone_number_verified") in (True, "true"):
        out["mobile"] = str(claims["phone_number"])
    return Identity(str(claims["sub"]), str(claims.get("name") or ""), out)


# -- Feishu -------------------------------------------------------------------------------------
def _feishu_authorize(provider: SignInProvider, redirect_uri: str, pending: Pending) -> str:
    return _authorization_url(provider, f"{provider.accounts_url or FEISHU_ACCOUNTS}/open-apis/authen/v1/authorize",
                              redirect_uri, pending, provider.scope or None)


def _feishu_identity(provider: SignInProvider, redirect_uri: str, code: str, pending: Pending) -> Identity:
    base = provider.base_url or FEISHU_OPEN
    try:
        with httpx.Client(timeout=TIMEOUT, trust_env=False) as http:
            answer = _json(http.post(f"{base}/open-apis/authen/v2/oauth/token", json={
                "grant_type": "authorization_code", "client_id": provider.client_id,
                "client_secret": secret_of(provider), "code": code, "redirect_uri": redirect_uri,
                "code_verifier": pending.verifier}))
            if answer.get("code") not in (0, None) or not answer.get("access_token"):
                raise provider_error(f"{answer.get('code')} {answer.get('error_description') or answer.get('error') or ''}".strip())
            info = _json(http.get(f"{base}/open-apis/authen/v1/user_info",
                                  headers={"Authorization": f"Bearer {answer['access_token']}"}))
    except httpx.HTTPError as e:
        raise provider_error(type(e).__name__) from None
    if info.get("code") != 0 or not isinstance(info.get("data"), dict):
        raise provider_error(f"{info.get('code')} {info.get('msg') or ''}".strip())
    data = info["data"]
    if provider.tenant_key and data.get("tenant_key") != provider.tenant_key:
        raise provider_error("another tenant")  # a person of another company, on an app open to several
    claims = {name: str(data[name]) for name in ("union_id", "open_id", "mobile") if data.get(name)}
    if data.get("enterprise_email"):  # the personal `email` is whatever the person typed: never matched
        claims["email"] = str(data["enterprise_email"])
    if "open_id" not in claims:
        raise provider_error("no open_id")
    return Identity(claims["open_id"], str(data.get("name") or ""), claims)


@dataclass(frozen=True)
class Protocol:
    label: str  # the login button's English text (a locale key); {name} is the provider's name
    authorize: Callable[[SignInProvider, str, Pending], str]
    identity: Callable[[SignInProvider, str, str, Pending], Identity]


PROTOCOLS: dict[str, Protocol] = {
    "oidc": Protocol("Sign in with {name}", _oidc_authorize, _oidc_identity),
    "feishu": Protocol("Sign in with Feishu", _feishu_authorize, _feishu_identity),
}


# -- the flow -------------------------------------------------------------------------------------
def provider_of(ws: Workspace, key: str) -> SignInProvider:
    found = ws.config.sign_in_providers.get(key)
    if found is None or found.type not in PROTOCOLS:
        raise GridbaseError(code="sso_unknown_provider", params={"provider": key})
    return found


def begin(ws: Workspace, key: str, redirect_uri: str, target: str, *, seconds: int) -> tuple[str, Pending]:
    """(the provider's authorization URL, what the callback must find again); the state is good
    for `seconds` and once."""
    provider = provider_of(ws, key)
    pending = Pending(key, secrets.token_urlsafe(24), secrets.token_urlsafe(24), generate_token(64), target)
    url = PROTOCOLS[provider.type].authorize(provider, redirect_uri, pending)
    sessions.begin_flow(ws, key, pending.state, seconds)
    return url, pending


def take(ws: Workspace, pending: Pending) -> bool:
    """True if this server issued the flow's state, it has not expired and was not taken before."""
    return sessions.take_flow(ws, pending.provider, pending.state)


def identity(ws: Workspace, pending: Pending, redirect_uri: str, code: str) -> Identity:
    """Exchange the code and read who signed in (GridbaseError sso_provider_error if anything is off)."""
    provider = provider_of(ws, pending.provider)
    return PROTOCOLS[provider.type].identity(provider, redirect_uri, code, pending)


def _digits(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def match_person(ws: Workspace, key: str, who: Identity) -> str | None:
    """The key of the one person this identity is, by the provider's `match` list; None if
    nobody (or more than one person) matches."""
    provider = provider_of(ws, key)
    for claim in provider.match or DEFAULT_MATCH.get(provider.type, ["email"]):
        value = who.claims.get(claim)
        if not value:
            continue
        if claim == "email":
            found = people.keys_by_email(ws.storage, value)
        elif claim == "mobile":
            found = [k for k, phone in people.phones(ws.storage) if phone and _digits(phone) == _digits(value)]
        else:
            found = [p.key for p in ws.config.people.values()
                     for channel, ids in p.accounts.items()
                     if (provider.channel is None or channel == provider.channel) and ids.get(claim) == value]
        found = sorted(set(found))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            return None
    return None
