"""The DingTalk (钉钉) internal app channel (`type: dingtalk_app`): a work notification to one person.

Unlike the group robot (`type: dingtalk`), an app sends a *work notification* (工作通知) to a
person: one delivery per person (`PERSONAL`), to their DingTalk `userid` from workspace.yaml
(`accounts: {<channel key>: {userid: …}}`); a person without one is a dead letter that says so.

- Token: `GET /gettoken?appkey=…&appsecret=…` → `{"errcode": 0, "access_token", "expires_in":
  7200}`, cached per (base_url, app_key) for the process (`plugins.channels.appchannel`) and
  fetched again ten minutes before it ends, or at once on errcode 40014/41001/42001 (the
  message is then sent once more).
- Message: `POST /topapi/message/corpconversation/asyncsend_v2?access_token=…` with
  `{"agent_id", "userid_list": "<userid>", "msg": …}`: an `oa` message (header and body title =
  the title, body content = the text, `message_url` = the record) when the record link is
  absolute, else a `text` message. An approval request is an `action_card` (title, markdown,
  `btn_json_list: [{"title": "去审批", "action_url": <the record page>}]`), like WeCom's and
  Feishu's cards with their button: it opens the record page, where the person signs in and
  decides; no button decides by itself. All are plain text: a record value cannot add
  markdown (the action card's body has the markdown characters replaced, `plain_markdown`).
- Errors: -1 (busy), 90018 (calls over the limit), HTTP 429/5xx and timeouts retry; anything
  else (40089 wrong appkey/appsecret, 88 no permission, …) is a dead letter.

DingTalk sends work notifications asynchronously: a userid outside the app's range is
accepted (`task_id`) and dropped later, and DingTalk shows the same content to the same person
at most once a day. Neither is visible at send time; `getsendresult` would tell, and is not
called.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlencode

from engine.channels import DeliveryError, Option, OutgoingMessage
from plugins.channels.appchannel import AppChannel, TokenCache, card_of, text_of

DEFAULT_BASE_URL = "https://oapi.dingtalk.com"
TOKEN_CODES = {40014, 41001, 42001}
RETRY_CODES = {-1, 90018}
HINTS = {
    40089: "the app_key or app_secret is wrong",
    88: "DingTalk refused the app (see sub_msg: often a missing permission)",
    33001: "the access token does not belong to this organisation",
}
TOKENS = TokenCache(600.0)
# An action card's body is markdown: a record's text must not add links, images or emphasis to it,
# so the characters that make them are written as their full-width twins (and "://" loses its colon).
MARKDOWN_TWINS = str.maketrans({"[": "［", "]": "］", "(": "（", ")": "）", "*": "＊", "_": "＿", "#": "＃", "!": "！",
                                "<": "＜", ">": "＞", "`": "｀", "|": "｜", "~": "～", "\\": "＼"})


def plain_markdown(text: str) -> str:
    """`text` shown as itself in DingTalk markdown (no link, image, heading or emphasis it could make)."""
    return text.translate(MARKDOWN_TWINS).replace("://", "：//")


class DingTalkAppChannel(AppChannel):
    """Sends each notification as a DingTalk work notification to one person."""

    type: ClassVar[str] = "dingtalk_app"
    PERSONAL: ClassVar[bool] = True
    ACCOUNT_IDS: ClassVar[tuple[str, ...]] = ("userid",)
    DEFAULT_BASE_URL: ClassVar[str] = DEFAULT_BASE_URL
    OPTIONS: ClassVar[dict[str, Option]] = {
        **AppChannel.OPTIONS,
        "app_key": Option(str, required=True, help="the app's AppKey (Client ID)"),
        "agent_id": Option(int, required=True, help="the app's AgentId"),
        "app_secret_env": Option(str, help="environment variable holding the app's AppSecret"),
        "app_secret": Option(str, help="the AppSecret itself (tests only)"),
    }

    @classmethod
    def config_errors(cls, options: dict[str, Any]) -> list[str]:
        errors = super().config_errors(options)
        if isinstance(options, dict) and "app_secret_env" not in options and "app_secret" not in options:
            errors.append("a dingtalk_app channel needs the option 'app_secret_env'")
        return errors

    def payload(self, message: OutgoingMessage, userid: str) -> dict[str, Any]:
        """The asyncsend_v2 body for one person."""
        card = card_of(message, title_limit=200, body_limit=2000, button="")
        if card is None:
            msg: dict[str, Any] = {"msgtype": "text", "text": {"content": text_of(message, 2000)}}
        elif card.approval:  # an action card: its button opens the record page, where the person decides
            msg = {"msgtype": "action_card", "action_card": {
                "title": card.title, "markdown": f"### {plain_markdown(card.title)}\n\n{plain_markdown(card.body)}",
                "btn_orientation": "0", "btn_json_list": [{"title": card.button, "action_url": card.link}]}}
        else:
            msg = {"msgtype": "oa", "oa": {"message_url": card.link, "head": {"bgcolor": "FF1677FF", "text": card.title},
                                           "body": {"title": card.title, "content": card.body}}}
        return {"agent_id": self.options["agent_id"], "userid_list": userid, "msg": msg}

    def send(self, message: OutgoingMessage) -> None:
        userid = message.recipient_ids.get("userid")
        if not userid:
            who = message.recipient_name or "the recipient"
            raise self.error(f"{who} has no DingTalk userid (accounts: {{{self.key}: {{userid: …}}}} "
                             "in workspace.yaml)", retryable=False)
        payload = self.payload(message, userid)
        for attempt in (1, 2):
            token = self.token(fresh=attempt == 2)
            url = f"{self.base_url}/topapi/message/corpconversation/asyncsend_v2?{urlencode({'access_token': token})}"
            answer = self.reply_json(self.post_json(url, payload, message))
            code = answer.get("errcode")
            if code in TOKEN_CODES and attempt == 1:
                TOKENS.forget(self._cache_key(), token)
                continue
            if code != 0:
                raise self._failure(code, answer.get("sub_msg") or answer.get("errmsg"))
            return

    def token(self, *, fresh: bool = False) -> str:
        return TOKENS.get(self._cache_key(), self._fetch_token, fresh=fresh)

    def _cache_key(self) -> tuple[str, ...]:
        return (self.base_url, str(self.options["app_key"]))

    def _fetch_token(self) -> tuple[str, float]:
        secret = self.secret("app_secret") or ""
        answer = self.get_json(f"{self.base_url}/gettoken?{urlencode({'appkey': self.options['app_key'], 'appsecret': secret})}")
        if answer.get("errcode") != 0 or not answer.get("access_token"):
            raise self._failure(answer.get("errcode"), answer.get("errmsg"), what="getting an access token")
        token = str(answer["access_token"])
        self.redact(token)
        return token, float(answer.get("expires_in") or 7200)

    def _failure(self, code: Any, msg: Any, *, what: str = "sending") -> DeliveryError:
        hint = HINTS.get(code) if isinstance(code, int) else None
        said = f"{hint} ({msg})" if hint else str(msg or "no message")
        return self.error(f"DingTalk answered errcode {code} {what}: {said[:300]}", retryable=code in RETRY_CODES)
