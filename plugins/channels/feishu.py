"""The Feishu (Lark) custom group bot channel (`type: feishu`).

Posts to the bot's webhook URL (`https://open.feishu.cn/open-apis/bot/v2/hook/<token>`) a
`msg_type: "post"` rich-text message (title, body lines, a link) or a `msg_type: "text"`
message. With signature verification on, the body also carries `timestamp` (Unix seconds) and
`sign` = base64(HMAC-SHA256(key = "{timestamp}\\n{secret}", message = empty)). Feishu answers
HTTP 200 with `{"code": 0, ...}` on success (older bots: `StatusCode`); any other code is a
failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any, ClassVar

from engine.channels import Option, OutgoingMessage
from plugins.channels.httppost import HttpChannel

# 9499: too many requests; 11232: the bot sends too often. Both pass with time.
RATE_LIMIT_CODES = {9499, 11232}


def sign(timestamp: str, secret: str) -> str:
    """Feishu's `sign` for `timestamp`: the key is the string, the message is empty."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


class FeishuChannel(HttpChannel):
    """Sends notifications to a Feishu group through a custom bot."""

    type: ClassVar[str] = "feishu"
    OPTIONS: ClassVar[dict[str, Option]] = {
        **HttpChannel.OPTIONS,
        "secret_env": Option(str, help="environment variable holding the bot's signing secret"),
        "secret": Option(str, help="the signing secret itself (tests only)"),
        "format": Option(str, choices=("post", "text"), help="message kind (default post)"),
        "language": Option(str, choices=("zh_cn", "en_us", "ja_jp"),
                           help="language key of a post message (default zh_cn)"),
    }

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        """The message JSON, without `timestamp`/`sign`."""
        if self.options.get("format", "post") == "text":
            return {"msg_type": "text", "content": {"text": message.text()}}
        lines: list[list[dict[str, str]]] = [
            [{"tag": "text", "text": line}] for line in message.body.splitlines() or [""]
        ]
        if message.link:
            lines.append([{"tag": "a", "text": message.link, "href": message.link}])
        language = self.options.get("language", "zh_cn")
        post = {language: {"title": message.title, "content": lines}}
        return {"msg_type": "post", "content": {"post": post}}

    def send(self, message: OutgoingMessage) -> None:
        payload = self.payload(message)
        secret = self.secret("secret")
        if secret:
            timestamp = str(int(time.time()))
            payload = {"timestamp": timestamp, "sign": sign(timestamp, secret), **payload}
        answer = self.reply_json(self.post_json(self.url, payload, message))
        code = answer.get("code", answer.get("StatusCode"))
        self.api_error(code, answer.get("msg", answer.get("StatusMessage")),
                       retry_codes=RATE_LIMIT_CODES)
