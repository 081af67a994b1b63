"""Request bodies: how much is read, from whom, how many large ones at once, and where they wait.

Words:

- *pre-auth limit* (`PRE_AUTH_BODY`, 64 KB): the most a request may send while nothing says
  who sent it. A sign-in form, a logout, a comment need far less; 25 MB from anyone would let
  anonymous clients fill the server's memory (issue 17 item 4).
- *signed-in limit* (`MAX_BODY`): for a request with a live session cookie, and for a public
  form that takes files. The REST API (`/v0/`) reads its body only after checking the token,
  under a limit of its own (views.api.http), so it passes here untouched.
- *large body*: one that declares more than `LARGE_BODY` or does not declare its length. At
  most `app.state.max_large_bodies` (default `MAX_LARGE_BODIES`) are received at once; one
  more is answered 503 with Retry-After, at once. A large body that would leave the disk with
  less free space than `attachments.min_free_disk_mb` is answered 507.
- *spooled body*: `spool` receives a body into a temporary file, in memory up to
  `PRE_AUTH_BODY` and on disk beyond (in the workspace's incoming folder, not /tmp, which may be
  memory); `replaying` hands it to a request served on another thread.

A body over its limit is refused with 413 before any of it is read when its length is
declared, and as soon as it passes the limit when it is not.
"""

from __future__ import annotations

import tempfile
from typing import Any

from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine import attachments
from views.pages.forms import takes_public_files
from views.pages.web import session

MAX_BODY = 25 * 1024 * 1024
PRE_AUTH_BODY = 64 * 1024
LARGE_BODY = 1024 * 1024
MAX_LARGE_BODIES = 8
CHUNK = 64 * 1024
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def limit_for(scope: Scope) -> int | None:
    """The largest body this request may send (None: left to the endpoint, as the API does)."""
    path: str = scope.get("path", "")
    if path.startswith("/v0/"):
        return None
    request = Request(scope)
    if session(request) is not None:
        return MAX_BODY
    parts = path.strip("/").split("/")
    if scope.get("method") == "POST" and len(parts) == 3 and parts[0] == "f" and \
            takes_public_files(request.app.state.ws, parts[1], parts[2]):
        return MAX_BODY
    return PRE_AUTH_BODY


def refuse(status: int, message: str, **headers: str) -> PlainTextResponse:
    return PlainTextResponse(message, status_code=status, headers={"Connection": "close", **headers})


class BodyGateMiddleware:
    """Applies the limits above before the body is read (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = declared_length(scope)
        if scope["type"] != "http" or scope.get("method") not in BODY_METHODS or \
                (declared is not None and declared <= PRE_AUTH_BODY):
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope)
        if limit is not None and declared is not None and declared > limit:
            signed_in = limit > PRE_AUTH_BODY
            message = (f"请求过大：一次最多发送 {limit // (1024 * 1024)} MB。/ "
                       f"The request is too large: at most {limit // (1024 * 1024)} MB may be sent at once."
                       if signed_in else
                       f"请求过大：登录前最多发送 {limit // 1024} KB。/ "
                       f"The request is too large: at most {limit // 1024} KB may be sent before signing in.")
            await refuse(413, message)(scope, receive, send)
            return
        if declared is not None and declared <= LARGE_BODY:
            await self._within(limit, scope, receive, send)
            return
        state = scope["app"].state
        ws = state.ws
        if attachments.free_disk_mb(ws) - (declared or 0) / attachments.MB < attachments.Limits.of(ws).min_free_disk_mb:
            await refuse(507, "服务器磁盘空间不足，已暂停大文件上传；请管理员清理磁盘空间。/ "
                              "The server is short of disk space, so large uploads are paused; "
                              "ask the administrator to free disk space.")(scope, receive, send)
            return
        busy = getattr(state, "large_bodies", 0)
        if busy >= getattr(state, "max_large_bodies", MAX_LARGE_BODIES):
            await refuse(503, "服务器正在同时接收过多的大文件，请稍后再试。/ "
                              "The server is receiving too many large uploads at once; try again in a moment.",
                         **{"Retry-After": "5"})(scope, receive, send)
            return
        state.large_bodies = busy + 1
        try:
            await self._within(limit, scope, receive, send)
        finally:
            state.large_bodies -= 1

    async def _within(self, limit: int | None, scope: Scope, receive: Receive, send: Send) -> None:
        if limit is None:
            await self.app(scope, receive, send)
        else:  # counts what arrives; answers 413 once a body of undeclared length passes the limit
            await RequestBodyLimitMiddleware(self.app, limit)(scope, receive, send)


async def spool(request: Request) -> Any:
    """The body in a temporary file (memory up to PRE_AUTH_BODY, disk beyond), at its start.
    The folder on disk is made (if missing) only for a body that goes beyond memory: every page
    request passes here, most with no body at all."""
    ws = request.app.state.ws
    folder = attachments.incoming_dir(ws, make=False)
    body = tempfile.SpooledTemporaryFile(max_size=PRE_AUTH_BODY, dir=str(folder))  # noqa: SIM115 - closed by the caller
    size, made = 0, False
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > PRE_AUTH_BODY and not made:  # this write moves it to disk
                attachments.incoming_dir(ws)
                made = True
            body.write(chunk)
    except BaseException:
        body.close()
        raise
    body.seek(0)
    return body


def replaying(request: Request, body: Any) -> Request:
    """A request like `request` whose body comes from the spooled file (for another thread)."""
    done = False

    async def receive() -> Message:
        nonlocal done
        chunk = b"" if done else body.read(CHUNK)
        if len(chunk) < CHUNK:
            done = True
        return {"type": "http.request", "body": chunk, "more_body": not done}

    return Request(request.scope, receive)
