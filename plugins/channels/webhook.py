"""The generic webhook channel (`type: webhook`): a signed JSON POST to any URL.

The body is `{event, title, body, link, recipient: {name, email, phone}, data,
idempotency_key}` as UTF-8 JSON. With a secret, the header `X-Gridbase-Signature` is
`sha256=` + the hex HMAC-SHA256 of the exact body bytes, keyed with the secret; the receiver
recomputes it over the bytes it received. `X-Gridbase-Timestamp` (Unix seconds) and
`Idempotency-Key` are always sent; a receiver should ignore a key it has already seen, since a
delivery whose answer was lost is sent again with the same key.

`format: airtable` sends what Airtable's webhooks send (the pings of engine.webhooks): the body
is the message's `data` alone (`{base: {id}, webhook: {id}, timestamp}`), and the header
`X-Airtable-Content-MAC` is `hmac-sha256=` + the hex HMAC-SHA256 of the body, keyed with the
base64-decoded secret (the webhook's `macSecretBase64`).
"""

from __future__ import annotations

import base64
import binascii
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
        "format": Option(str, choices=("gridbase", "airtable"),
                         help="gridbase (default) or airtable: Airtable's webhook ping and MAC header"),
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
        if self.options.get("format") == "airtable":
            self._send_airtable(message)
            return
        secret = self.secret("secret")
        body = json.dumps(self.payload(message), ensure_ascii=False, default=str).encode("utf-8")
        headers = {
            "X-Gridbase-Timestamp": str(int(time.time())),
            "Idempotency-Key": message.idempotency_key,
        }
        if secret:
            headers["X-Gridbase-Signature"] = signature(secret, body)
        self.post(self.url, body, message, headers)

    def _send_airtable(self, message: OutgoingMessage) -> None:
        secret = self.secret("secret") or ""
        try:
            key = base64.b64decode(secret.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeError):
            raise self.error("the MAC secret is not base64", retryable=False) from None
        body = json.dumps(message.data, separators=(",", ":")).encode("ascii")
        mac = "hmac-sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        self.post(self.url, body, message, {"X-Airtable-Content-MAC": mac, "Idempotency-Key": message.idempotency_key})
