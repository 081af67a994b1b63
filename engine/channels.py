"""The channel interface: what every notification channel is, the message it is given and the errors it may raise.

It lives in the engine so that the outbox worker (`automations.delivery`) and every channel
plugin, built-in or not, depend on it and not on each other.

A *channel* is one configured way out of Gridbase (a workspace's `channels:` entry): its class
is chosen by the entry's `type:` and built with the entry's *options*. `send` delivers one
`OutgoingMessage` or raises `DeliveryError`, whose `retryable` flag tells the outbox worker
whether to try again later (a timeout, a 5xx) or to dead-letter it (a 4xx, a bad option).

*Secrets* (passwords, signing keys) are named by `<name>_env` options and read from the
environment at send time; a literal `<name>` option is accepted for tests. No secret, and no
URL path or query (where bots keep their tokens), is ever put in an error message or a log.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

# `OutgoingMessage.event` of an approval request (automations.approval): an app's card says so on its
# button, which opens the record page, where the person signs in and decides (no link decides by itself).
APPROVAL_EVENT = "approval.request"


@dataclass(frozen=True)
class OutgoingMessage:
    """One notification for one recipient, as handed to a channel.

    `body` is plain text; `link` is an absolute URL to the record (or ""); `recipient_ids` are
    the person's ids for this channel (workspace.yaml `accounts:`); `data` is extra
    structured content (e.g. the record's fields) that only machine channels (webhook) send.
    The same `idempotency_key` is given on every retry of the same delivery.
    """

    idempotency_key: str
    title: str
    body: str
    link: str = ""
    recipient_name: str = ""
    recipient_email: str | None = None
    recipient_phone: str | None = None
    recipient_ids: dict[str, str] = field(default_factory=dict)  # the person's ids in this channel's service
    data: dict[str, Any] = field(default_factory=dict)
    event: str = ""

    def text(self) -> str:
        """Title, body and link as one plain-text block (what chat bots show)."""
        return "\n".join(part for part in (self.title, self.body, self.link) if part)


class DeliveryError(Exception):
    """Delivery failed. `.reason` is for people; `.retryable` says if a later try may work."""

    def __init__(self, reason: str, retryable: bool) -> None:
        self.reason = reason
        self.retryable = retryable
        super().__init__(reason)

    def __reduce__(self) -> tuple[type[DeliveryError], tuple[str, bool]]:
        return (type(self), (self.reason, self.retryable))


class ChannelConfigError(ValueError):
    """A channel's options are wrong; `.errors` lists every problem."""

    def __init__(self, key: str, errors: list[str]) -> None:
        self.key = key
        self.errors = errors
        super().__init__(f"channel '{key}': " + "; ".join(errors))


@dataclass(frozen=True)
class Option:
    """One option a channel type accepts: its Python type(s), whether required, its choices."""

    kind: type | tuple[type, ...]
    required: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""


# Keys the workspace loader may leave in a channel's options; never a problem.
_ANY_CHANNEL_KEYS = {"type", "name", "description"}


class Channel:
    """Base of channel types. Subclasses set `type`, `OPTIONS` and implement `send`."""

    type: ClassVar[str]
    #: the contact of a person it delivers to ("email": one delivery per person, to their
    #: address); None for a group channel (a bot, a webhook): one delivery per action.
    address: ClassVar[str | None] = None
    # True: one delivery per person (e-mail, an app's direct message); False: one per action (a group bot).
    PERSONAL: ClassVar[bool] = False
    # The kinds of ids a person may give for this channel in workspace.yaml `accounts:`.
    ACCOUNT_IDS: ClassVar[tuple[str, ...]] = ()
    OPTIONS: ClassVar[dict[str, Option]] = {
        "timeout": Option((int, float), help="seconds to wait for the other side (default 10)"),
    }
    DEFAULT_TIMEOUT: ClassVar[float] = 10.0

    def __init__(
        self, key: str, options: dict[str, Any], *, allowed_hosts: Iterable[str] = ()
    ) -> None:
        errors = self.config_errors(options)
        if errors:
            raise ChannelConfigError(key, errors)
        self.key = key
        self.options = dict(options)
        self.allowed_hosts = list(allowed_hosts)
        self.timeout = float(self.options.get("timeout", self.DEFAULT_TIMEOUT))
        self._redactions: set[str] = set()

    @classmethod
    def config_errors(cls, options: dict[str, Any]) -> list[str]:
        """Problems with `options`, each a sentence for the admin; [] when they are fine."""
        if not isinstance(options, dict):
            return [f"the options of a {cls.type} channel must be a mapping"]
        errors: list[str] = []
        for name in options:
            if name not in cls.OPTIONS and name not in _ANY_CHANNEL_KEYS:
                known = ", ".join(sorted(cls.OPTIONS))
                errors.append(f"unknown option '{name}' for a {cls.type} channel (known: {known})")
        for name, spec in cls.OPTIONS.items():
            if name not in options:
                if spec.required:
                    errors.append(f"a {cls.type} channel needs the option '{name}'")
                continue
            value = options[name]
            kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
            # bool is an int in Python; a `port: true` is still a mistake.
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                wanted = " or ".join(k.__name__ for k in kinds)
                errors.append(f"option '{name}' must be {wanted}, not {type(value).__name__}")
            elif spec.choices and value not in spec.choices:
                errors.append(f"option '{name}' must be one of {', '.join(spec.choices)}")
        timeout = options.get("timeout")
        if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout <= 0:
            errors.append("option 'timeout' must be a positive number of seconds")
        for name in cls.OPTIONS:
            if name.endswith("_env") and name[:-4] in options and name in options:
                errors.append(f"give either '{name[:-4]}' or '{name}', not both")
        return errors

    def send(self, message: OutgoingMessage) -> None:
        """Deliver `message` or raise `DeliveryError`."""
        raise NotImplementedError

    def find_accounts(self, emails: list[str], mobiles: list[str]) -> dict[str, dict[str, str]]:
        """The service's ids of the people it knows by these e-mails and mobiles: each one
        found (the e-mail or mobile as given) → {id kind: id}, as `accounts:` holds them
        (`gridbase people DIR sync-ids`). A channel that cannot look people up says so."""
        raise self.error("this channel type cannot look people up by e-mail or mobile", retryable=False)

    # -- helpers for subclasses -------------------------------------------------------------

    def secret(self, name: str) -> str | None:
        """The secret option `name`: from the variable named by `<name>_env`, else literal.

        Raises a non-retryable `DeliveryError` if the named variable is unset. The value is
        remembered so that `error()` can scrub it from any message.
        """
        env = self.options.get(f"{name}_env")
        if env:
            value = os.environ.get(env)
            if not value:
                raise DeliveryError(
                    f"channel '{self.key}': environment variable {env} is not set",
                    retryable=False,
                )
        else:
            value = self.options.get(name) or None
        if value:
            self._redactions.add(value)
        return value

    def redact(self, *values: str) -> None:
        """Also scrub these strings (e.g. a bot token in a URL) from error messages."""
        self._redactions.update(v for v in values if len(v) >= 6)

    def error(self, reason: str, *, retryable: bool) -> DeliveryError:
        """A `DeliveryError` for this channel, with every known secret scrubbed out."""
        text = f"channel '{self.key}' ({self.type}): {reason}"
        for value in sorted(self._redactions, key=len, reverse=True):
            text = text.replace(value, "***")
        return DeliveryError(text, retryable=retryable)


def truncate_utf8(text: str, max_bytes: int, marker: str = "…") -> str:
    """`text` cut to at most `max_bytes` UTF-8 bytes, never inside a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    room = max_bytes - len(marker.encode("utf-8"))
    return encoded[: max(room, 0)].decode("utf-8", errors="ignore") + marker
