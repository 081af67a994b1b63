"""Deliveries: notifications handed to channels, with retries, backoff and a dead letter.

A *delivery* is one row of engine.deliveries: one message for one channel (a person's e-mail, a
group bot, an action's webhook), keyed by a unique *delivery key* that is also the channel's
idempotency key. Its life: `pending` → `sending` → `sent`; a retryable failure goes back to
`pending` with `next_at` pushed out (30 s × 2^(attempts-1), ±20 % jitter, at most 1 h); the
sixth failure, or any non-retryable one, makes it `dead`. `retry_dead` puts a dead delivery
back in the queue.

Guarantee, stated honestly: the row is marked `sending` and committed *before* the network
call. If the process dies during the call, the row stays `sending`; `recover_sending` (run
when the worker starts) puts rows older than five minutes back to `pending` and they are
sent again with the same idempotency key. So a channel may see a message twice after a
crash (at-least-once); the webhook sends the key as `Idempotency-Key` and e-mail derives its
`Message-ID` from it, so receivers that dedupe see it once. The in-app inbox is exactly once.
"""

from __future__ import annotations

import json
import logging
import os
import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from engine import deliveries
from engine.channels import Channel, ChannelConfigError, DeliveryError, OutgoingMessage
from engine.plugins import channel_types

if TYPE_CHECKING:
    from engine.workspace import Workspace

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BASE_DELAY = 30.0
MAX_DELAY = 3600.0
STALE_AFTER = timedelta(minutes=5)
PUBLIC_URL_ENV = "GRIDBASE_PUBLIC_URL"


def queue(ws: Workspace, *, channel: str, key: str, message: dict[str, Any], person: str | None = None,
          notification: int | None = None, spec: dict[str, Any] | None = None) -> bool:
    """Queue one delivery (call inside a transaction); False if its key is already queued.

    `spec` ({type, options}) builds a channel that is not in workspace.yaml (an action's
    webhook); otherwise `channel` names a workspace channel.
    """
    payload: dict[str, Any] = {"message": message}
    if spec is not None:
        payload["channel"] = spec
    return deliveries.queue(ws.storage.conn, channel=channel, key=key, payload=payload, person=person,
                            notification=notification, at=ws.now())


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after the `attempts`-th failure."""
    delay = min(BASE_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY)
    return float(delay * (rng or random).uniform(0.8, 1.2))


def build_channel(ws: Workspace, name: str, spec: dict[str, Any] | None) -> Channel:
    """The channel object for a delivery; a non-retryable DeliveryError if it cannot be built."""
    if spec is not None:
        ctype, options = spec.get("type", ""), dict(spec.get("options") or {})
    else:
        conf = ws.config.channels.get(name)
        if conf is None:
            raise DeliveryError(f"channel '{name}' is no longer in workspace.yaml", retryable=False)
        ctype, options = conf.type, dict(conf.options)
    cls = channel_types().get(ctype)
    if cls is None:
        raise DeliveryError(f"channel type '{ctype}' is not installed", retryable=False)
    try:
        return cls(name, options, allowed_hosts=ws.config.allowed_hosts)  # type: ignore[no-any-return]
    except ChannelConfigError as exc:
        raise DeliveryError(str(exc), retryable=False) from None


def outgoing(key: str, message: dict[str, Any], url_path: str = "") -> OutgoingMessage:
    """The `OutgoingMessage` for a stored delivery (record links made absolute if possible, under
    `url_path` when the workspace is one of a group's, served at /w/NAME)."""
    link = message.get("link") or ""
    public = os.environ.get(PUBLIC_URL_ENV, "").rstrip("/")
    if public:
        public += url_path
    return OutgoingMessage(
        idempotency_key=key, title=message.get("title", ""), body=message.get("body", ""),
        link=(public + link) if (public and link.startswith("/")) else ("" if link.startswith("/") else link),
        recipient_name=message.get("recipient_name", ""), recipient_email=message.get("recipient_email"),
        recipient_phone=message.get("recipient_phone"), recipient_ids=dict(message.get("recipient_ids") or {}),
        data=dict(message.get("data") or {}),
        event=message.get("event", ""))


def _finish(ws: Workspace, delivery_id: int, attempts: int, now: datetime, error: DeliveryError | None) -> None:
    if error is None:
        deliveries.sent(ws.storage, delivery_id, attempts, now)
    elif error.retryable and attempts < MAX_ATTEMPTS:
        deliveries.later(ws.storage, delivery_id, attempts, now + timedelta(seconds=backoff(attempts)), error.reason)
    else:
        deliveries.dead(ws.storage, delivery_id, attempts, error.reason)


def deliver_due(ws: Workspace, *, now: datetime | None = None, limit: int = 200) -> int:
    """Send up to `limit` due deliveries; return how many were sent successfully."""
    now = now or ws.now()
    cache: dict[str, Channel] = {}
    sent = 0
    for _ in range(limit):
        claimed = deliveries.claim(ws.storage, now)
        if claimed is None:
            break
        delivery_id, name, key, raw, attempts = claimed
        error: DeliveryError | None = None
        try:
            payload = json.loads(raw)
            spec = payload.get("channel")
            cache_key = name if spec is None else json.dumps(spec, sort_keys=True)
            channel = cache.get(cache_key)
            if channel is None:
                channel = cache[cache_key] = build_channel(ws, name, spec)
            channel.send(outgoing(key, payload["message"], ws.config.url_path))
        except DeliveryError as exc:
            error = exc
        except Exception as exc:  # a channel bug must not stop the queue
            log.exception("delivery %s failed unexpectedly", delivery_id)
            error = DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True)
        _finish(ws, delivery_id, attempts + 1, now, error)
        sent += error is None
    return sent


def recover_sending(ws: Workspace, *, older_than: timedelta = STALE_AFTER, now: datetime | None = None) -> int:
    """Put `sending` rows whose send began more than `older_than` ago back to `pending`."""
    return deliveries.recover_sending(ws.storage, (now or ws.now()) - older_than)


def retry_dead(ws: Workspace, delivery_id: int) -> bool:
    """Queue a dead delivery again (attempts start over); False if it is not dead."""
    return deliveries.retry_dead(ws.storage, delivery_id, ws.now())


def list_deliveries(ws: Workspace, *, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Deliveries, newest first (for the admin page): id, channel, person, key, status, attempts..."""
    return [{k: v for k, v in row.items() if k != "payload"}
            for row in deliveries.listed(ws.storage, status=status, limit=limit)]
