"""The DingTalk (钉钉) custom robot channel (`type: dingtalk`).

Posts to the robot's webhook URL (`https://oapi.dingtalk.com/robot/send?access_token=<token>`)
either `{"msgtype": "text", "text": {"content"}, "at": {...}}` or
`{"msgtype": "markdown", "markdown": {"title", "text"}, "at": {...}}`. With 加签 (signing)
on, the query gains `timestamp` (Unix milliseconds) and `sign` =
urlencode(base64(HMAC-SHA256(key = secret, message = "{timestamp}\\n{secret}"))). DingTalk
answers HTTP 200 with `{"errcode": 0}` on success; any other errcode is a failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any, ClassVar

import httpx

from engine.channels import Option, OutgoingMessage
from plugins.channels.httppost import HttpChannel

RATE_LIMIT_CODES = {130101}  # sending too fast; passes with time


def sign(timestamp: str, secret: str) -> str:
    """DingTalk's `sign` for `timestamp`, base64 but not yet URL-encoded."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode("ascii")


class DingTalkChannel(HttpChannel):
    """Sends notifications to a DingTalk group through a custom robot."""

    type: ClassVar[str] = "dingtalk"
    OPTIONS: ClassVar[dict[str, Option]] = {
        **HttpChannel.OPTIONS,
        "secret_env": Option(str, help="environment variable holding the robot's SEC... secret"),
        "secret": Option(str, help="the signing secret itself (tests only)"),
        "format": Option(str, choices=("text", "markdown"), help="message kind (default text)"),
        "mention": Option(bool, help="@-mention the recipient by mobile number"),
    }

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        """The JSON object sent for `message`."""
        mobiles = []
        if self.options.get("mention") and message.recipient_phone:
            mobiles = [message.recipient_phone]
        at = {"atMobiles": mobiles, "isAtAll": False}
        if self.options.get("format", "text") == "markdown":
            parts = [f"### {message.title}", message.body]
            if message.link:
                parts.append(f"[{message.link}]({message.link})")
            # DingTalk only notifies a markdown @-mention that also appears in the text.
            parts.extend(f"@{m}" for m in mobiles)
            text = "\n\n".join(p for p in parts if p)
            return {"msgtype": "markdown", "markdown": {"title": message.title, "text": text},
                    "at": at}
        return {"msgtype": "text", "text": {"content": message.text()}, "at": at}

    def signed_url(self) -> str:
        """The webhook URL with `timestamp` and `sign` added when a secret is set."""
        secret = self.secret("secret")
        if not secret:
            return self.url
        timestamp = str(int(time.time() * 1000))
        # httpx URL-encodes the query value, which is the urlencode step of the recipe.
        url = httpx.URL(self.url).copy_merge_params({"timestamp": timestamp,
                                                     "sign": sign(timestamp, secret)})
        return str(url)

    def send(self, message: OutgoingMessage) -> None:
        answer = self.reply_json(self.post_json(self.signed_url(), self.payload(message), message))
        self.api_error(answer.get("errcode"), answer.get("errmsg"), retry_codes=RATE_LIMIT_CODES)
