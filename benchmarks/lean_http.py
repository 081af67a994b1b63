"""A lean HTTP/1.1 client for the load generators: keep-alive connections on asyncio streams,
cookies, form and JSON bodies, Content-Length and chunked answers — and nothing else.

Why not httpx: the load generator shares the machine's two cores with the server it measures,
and httpx spends 2–3 ms of CPU on a form post (its models, its cookie jar, its transport
layers) — as much as half of what the server spends answering it, so the machine ran out of
CPU for the server long before the server ran out of speed. This client spends a tenth of that
(benchmarks/README.md, "Fourth round (session 22)"). It speaks only to our own server on loopback:
no TLS, no proxies, no redirects followed, no compression, no HTTP/2.

    client = LeanClient("http://127.0.0.1:8000", headers={"Authorization": "Bearer …"})
    r = await client.post("/f/clinic/intake", data={"title": "x", "csrf_token": token})
    r.status_code, r.text, r.headers["location"], r.json()
    await client.aclose()

The surface is httpx's where the load generators use it (`get`, `post`, `patch`, `request`,
`status_code`, `text`, `content`, `headers`, `json()`, `cookies`, `aclose`), so a generator can
use either; errors are `LeanError` (an OSError: connection refused, reset or closed early).
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import time
from typing import Any
from urllib.parse import urlencode, urlsplit


class LeanError(OSError):
    """The connection failed or the server closed it before its answer was whole."""


KEEP_ALIVE = 4.0  # seconds an idle connection is reused: uvicorn closes them after 5


class _ClosedUnanswered(LeanError):
    """The server closed a kept-alive connection before a byte of the answer: nothing was done."""


class Response:
    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code, self.headers, self.content = status_code, headers, content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)


class _Connection:
    __slots__ = ("reader", "writer", "idle_since")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.idle_since = 0.0

    def close(self) -> None:
        self.writer.close()


class LeanClient:
    """Requests to one server (`base_url`), on up to `max_connections` kept-alive connections."""

    def __init__(self, base_url: str, *, headers: dict[str, str] | None = None, timeout: float = 60,
                 max_connections: int = 8) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self._fixed = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(max_connections)
        self.opened = 0  # connections opened so far (load.py --trace: which requests waited for one)

    async def get(self, path: str, **kw: Any) -> Response:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, **kw: Any) -> Response:
        return await self.request("POST", path, **kw)

    async def patch(self, path: str, **kw: Any) -> Response:
        return await self.request("PATCH", path, **kw)

    async def request(self, method: str, path: str, *, data: dict[str, Any] | None = None, json: Any = None,
                      headers: dict[str, str] | None = None, params: dict[str, Any] | None = None) -> Response:
        body = b""
        extra = ""
        if json is not None:
            body = jsonlib.dumps(json).encode()
            extra = "Content-Type: application/json\r\n"
        elif data is not None:
            body = urlencode(data).encode()
            extra = "Content-Type: application/x-www-form-urlencoded\r\n"
        if params:
            path += ("&" if "?" in path else "?") + urlencode(params)
        if headers:
            extra += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        if self.cookies:
            extra += "Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()) + "\r\n"
        head = (f"{method} {self.prefix}{path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self._fixed}{extra}"
                f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
        async with self._slots:
            return await asyncio.wait_for(self._exchange(head + body), self.timeout)

    async def _exchange(self, raw: bytes) -> Response:
        conn = self._kept()
        if conn is not None:
            try:
                return await self._send(conn, raw)
            except _ClosedUnanswered:
                pass  # the server closed the kept-alive connection as the request left: send it again
        return await self._send(await self._open(), raw)

    def _kept(self) -> _Connection | None:
        """An idle connection younger than uvicorn's keep-alive (5 s); older ones are closed."""
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if now - conn.idle_since < KEEP_ALIVE:
                return conn
            conn.close()
        return None

    async def _send(self, conn: _Connection, raw: bytes) -> Response:
        try:
            conn.writer.write(raw)
            response, keep = await self._read(conn.reader)
        except asyncio.IncompleteReadError as exc:
            conn.close()
            if not exc.partial:
                raise _ClosedUnanswered() from exc
            raise LeanError(f"{self.host}:{self.port}: the answer was cut short") from exc
        except (OSError, ValueError) as exc:
            conn.close()
            raise LeanError(f"{self.host}:{self.port}: {exc!r}") from exc
        if keep:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()
        return response

    async def _open(self) -> _Connection:
        self.opened += 1
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            raise LeanError(f"{self.host}:{self.port}: {exc!r}") from exc
        return _Connection(reader, writer)

    async def _read(self, reader: asyncio.StreamReader) -> tuple[Response, bool]:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                self._remember(value)
            headers[name] = value
        if "content-length" in headers:
            content = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                parts.append(await reader.readexactly(size + 2))
            content = b"".join(part[:-2] for part in parts)
        elif status in (204, 304) or status < 200:
            content = b""
        else:
            content = await reader.read()
            return Response(status, headers, content), False
        return Response(status, headers, content), headers.get("connection", "").lower() != "close"

    def _remember(self, cookie: str) -> None:
        pair, _, attributes = cookie.partition(";")
        name, _, value = pair.strip().partition("=")
        gone = "max-age=0" in attributes.lower().replace(" ", "") or value in ("", '""')
        if gone:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value

    async def aclose(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()

    async def __aenter__(self) -> LeanClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
