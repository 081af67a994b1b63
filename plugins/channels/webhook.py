"""The generic webhook channel (`type: webhook`): a signed JSON POST to any URL.

The body is `{event, title, body, link, recipient: {name, email, phone}, data,
idempotency_key}` as UTF-8 JSON. With a secret, the header `X-Gridbase-Signature` is
`sha256=` + the hex HMAC-SHA256 of the exact body bytes, keyed with the secret; the receiver
recomputes it over the bytes it received. `X-Gridbase-Timestamp` (Unix seconds) and
`Idempotency-Key` are always sent; a receiver should ignore a key it has already seen, since a
delivery whose answer was lost is sent again with the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, ClassVar

from engine.channels import Option, OutgoingMessage
from plugins.channels.httppost import HttpChannel


def signature(secret: str, body: bytes) -> str:
    """The `X-Gridbase-Signature` value for `body`: `sha256=<hex digest>`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookChannel(HttpChannel):
    """POSTs every notification as signed JSON to the configured URL."""

    type: ClassVar[str] = "webhook"
    OPTIONS: ClassVar[dict[str, Option]] = {
        **HttpChannel.OPTIONS,
        "secret_env": Option(str, help="environment variable holding the signing secret"),
        "secret": Option(str, help="the signing secret itself (tests only)"),
    }

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        """The JSON object sent for `message`."""
        return {
            "event": message.event,
            "title": message.title,
            "body": message.body,
            "link": message.link,
            "recipient": {
                "name": message.recipient_name,
                "email": message.recipient_email,
                "phone": message.recipient_phone,
            },
            "data": message.data,
            "idempotency_key": message.idempotency_key,
        }

    def send(self, message: OutgoingMessage) -> None:
        secret = self.secret("secret")
        body = json.dumps(self.payload(message), ensure_ascii=False, default=str).encode("utf-8")
        headers = {
            "X-Gridbase-Timestamp": str(int(time.time())),
            "Idempotency-Key": message.idempotency_key,
        }
        if secret:
            headers["X-Gridbase-Signature"] = signature(secret, body)
        self.post(self.url, body, message, headers)
