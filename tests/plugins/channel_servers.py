"""Real local servers for channel tests: an HTTP receiver and an SMTP sink.

Kept out of conftest.py so test modules can import the helper types by a unique name.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword


@dataclass
class Received:
    """One request the receiver got."""

    method: str
    path: str
    query: dict[str, list[str]]
    raw_query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Scripted:
    """An answer the receiver gives: status, JSON (or raw bytes), headers, delay."""

    status: int = 200
    json: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class Receiver:
    """A ThreadingHTTPServer on 127.0.0.1 recording every request.

    Answers come from `routes` (path -> Scripted) and default to 200 with
    `{"code": 0, "errcode": 0, "msg": "success", "errmsg": "ok"}`, which all bots accept.
    """

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.routes: dict[str, Scripted] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                parts = urlsplit(self.path)
                receiver.requests.append(Received(
                    "POST", parts.path, parse_qs(parts.query), parts.query, dict(self.headers.items()), body))
                answer = receiver.routes.get(parts.path, Scripted())
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.raw is not None:
                    content = answer.raw
                else:
                    data = answer.json if answer.json is not None else {
                        "code": 0, "msg": "success", "errcode": 0, "errmsg": "ok"}
                    content = json.dumps(data).encode("utf-8")
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except OSError:
                    pass  # the client gave up (timeout tests)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]



class MailSink:
    """An aiosmtpd handler keeping every envelope; logins succeed for USER / PASSWORD."""

    USER = "gridbase"
    PASSWORD = "smtp-pass-5f1e9c"

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == self.USER
              and auth_data.password.decode() == self.PASSWORD)
        return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    host: str
    port: int
    sink: MailSink
