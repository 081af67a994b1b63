"""The WeCom (企业微信) group bot channel (`type: wecom`).

Posts to the bot's webhook URL (`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=<key>`)
either `{"msgtype": "text", "text": {"content", "mentioned_mobile_list"}}` or
`{"msgtype": "markdown", "markdown": {"content"}}`. WeCom bots have no signature: the key in
the URL is the credential, so the URL itself is treated as a secret. Content is cut to WeCom's
limits (2048 bytes of text, 4096 of markdown). WeCom answers HTTP 200 with `{"errcode": 0}`
on success; any other errcode is a failure.
"""

from __future__ import annotations

from typing import Any, ClassVar

from engine.channels import Option, OutgoingMessage, truncate_utf8
from plugins.channels.httppost import HttpChannel

TEXT_LIMIT = 2048
MARKDOWN_LIMIT = 4096
RATE_LIMIT_CODES = {45009}  # API frequency limit; passes with time


class WeComChannel(HttpChannel):
    """Sends notifications to a WeCom group through a group bot."""

    type: ClassVar[str] = "wecom"
    OPTIONS: ClassVar[dict[str, Option]] = {
        **HttpChannel.OPTIONS,
        "format": Option(str, choices=("text", "markdown"), help="message kind (default text)"),
        "mention": Option(bool, help="@-mention the recipient by mobile number (text only)"),
    }

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        """The JSON object sent for `message`."""
        if self.options.get("format", "text") == "markdown":
            parts = [f"**{message.title}**", message.body]
            if message.link:
                parts.append(f"[{message.link}]({message.link})")
            content = "\n".join(p for p in parts if p)
            return {"msgtype": "markdown",
                    "markdown": {"content": truncate_utf8(content, MARKDOWN_LIMIT)}}
        text: dict[str, Any] = {"content": truncate_utf8(message.text(), TEXT_LIMIT)}
        if self.options.get("mention") and message.recipient_phone:
            text["mentioned_mobile_list"] = [message.recipient_phone]
        return {"msgtype": "text", "text": text}

    def send(self, message: OutgoingMessage) -> None:
        answer = self.reply_json(self.post_json(self.url, self.payload(message), message))
        self.api_error(answer.get("errcode"), answer.get("errmsg"), retry_codes=RATE_LIMIT_CODES)
