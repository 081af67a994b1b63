"""Real receivers for automation tests: an HTTP hook counting by Idempotency-Key, an SMTP sink."""

from __future__ import annotations

import collections
import email
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from engine import Workspace


class Hook:
    """A ThreadingHTTPServer on 127.0.0.1 that records POSTs and answers `status` (a queue of codes)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.by_key: collections.Counter[str] = collections.Counter()
        self.statuses: list[int] = []
        self.default_status = 200
        self.delay = 0.0  # seconds between recording a request and answering it
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with hook.lock:
                    status = hook.statuses.pop(0) if hook.statuses else hook.default_status
                    if 200 <= status < 300:
                        hook.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
                        hook.by_key[self.headers.get("Idempotency-Key", "")] += 1
                if hook.delay:
                    time.sleep(hook.delay)
                payload = b'{"ok": true}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def json(self, index: int = -1) -> Any:
        return json.loads(self.requests[index]["body"].decode("utf-8"))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class Mailbox:
    """An aiosmtpd handler that keeps every message, countable by idempotency key."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.by_key: collections.Counter[str] = collections.Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        self.by_key[str(message["X-Gridbase-Idempotency-Key"])] += 1
        return "250 OK"



@dataclass
class Env:
    """A test workspace with its receivers and a settable clock."""

    hook: Hook
    mail: Mailbox
    smtp_port: int
    make: Callable[..., Workspace]
    now: list[datetime] = field(default_factory=lambda: [datetime(2026, 3, 2, 1, 0, tzinfo=UTC)])

    def set_now(self, moment: datetime) -> None:
        self.now[0] = moment
