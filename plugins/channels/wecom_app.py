"""The WeCom (企业微信) self-built app channel (`type: wecom_app`): an app message to one person.

Unlike the group bot (`type: wecom`), an app messages a person directly: one delivery per
person (`PERSONAL`), to their WeCom `userid` from workspace.yaml
(`accounts: {<channel key>: {userid: …}}`); WeCom has no send-by-e-mail, so a person without
a userid is a dead letter that says so.

- Token: `GET /cgi-bin/gettoken?corpid=…&corpsecret=…` → `{"errcode": 0, "access_token",
  "expires_in": 7200}`, cached per (base_url, corp_id, agent_id) for the process
  (`plugins.channels.appchannel`) and fetched again ten minutes before it ends, or at once when
  WeCom answers 40014/41001/42001 (invalid, missing, expired token; the message is then sent
  once more).
- Message: `POST /cgi-bin/message/send?access_token=…` with `{"touser", "agentid",
  "msgtype": "textcard", "textcard": {"title", "description", "url", "btntxt"}}` when the
  record link is absolute, else `msgtype: "text"`. Title and description are cut to WeCom's
  128 and 512 bytes, text to 2048. A success that lists the person in `invaliduser` is not a
  success (the person is outside the app's visible range).
- Errors: 45009/45033 (too many calls) and -1 (system busy), HTTP 429/5xx and timeouts retry;
  everything else (40001 wrong secret, 40013 wrong corp_id, 40056 wrong agent_id, 60020 an IP
  not on the app's allow list, 81013 unknown or out-of-range person, …) is a dead letter.
Requests go through `HttpChannel`'s guarded transport: every URL is checked by
`plugins.netguard`; the secret and the token, which travel in query strings, are scrubbed
from every error.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlencode

from engine.channels import DeliveryError, Option, OutgoingMessage
from plugins.channels.appchannel import AppChannel, TokenCache, card_of, text_of

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
TOKEN_CODES = {40014, 41001, 42001}
RETRY_CODES = {-1, 45009, 45033}
NOT_FOUND_CODES = {46004, 60111}  # no member with that mobile or e-mail (user no exist; userid not found)
HINTS = {
    40001: "the corp_secret is wrong",
    40013: "the corp_id is wrong",
    40056: "the agent_id is wrong",
    60020: "this server's IP is not on the app's trusted IP list (企业可信IP)",
    81013: "the person is unknown or outside the app's visible range",
    301002: "the secret belongs to another app than agent_id",
}
TOKENS = TokenCache(600.0)


class WeComAppChannel(AppChannel):
    """Sends each notification as a WeCom app message (a text card) to one person."""

    type: ClassVar[str] = "wecom_app"
    PERSONAL: ClassVar[bool] = True
    ACCOUNT_IDS: ClassVar[tuple[str, ...]] = ("userid",)
    DEFAULT_BASE_URL: ClassVar[str] = DEFAULT_BASE_URL
    OPTIONS: ClassVar[dict[str, Option]] = {
        **AppChannel.OPTIONS,
        "corp_id": Option(str, required=True, help="the enterprise's CorpID (ww…)"),
        "agent_id": Option(int, required=True, help="the app's AgentId"),
        "corp_secret_env": Option(str, help="environment variable holding the app's Secret"),
        "corp_secret": Option(str, help="the app's Secret itself (tests only)"),
        "button_text": Option(str, help="the card's link text, at most 4 characters (default 详情)"),
    }

    @classmethod
    def config_errors(cls, options: dict[str, Any]) -> list[str]:
        errors = super().config_errors(options)
        if not isinstance(options, dict):
            return errors
        if "corp_secret_env" not in options and "corp_secret" not in options:
            errors.append("a wecom_app channel needs the option 'corp_secret_env'")
        if isinstance(options.get("button_text"), str) and len(options["button_text"]) > 4:
            errors.append("option 'button_text' may have at most 4 characters (WeCom's limit)")
        return errors

    def payload(self, message: OutgoingMessage, userid: str) -> dict[str, Any]:
        """The message/send body for one person."""
        common = {"touser": userid, "agentid": self.options["agent_id"], "safe": 0}
        card = card_of(message, title_limit=128, body_limit=512, button=self.options.get("button_text") or "详情")
        if card is None:
            return {**common, "msgtype": "text", "text": {"content": text_of(message, 2048)}}
        return {**common, "msgtype": "textcard", "textcard": {
            "title": card.title, "description": card.body, "url": card.link, "btntxt": card.button}}

    def send(self, message: OutgoingMessage) -> None:
        userid = message.recipient_ids.get("userid")
        if not userid:
            who = message.recipient_name or "the recipient"
            raise self.error(f"{who} has no WeCom userid (accounts: {{{self.key}: {{userid: …}}}} "
                             "in workspace.yaml)", retryable=False)
        payload = self.payload(message, userid)
        for attempt in (1, 2):
            token = self.token(fresh=attempt == 2)
            url = f"{self.base_url}/cgi-bin/message/send?{urlencode({'access_token': token})}"
            answer = self.reply_json(self.post_json(url, payload, message))
            code = answer.get("errcode")
            if code in TOKEN_CODES and attempt == 1:
                TOKENS.forget(self._cache_key(), token)
                continue
            if code != 0:
                raise self._failure(code, answer.get("errmsg"))
            invalid = str(answer.get("invaliduser") or "").lower().split("|")
            if userid.lower() in invalid:
                raise self._failure(81013, "invaliduser")
            return

    def find_accounts(self, emails: list[str], mobiles: list[str]) -> dict[str, dict[str, str]]:
        """userids by e-mail (`POST /cgi-bin/user/get_userid_by_email`, email_type 1: the work
        e-mail) and by mobile (`POST /cgi-bin/user/getuserid`), one call each; someone WeCom
        does not know (46004, 60111) is not found, any other error stops the lookup."""
        asks = ([("get_userid_by_email", {"email": e, "email_type": 1}, e) for e in emails]
                + [("getuserid", {"mobile": m}, m) for m in mobiles])
        lookup = OutgoingMessage(idempotency_key=f"{self.key}:sync-ids", title="", body="")
        found: dict[str, dict[str, str]] = {}
        for path, body, asked in asks:
            for attempt in (1, 2):
                token = self.token(fresh=attempt == 2)
                url = f"{self.base_url}/cgi-bin/user/{path}?{urlencode({'access_token': token})}"
                answer = self.reply_json(self.post_json(url, body, lookup))
                code = answer.get("errcode")
                if code in TOKEN_CODES and attempt == 1:
                    TOKENS.forget(self._cache_key(), token)
                    continue
                break
            if code == 0 and answer.get("userid"):
                found[asked] = {"userid": str(answer["userid"])}
            elif code not in NOT_FOUND_CODES:
                raise self._failure(code, answer.get("errmsg"), what="looking people up")
        return found

    def token(self, *, fresh: bool = False) -> str:
        return TOKENS.get(self._cache_key(), self._fetch_token, fresh=fresh)

    def _cache_key(self) -> tuple[str, ...]:
        return (self.base_url, str(self.options["corp_id"]), str(self.options["agent_id"]))

    def _fetch_token(self) -> tuple[str, float]:
        secret = self.secret("corp_secret") or ""
        query = urlencode({"corpid": self.options["corp_id"], "corpsecret": secret})
        answer = self.get_json(f"{self.base_url}/cgi-bin/gettoken?{query}")
        if answer.get("errcode") != 0 or not answer.get("access_token"):
            raise self._failure(answer.get("errcode"), answer.get("errmsg"), what="getting an access token")
        token = str(answer["access_token"])
        self.redact(token)
        return token, float(answer.get("expires_in") or 7200)

    def _failure(self, code: Any, msg: Any, *, what: str = "sending") -> DeliveryError:
        hint = HINTS.get(code) if isinstance(code, int) else None
        said = f"{hint} ({msg})" if hint else str(msg or "no message")
        return self.error(f"WeCom answered errcode {code} {what}: {said[:300]}", retryable=code in RETRY_CODES)
