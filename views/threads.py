"""How a request's blocking engine work leaves the event loop: the one threading pattern of
the pages and the REST API.

The engine is synchronous (SQLite reads, writes that wait for the disk and the write lock,
password hashing). On the server's event loop each call would hold up every other request, so
both packages hand it to the same pool of WORKER_THREADS worker threads (anyio's, sized by
`limit_workers` when the app starts; each worker keeps a read connection of its own, see
engine.storage, so this bounds those too). The request body is always received on the server's
loop first, where its connection lives, so a slow client holds no thread:

- `on_worker(fn, *args)`: a blocking call on a worker thread (the API runs each handler so,
  after reading its JSON body);
- `threaded_coroutine(work)`: a whole page handler (a coroutine) run to its end on a worker
  thread's own event loop (gridbase.app threads every page route so, after spooling its body).

Each read inside runs within the store's query budget (engine.budget, `Storage.reading`), which
holds on the worker thread as anywhere: a slow query ends with QueryTimeout, and its thread is free.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio.to_thread
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")

# Worker threads for pages and the API at most: enough to wait out disk syncs side by side on a
# small machine; each has a read connection of its own (engine.storage), so this bounds those too.
WORKER_THREADS = 16

_thread_loops = threading.local()


def limit_workers(count: int = WORKER_THREADS) -> None:
    """Size the worker pool (call on the server's loop, at start-up)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = count


async def on_worker(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` on a worker thread; the event loop serves other requests meanwhile."""
    return await run_in_threadpool(fn, *args)


async def threaded_coroutine(work: Awaitable[T]) -> T:
    """Run the coroutine `work` to its end on a worker thread's own event loop."""
    return await run_in_threadpool(_on_this_thread, work)


def _on_this_thread(work: Awaitable[T]) -> T:
    """Run `work` on this worker thread's own event loop (made once per thread)."""
    loop: asyncio.AbstractEventLoop | None = getattr(_thread_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = _thread_loops.loop = asyncio.new_event_loop()
        weakref.finalize(threading.current_thread(), loop.close)  # closed when the thread is gone
    return loop.run_until_complete(work)
