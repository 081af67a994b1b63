"""What the app channels share (Feishu, WeCom, DingTalk apps): the token cache and an HTTP base.

Each platform hands an app a token that lives about two hours and limits how often it may be
asked for one. `TokenCache` keeps one token per key (the API origin and the app's id) for the
whole process, gives it out while it has more than `margin` seconds left, and otherwise calls
`fetch()` for a new one; `forget()` drops a token the platform called invalid or expired, so
the next `get()` fetches again. One lock per cache: two workers never fetch at once.

`AppChannel` is the base of the app channels that speak HTTP themselves (WeCom, DingTalk):
a `base_url` origin instead of a bot URL, and `get_json` for the token GETs, through the same
guarded transport as every HTTP channel (`plugins.channels.httppost`). Their messages are
built from one `Card` (`card_of`): a message with an absolute record link becomes a card
(title, body, the link, and its button's words: the approval button's for an approval
request, else the channel's), anything else one plain text (`text_of`), each cut to the
platform's limits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from engine.channels import APPROVAL_EVENT, Channel, Option, OutgoingMessage, truncate_utf8
from plugins.channels.httppost import RETRYABLE_STATUSES, USER_AGENT, HttpChannel, Reply
from plugins.netguard import UnsafeURL, origin, split_url

clock = time.monotonic  # tests move time forward by replacing this


class TokenCache:
    """Tokens by key, each with the moment (on `clock`) it stops being valid."""

    def __init__(self, margin: float) -> None:
        self.margin = margin
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...], fetch: Callable[[], tuple[str, float]], *, fresh: bool = False) -> str:
        """The cached token for `key`, or a new one from `fetch()` → (token, seconds it lives)."""
        with self._lock:
            cached = self._tokens.get(key)
            if cached and not fresh and clock() < cached[1] - self.margin:
                return cached[0]
            token, lives = fetch()
            self._tokens[key] = (token, clock() + lives)
            return token

    def forget(self, key: tuple[str, ...], token: str) -> None:
        """Drop `token` if it is still the one cached for `key`."""
        with self._lock:
            if self._tokens.get(key, ("", 0.0))[0] == token:
                del self._tokens[key]


APPROVAL_BUTTON = "去审批"  # an approval card's button: it opens the record page, where the person decides


@dataclass(frozen=True)
class Card:
    """What an app's card shows: its title and body (cut to the limits), where it leads, its button."""

    title: str
    body: str
    link: str
    button: str
    approval: bool


def card_of(message: OutgoingMessage, *, title_limit: int, body_limit: int, button: str) -> Card | None:
    """The card of a message with an absolute record link, else None (send `text_of` instead)."""
    if not message.link.startswith(("https://", "http://")):
        return None
    approval = message.event == APPROVAL_EVENT
    return Card(truncate_utf8(message.title or "Gridbase", title_limit), truncate_utf8(message.body, body_limit),
                message.link, APPROVAL_BUTTON if approval else button, approval)


def text_of(message: OutgoingMessage, limit: int) -> str:
    """A message as one plain text: title and body, cut to `limit` bytes."""
    return truncate_utf8("\n".join(p for p in (message.title, message.body) if p), limit)


class AppChannel(HttpChannel):
    """An app channel over HTTP: requests go to `base_url` (default `DEFAULT_BASE_URL`)."""

    DEFAULT_BASE_URL: ClassVar[str] = ""
    OPTIONS: ClassVar[dict[str, Option]] = {
        **Channel.OPTIONS,
        "base_url": Option(str, help="the API origin"),
    }

    def __init__(self, key: str, options: dict[str, Any], **kwargs: Any) -> None:
        Channel.__init__(self, key, options, **kwargs)  # no `url` option: HttpChannel's __init__ does not apply
        self.url = self.base_url = str(self.options.get("base_url") or self.DEFAULT_BASE_URL).rstrip("/")

    @classmethod
    def config_errors(cls, options: dict[str, Any]) -> list[str]:
        errors = super().config_errors(options)
        if isinstance(options, dict) and isinstance(options.get("base_url"), str):
            try:
                split_url(options["base_url"])
            except UnsafeURL as exc:
                errors.append(f"option 'base_url': {exc.reason}")
        return errors

    def get_json(self, url: str) -> dict[str, Any]:
        """GET `url` (checked by netguard, no redirects followed) and return its JSON object."""
        self._guard(url)
        request = httpx.Request("GET", url, headers={"User-Agent": USER_AGENT},
                                extensions={"timeout": httpx.Timeout(self.timeout).as_dict()})
        with httpx.HTTPTransport(retries=0) as transport:
            status, headers, content = self._exchange(transport, request)
        if not 200 <= status < 300:
            raise self.error(f"{origin(url)} answered HTTP {status}",
                             retryable=status >= 500 or status in RETRYABLE_STATUSES)
        return self.reply_json(Reply(status, headers, content))
