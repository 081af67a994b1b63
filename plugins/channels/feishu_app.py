"""The Feishu (Lark) custom app channel (`type: feishu_app`): a card to one person, in their own Feishu.

Unlike the group bot (`type: feishu`), an app sends direct messages: one delivery per person
(`PERSONAL`). Calls go through the official `lark-oapi` client, pointed at `base_url` with
`lark.Client.builder().domain(base_url)` (the SDK takes a custom origin cleanly; it accepts
plain http only for 127.0.0.1/localhost, which is what the tests' stand-in uses).

- Token: `POST /open-apis/auth/v3/tenant_access_token/internal` with `app_id` and the secret
  from `app_secret_env` (never in YAML). The token is cached per (base_url, app_id) for the
  whole process (`plugins.channels.appchannel`) and fetched again `REFRESH_MARGIN` seconds before its `expire`; if Feishu
  still answers a token error (`TOKEN_CODES`: missing, invalid, expired), the cached token is
  dropped, a new one fetched and the message sent once more. The SDK's own token cache is
  process-global and cannot be given a per-channel margin, so the client runs with
  `enable_set_token(True)` and gets the token with each request.
- Message: `POST /open-apis/im/v1/messages?receive_id_type=…` with `msg_type: interactive`:
  a card with the title as its header, the body's lines as plain text (never `lark_md`, so
  a record value cannot inject markup or mentions) and, when the record link is absolute
  (`GRIDBASE_PUBLIC_URL` set), a button that opens it. The receiver is the person's
  `accounts: {<channel key>: {open_id | user_id | union_id: …}}` id in workspace.yaml, else
  their e-mail (`receive_id_type=email`). The body's `uuid` is derived from the delivery's
  idempotency key, so Feishu itself drops a repeat within an hour (after a crash mid-send).
- Errors: `code` 0 is success. Rate limits (`RETRY_CODES`), HTTP 429/5xx, timeouts and
  connection errors are retryable; an unknown or out-of-scope person, a missing permission
  or a bad request is not (dead letter), with the reason in words.

The SDK sends with `requests` and follows redirects itself, so only `base_url` is checked
against `plugins.netguard` (before every send), not each redirect hop; Feishu's API does not
redirect.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable
from functools import cache
from types import SimpleNamespace
from typing import Any, ClassVar

import requests

from engine.channels import (
    APPROVAL_EVENT,
    Channel,
    DeliveryError,
    Option,
    OutgoingMessage,
    truncate_utf8,
)
from plugins.channels.appchannel import TokenCache
from plugins.netguard import UnresolvableHost, UnsafeURL, check_url, split_url

DEFAULT_BASE_URL = "https://open.feishu.cn"


@cache
def sdk() -> SimpleNamespace:
    """The lark-oapi modules this channel uses, imported on its first message.

    Importing `lark_oapi` loads every Feishu service: 3–4 s of CPU on a small server, measured.
    Every `gridbase` command and every server start loads the registered channels, so a
    workspace that never sends to a Feishu app would pay that each time; this is the one place
    a module is imported on first use, for that cost alone.
    """
    return SimpleNamespace(lark=importlib.import_module("lark_oapi"),
                           auth=importlib.import_module("lark_oapi.api.auth.v3"),
                           im=importlib.import_module("lark_oapi.api.im.v1"),
                           contact=importlib.import_module("lark_oapi.api.contact.v3"))
REFRESH_MARGIN = 600.0  # fetch a new token this many seconds before the old one expires
MAX_CARD_TEXT = 20_000  # bytes of body text; Feishu refuses cards over 30 KB

# 99991661 no token, 99991663 invalid tenant token, 99991668 invalid token, 99991677 token expired.
TOKEN_CODES = {99991661, 99991663, 99991668, 99991677}
# 99991400 the app calls too often; 230020 too many messages to one person or chat.
RETRY_CODES = {99991400, 230020}
RETRY_STATUSES = {408, 425, 429}
# Not retryable, said in words (anything else not retryable is reported with Feishu's msg).
HINTS = {
    10003: "the app_id or app_secret is wrong",
    10014: "the app_secret is wrong",
    99991672: "the app lacks a permission (scope) it needs: add im:message:send_as_bot and publish a version",
    230001: "Feishu refused the request as invalid",
    230006: "the app's bot ability is not enabled (enable it and publish a version)",
    230013: "the person is outside the app's availability range",
    230027: "the app lacks a permission it needs to message this person",
    99992351: "no such open_id",
    99992360: "no such user_id",
    99992361: "the open_id belongs to another app (open_ids are per app)",
    99992364: "no such user_id or union_id in this tenant",
}

LOOKUP_BATCH = 50  # e-mails and mobiles of one contact/v3/users/batch_get_id call, each at most
TOKENS = TokenCache(REFRESH_MARGIN)  # by (base_url, app_id), for the whole process


class FeishuAppChannel(Channel):
    """Sends each notification as an interactive card to one person through a Feishu custom app."""

    type: ClassVar[str] = "feishu_app"
    PERSONAL: ClassVar[bool] = True
    ACCOUNT_IDS: ClassVar[tuple[str, ...]] = ("open_id", "user_id", "union_id")
    OPTIONS: ClassVar[dict[str, Option]] = {
        **Channel.OPTIONS,
        "app_id": Option(str, required=True, help="the app's App ID (cli_…)"),
        "app_secret_env": Option(str, help="environment variable holding the app's App Secret"),
        "app_secret": Option(str, help="the App Secret itself (tests only)"),
        "base_url": Option(str, help="the OpenAPI origin (default https://open.feishu.cn)"),
        "button_text": Option(str, help="text of the card's button that opens the record (default 打开记录)"),
        "template": Option(str, choices=("blue", "wathet", "turquoise", "green", "yellow", "orange", "red",
                                         "carmine", "violet", "purple", "indigo", "grey"),
                           help="colour of the card's header (default blue)"),
    }

    def __init__(self, key: str, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(key, options, **kwargs)
        self.base_url = str(self.options.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        self.app_id = str(self.options["app_id"])
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The lark-oapi client pointed at `base_url`, made on first use (see `sdk`)."""
        if self._client is None:
            lark = sdk().lark
            self._client = (lark.Client.builder().app_id(self.app_id).domain(self.base_url).timeout(self.timeout)
                            .enable_set_token(True).log_level(lark.LogLevel.WARNING).build())
        return self._client

    @classmethod
    def config_errors(cls, options: dict[str, Any]) -> list[str]:
        errors = super().config_errors(options)
        if not isinstance(options, dict):
            return errors
        base = options.get("base_url")
        if isinstance(base, str):
            try:
                scheme, host, _port = split_url(base)
            except UnsafeURL as exc:
                errors.append(f"option 'base_url': {exc.reason}")
            else:
                rest = base.rstrip("/").split("://", 1)[-1]
                if "/" in rest or "?" in rest or "#" in rest or "@" in rest:
                    errors.append("option 'base_url' must be an origin such as https://open.feishu.cn, no path")
                elif scheme != "https" and host not in ("127.0.0.1", "localhost", "::1", "[::1]"):
                    errors.append("option 'base_url' must use https")
        if isinstance(options.get("app_id"), str) and not options["app_id"].strip():
            errors.append("option 'app_id' must not be empty")
        if "app_secret_env" not in options and "app_secret" not in options:
            errors.append("a feishu_app channel needs the option 'app_secret_env'")
        return errors

    # -- the message ---------------------------------------------------------------------------

    def receiver(self, message: OutgoingMessage) -> tuple[str, str]:
        """(receive_id_type, receive_id) for the message's person."""
        for kind in self.ACCOUNT_IDS:
            value = message.recipient_ids.get(kind)
            if value:
                return kind, value
        if message.recipient_email:
            return "email", message.recipient_email
        who = message.recipient_name or "the recipient"
        raise self.error(f"{who} has no Feishu id (accounts: {{{self.key}: {{open_id: …}}}} in workspace.yaml) "
                         "and no e-mail", retryable=False)

    def card(self, message: OutgoingMessage) -> dict[str, Any]:
        """The interactive card: header = title, plain-text body lines, a button to the record."""
        elements: list[dict[str, Any]] = []
        body = truncate_utf8(message.body.strip(), MAX_CARD_TEXT)
        if body:
            elements.append({"tag": "div", "text": {"tag": "plain_text", "content": body}})
        if message.link.startswith(("https://", "http://")):
            button = {"tag": "button", "type": "primary", "url": message.link,
                      "text": {"tag": "plain_text", "content": "审批（批准 / 驳回）" if message.event == APPROVAL_EVENT
                               else self.options.get("button_text") or "打开记录"}}
            elements.append({"tag": "action", "actions": [button]})
        return {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": message.title or "Gridbase"},
                       "template": self.options.get("template") or "blue"},
            "elements": elements,
        }

    def send(self, message: OutgoingMessage) -> None:
        self._guard()
        id_type, receive_id = self.receiver(message)
        im = sdk().im
        body = (im.CreateMessageRequestBody.builder().receive_id(receive_id).msg_type("interactive")
                .content(json.dumps(self.card(message), ensure_ascii=False))
                .uuid(hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:40]).build())
        request = im.CreateMessageRequest.builder().receive_id_type(id_type).request_body(body).build()
        for attempt in (1, 2):
            token = self.token(fresh=attempt == 2)
            option = sdk().lark.RequestOption.builder().tenant_access_token(token).build()
            response = self._call(self.client.im.v1.message.create, request, option)
            code = response.code
            if code == 0:
                return
            if code in TOKEN_CODES and attempt == 1:
                self._forget(token)
                continue
            raise self._failure(code, response.msg, response.raw.status_code if response.raw else 0)

    # -- looking people up ----------------------------------------------------------------------

    def find_accounts(self, emails: list[str], mobiles: list[str]) -> dict[str, dict[str, str]]:
        """open_ids by e-mail and mobile: `POST /open-apis/contact/v3/users/batch_get_id`
        (`user_id_type=open_id`, 50 of each a call; the app needs the contact scopes to read
        users' ids by e-mail and mobile). Resigned people are not looked for."""
        self._guard()
        contact = sdk().contact
        found: dict[str, dict[str, str]] = {}
        for start in range(0, max(len(emails), len(mobiles)), LOOKUP_BATCH):
            body = (contact.BatchGetIdUserRequestBody.builder().emails(emails[start:start + LOOKUP_BATCH])
                    .mobiles(mobiles[start:start + LOOKUP_BATCH]).include_resigned(False).build())
            request = contact.BatchGetIdUserRequest.builder().user_id_type("open_id").request_body(body).build()
            response = self._with_token(self.client.contact.v3.user.batch_get_id, request, "looking people up")
            for item in (response.data.user_list if response.data else None) or []:
                asked = item.email or item.mobile
                if item.user_id and asked:
                    found[asked] = {"open_id": item.user_id}
        return found

    def _with_token(self, call: Callable[..., Any], request: Any, what: str) -> Any:
        """One SDK call with the tenant token, once more with a new token after a token error."""
        for attempt in (1, 2):
            token = self.token(fresh=attempt == 2)
            option = sdk().lark.RequestOption.builder().tenant_access_token(token).build()
            response = self._call(call, request, option)
            if response.code == 0:
                return response
            if response.code in TOKEN_CODES and attempt == 1:
                self._forget(token)
                continue
            raise self._failure(response.code, response.msg, response.raw.status_code if response.raw else 0, what=what)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the token -----------------------------------------------------------------------------

    def token(self, *, fresh: bool = False) -> str:
        """A tenant access token: the cached one while it has `REFRESH_MARGIN` left, else a new one."""
        return TOKENS.get((self.base_url, self.app_id), self._fetch_token, fresh=fresh)

    def _fetch_token(self) -> tuple[str, float]:
        secret = self.secret("app_secret") or ""
        auth = sdk().auth
        body = auth.InternalTenantAccessTokenRequestBody.builder().app_id(self.app_id).app_secret(secret).build()
        request = auth.InternalTenantAccessTokenRequest.builder().request_body(body).build()
        response = self._call(self.client.auth.v3.tenant_access_token.internal, request)
        status = response.raw.status_code if response.raw else 0
        if response.code != 0:
            raise self._failure(response.code, response.msg, status, what="getting a tenant access token")
        try:
            data = json.loads(response.raw.content)
            token, expire = str(data["tenant_access_token"]), float(data["expire"])
        except (ValueError, KeyError, TypeError):
            raise self.error("the token answer has no tenant_access_token", retryable=True) from None
        self.redact(token)
        return token, expire

    def _forget(self, token: str) -> None:
        TOKENS.forget((self.base_url, self.app_id), token)

    # -- helpers -------------------------------------------------------------------------------

    def _guard(self) -> None:
        try:
            check_url(self.base_url, self.allowed_hosts)
        except UnresolvableHost as exc:
            raise self.error(exc.reason, retryable=True) from None
        except UnsafeURL as exc:
            raise self.error(f"refused to send: {exc.reason}", retryable=False) from None

    def _call(self, call: Callable[..., Any], *args: Any) -> Any:
        """Run one SDK call; network trouble and unreadable answers become retryable errors."""
        try:
            return call(*args)
        except requests.Timeout:
            raise self.error(f"Feishu did not answer within {self.timeout:g}s", retryable=True) from None
        except requests.RequestException as exc:
            raise self.error(f"cannot reach Feishu: {type(exc).__name__}", retryable=True) from None
        except ValueError:  # not JSON: a proxy's or gateway's error page
            raise self.error("Feishu's answer is not JSON", retryable=True) from None

    def _failure(self, code: Any, msg: Any, status: int, *, what: str = "sending") -> DeliveryError:
        retryable = code in RETRY_CODES or code in TOKEN_CODES or status >= 500 or status in RETRY_STATUSES
        hint = HINTS.get(code) if isinstance(code, int) else None
        said = f"{hint} ({msg})" if hint else str(msg or "no message")
        return self.error(f"Feishu answered code {code} {what}: {said[:300]}", retryable=retryable)
