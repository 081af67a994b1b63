"""The shared way HTTP channels POST: URL guard on every hop, manual redirects, status rules.

`HttpChannel` is the base of the webhook and chat-bot channels. `post()` checks the URL with
`plugins.netguard.check_url`, sends the body, and follows at most `MAX_REDIRECTS` redirects
itself, checking each target the same way (a redirect to an internal address is refused, and
so is a step down from https to http). The body is re-sent on every redirect, since a
notification without its body is worthless.

Status rules: 2xx is a `Reply`; 408, 425, 429 and 5xx, timeouts and connection errors are
retryable `DeliveryError`s; other 4xx and refused URLs are not.

Requests go straight to an `httpx.HTTPTransport`, not through `httpx.Client`: the client logs
each full URL at INFO level, and the URLs of chat bots carry their access tokens.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from engine.channels import Channel, Option, OutgoingMessage
from plugins.netguard import UnresolvableHost, UnsafeURL, check_url, origin, split_url

log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
MAX_REPLY_BYTES = 1 << 20
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
RETRYABLE_STATUSES = {408, 425, 429}
USER_AGENT = "Gridbase-Notifier/1"


@dataclass(frozen=True)
class Reply:
    """A 2xx answer: its status, headers and (size-capped) body."""

    status: int
    headers: httpx.Headers
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content.decode("utf-8"))


class HttpChannel(Channel):
    """A channel that POSTs JSON to the URL in its `url` option."""

    OPTIONS: ClassVar[dict[str, Option]] = {
        **Channel.OPTIONS,
        "url": Option(str, required=True, help="the http(s) URL to POST to"),
    }

    def __init__(
        self, key: str, options: dict[str, Any], *, allowed_hosts: Iterable[str] = ()
    ) -> None:
        super().__init__(key, options, allowed_hosts=allowed_hosts)
        self.url: str = self.options["url"]
        parsed = httpx.URL(self.url)
        # Bot tokens live in paths (Feishu) and queries (WeCom, DingTalk).
        self.redact(parsed.query.decode("ascii", "replace"), parsed.path)
        for _, value in parsed.params.multi_items():
            self.redact(value)
        for segment in parsed.path.split("/"):
            if len(segment) >= 16:
                self.redact(segment)

    @classmethod
    def config_errors(cls, options: dict[str, Any]) -> list[str]:
        errors = super().config_errors(options)
        url = options.get("url") if isinstance(options, dict) else None
        if isinstance(url, str):
            try:
                split_url(url)
            except UnsafeURL as exc:
                errors.append(f"option 'url': {exc.reason}")
        return errors

    def post_json(
        self, url: str, payload: Any, message: OutgoingMessage, headers: Mapping[str, str] | None = None
    ) -> Reply:
        """POST `payload` as UTF-8 JSON (see `post`)."""
        body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
        return self.post(url, body, message, headers)

    def post(
        self, url: str, body: bytes, message: OutgoingMessage, headers: Mapping[str, str] | None = None
    ) -> Reply:
        """POST `body` to `url`, following redirects safely; return the 2xx `Reply`."""
        all_headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            **(headers or {}),
        }
        timeout = httpx.Timeout(self.timeout).as_dict()
        current = url
        with httpx.HTTPTransport(retries=0) as transport:
            for _hop in range(MAX_REDIRECTS + 1):
                self._guard(current)
                request = httpx.Request(
                    "POST", current, content=body, headers=all_headers,
                    extensions={"timeout": timeout},
                )
                status, reply_headers, content = self._exchange(transport, request)
                if status in REDIRECT_STATUSES:
                    current = self._next_hop(current, reply_headers)
                    continue
                log.debug("channel %s: %s answered %s for %s", self.key, origin(current),
                          status, message.idempotency_key)
                if 200 <= status < 300:
                    return Reply(status, reply_headers, content)
                retryable = status >= 500 or status in RETRYABLE_STATUSES
                raise self.error(f"{origin(current)} answered HTTP {status}", retryable=retryable)
        raise self.error(f"more than {MAX_REDIRECTS} redirects", retryable=False)

    def _guard(self, url: str) -> None:
        try:
            check_url(url, self.allowed_hosts)
        except UnresolvableHost as exc:
            raise self.error(exc.reason, retryable=True) from None
        except UnsafeURL as exc:
            raise self.error(f"refused to send: {exc.reason}", retryable=False) from None

    def _exchange(
        self, transport: httpx.HTTPTransport, request: httpx.Request
    ) -> tuple[int, httpx.Headers, bytes]:
        where = origin(str(request.url))
        try:
            response = transport.handle_request(request)
            try:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > MAX_REPLY_BYTES:
                        break
            finally:
                response.close()
        except httpx.TimeoutException:
            raise self.error(f"{where} did not answer within {self.timeout:g}s",
                             retryable=True) from None
        except httpx.HTTPError as exc:
            raise self.error(f"{where}: {type(exc).__name__}: {exc}", retryable=True) from None
        return response.status_code, response.headers, b"".join(chunks)[:MAX_REPLY_BYTES]

    def _next_hop(self, current: str, headers: httpx.Headers) -> str:
        location = headers.get("location")
        if not location:
            raise self.error(f"{origin(current)} redirected without a Location", retryable=False)
        try:
            target = str(httpx.URL(current).join(location))
        except httpx.InvalidURL:
            raise self.error(f"{origin(current)} redirected to an invalid URL",
                             retryable=False) from None
        if current.lower().startswith("https:") and not target.lower().startswith("https:"):
            raise self.error(f"{origin(current)} redirected from https to plain http",
                             retryable=False)
        return target

    def reply_json(self, reply: Reply) -> dict[str, Any]:
        """The JSON object a bot API answered with, or a non-retryable `DeliveryError`."""
        try:
            data = reply.json()
        except (UnicodeDecodeError, ValueError):
            data = None
        if not isinstance(data, dict):
            raise self.error("the answer is not a JSON object", retryable=False)
        return data

    def api_error(self, code: Any, msg: Any, *, retry_codes: set[int]) -> None:
        """Raise if a bot API's JSON `code` is not 0 (rate limits in `retry_codes` retry)."""
        if code == 0:
            return
        if code is None:
            raise self.error("the answer has no result code", retryable=False)
        raise self.error(f"the service answered code {code}: {str(msg)[:200]}",
                         retryable=code in retry_codes)
