"""Live updates in the browser: the event stream of an open page and what a page tells the
server, over engine.live's hub.

Words: a *stream* is `GET /live?base=…&table=…[&record=…|&view=…]`, server-sent events
(text/event-stream) for one open page of a signed-in person: the messages engine.live
builds for that person (`changes`, `inbox`, `presence`, `notice`, `reload`), each one
`event: KIND` and `data: JSON`. `POST /live/editing` (base, table, record, field, on=1|0)
says that the person starts (and every few seconds confirms) or stops editing a cell.

Streams stay on the server's event loop (a worker thread each would soon run out). Each has
a bounded queue of QUEUE_SIZE messages: a page too slow to take them (its queue full) has
what waits dropped and is sent `resync` instead (reload what it shows), so it never holds up
the hub or anyone else. A stream ends when the page goes, when its session ends (the hub
checks), when the server shuts down (uvicorn then marks each open connection not to be kept
alive: the stream looks every TICK_SECONDS, so graceful shutdown does not wait for pages),
when the hub closes, and after MAX_SECONDS anyway (the browser reconnects by itself).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from engine import NotFoundError
from engine.errors import GridbaseError
from engine.live import Hub, Watcher
from views.pages.web import check_csrf, current_actor, get_ws, session
from views.threads import on_worker

QUEUE_SIZE = 64  # messages waiting for one page; past this, `resync`
MAX_PER_PERSON = 30  # open streams of one person (tabs, devices); more are refused with 429
TICK_SECONDS = 0.5  # how often a stream looks whether the server is shutting down
HEARTBEAT_SECONDS = 15.0  # a comment line, so proxies and the browser keep the stream open
MAX_SECONDS = 3600.0  # a stream ends after this; the browser reconnects
RETRY_MS = 1000  # how soon the browser reconnects after a stream ended
_END = "end"


def hub_of(request: Request) -> Hub | None:
    hub: Hub | None = getattr(request.app.state, "live", None)
    return hub


class _Pipe:
    """The bounded queue between the hub's thread and one stream on the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.dropped = 0

    def send(self, kind: str, data: dict[str, Any]) -> None:
        try:
            self.loop.call_soon_threadsafe(self._put, kind, data)
        except RuntimeError:  # the loop is closed: the stream is gone
            pass

    def end(self) -> None:
        self.send(_END, {})

    def _put(self, kind: str, data: dict[str, Any]) -> None:
        if kind != _END and self.queue.qsize() >= QUEUE_SIZE - 1:
            # Too slow: what waits goes, and the page reloads what it shows instead.
            self.dropped += self.queue.qsize()
            while not self.queue.empty():
                self.queue.get_nowait()
            kind, data = "resync", {}
        elif kind == _END and self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait((kind, data))


def _open(request: Request, pipe: _Pipe) -> tuple[Watcher, Hub] | Response:
    """Who watches what (on a worker thread: sessions and permissions are database reads)."""
    hub = hub_of(request)
    actor = current_actor(request)
    sess = session(request)
    if actor is None or sess is None:
        return PlainTextResponse("sign in again", status_code=401)
    if hub is None:
        return PlainTextResponse("live updates are off", status_code=404)
    params = request.query_params
    base, key, record = params.get("base") or None, params.get("table") or None, params.get("record") or None
    view = params.get("view") or None
    if base is not None or key is not None:
        try:
            table = get_ws(request).base(base or "").table(key or "")
        except GridbaseError:
            return PlainTextResponse("not found", status_code=404)
        access = table.access(actor)
        if not access.can_read:
            return PlainTextResponse("not found", status_code=404)
        if record is not None and not table.readable_by(record, actor):
            return PlainTextResponse("not found", status_code=404)
    elif record is not None:
        return PlainTextResponse("not found", status_code=404)
    if hub.count(actor.key) >= MAX_PER_PERSON:
        return PlainTextResponse("too many open pages", status_code=429)
    watcher = Watcher(person=actor.key, session=str(sess["id_hash"]), send=pipe.send, end=pipe.end,
                      base=base, table=key, record=record, view=view if key is not None else None)
    return watcher, hub


def _closing_probe(request: Request) -> Callable[[], bool]:
    """A test for "the server is shutting down": uvicorn clears `keep_alive` on the request
    cycle of every open connection when it begins a graceful shutdown. The cycle is found
    behind our receive channel (its bound method, perhaps behind starlette's body limit).
    Any other server: never (MAX_SECONDS and the hub's close end streams there)."""
    channel: Any = request.receive
    for _ in range(4):
        owner = getattr(channel, "__self__", None)
        if owner is None:
            break
        if getattr(owner, "keep_alive", None) is True:
            cycle = owner
            return lambda: getattr(cycle, "keep_alive", True) is False
        channel = getattr(owner, "_receive", None)
    return lambda: False


def _event(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


async def stream(request: Request) -> Response:
    """GET → text/event-stream of this page's messages (see the module's docstring)."""
    pipe = _Pipe(asyncio.get_running_loop())
    opened = await on_worker(_open, request, pipe)
    if isinstance(opened, Response):
        return opened
    watcher, hub = opened
    closing = _closing_probe(request)

    async def events() -> AsyncIterator[str]:
        started = last = time.monotonic()
        # Watched from the stream's first step: a page gone before it starts leaves nothing behind.
        await on_worker(hub.watch, watcher)
        try:
            yield f"retry: {RETRY_MS}\n\n" + _event("hello", {})
            while not closing():
                try:
                    kind, data = await asyncio.wait_for(pipe.queue.get(), TICK_SECONDS)
                except TimeoutError:
                    now = time.monotonic()
                    if now - started > MAX_SECONDS:
                        break
                    if now - last > HEARTBEAT_SECONDS:
                        last = now
                        yield ": ping\n\n"
                    continue
                if kind == _END:
                    break
                yield _event(kind, data)
        finally:
            hub.unwatch(watcher)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def editing(request: Request) -> Response:
    """POST base, table, record, field, on=1|0 → 204; 404 when the person may not read that cell."""
    actor = current_actor(request)
    if actor is None:
        return PlainTextResponse("sign in again", status_code=401)
    form = await request.form(max_files=0)
    check_csrf(request, form)
    hub = hub_of(request)
    try:
        table = get_ws(request).base(str(form.get("base") or "")).table(str(form.get("table") or ""))
    except GridbaseError:
        raise NotFoundError("unknown table") from None
    if hub is None or not table.access(actor).can_read:
        raise NotFoundError("unknown table")
    hub.start()
    if not hub.editing(actor, table, str(form.get("record") or ""), str(form.get("field") or ""),
                       str(form.get("on") or "") in ("1", "true")):
        raise NotFoundError("unknown record or field")
    return Response(status_code=204)


# `streams` stay on the event loop; `routes` run on worker threads like every page.
streams = [Route("/live", stream, methods=["GET"])]
routes = [Route("/live/editing", editing, methods=["POST"])]
