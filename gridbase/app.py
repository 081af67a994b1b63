"""The ASGI app factory: every route and middleware of the web app, composed in one place.

    app = create_app(Workspace.open("examples/dalian_dental"))

Routes come from the two packages of `views` — the pages (`views.pages`, HTML) and the REST
API (`views.api`, one Mount at /v0) — each module exporting `routes: list[Route]`, listed
below in `create_app` where a reader sees them all.
Errors the engine raises on purpose become pages with the right status (404, 403, 422,
400); anything else becomes a plain "Something went wrong" page and a log line, never a
traceback. The outbox worker of `automations` runs alongside the app when asked, and so
does a sweep of orphaned uploads at start-up (engine.attachments.remove_orphans). The live
hub (engine.live) starts and stops with the app; its event streams (`/live`) stay on the
event loop instead of taking a worker thread each.

Request bodies are limited by who sends them and received to disk (gridbase.bodies); every
response but a static file is sent with `Cache-Control: no-store` (pages, fragments, exports
and files hold patient data), and signing out also clears the browser's copy of the site.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import inspect
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine import (
    NotFoundError,
    PermissionDenied,
    QueryError,
    ValidationError,
    Workspace,
    attachments,
)
from engine.errors import GridbaseError
from engine.live import Hub
from gridbase import bodies
from plugins.hl7_listener import Listener as Hl7Listener
from views import api, threads
from views.api import hooks
from views.messages import render as render_message
from views.messages import render_error
from views.pages import (
    admin,
    assets,
    auditlog,
    auth,
    boards,
    charts,
    dashboards,
    files,
    form_posters,
    forms,
    grid,
    inbox,
    intake,
    live,
    plugin_views,
    record,
    searches,
    second_factor,
    sso,
    table,
    timeline,
    undo,
)
from views.pages.web import LoginRequired, get_locale, login_url, translator
from views.pages.web import render as render_page

log = logging.getLogger("gridbase.web")

MAX_BODY = bodies.MAX_BODY
WORKER_THREADS = threads.WORKER_THREADS
STATIC = assets.STATIC


# -- pages run on worker threads ---------------------------------------------------------------
Endpoint = Callable[[Request], Awaitable[Response]]


def threaded(endpoint: Endpoint) -> Endpoint:
    """`endpoint` run on a worker thread (with an event loop of its own), its body received first.

    The pages call the engine synchronously (views.threads says why they leave the event loop,
    and how the API does the same with its handlers). The body is received here,
    on the loop that owns the connection (a slow client holds no thread), into a temporary file
    that stays in memory only while small (gridbase.bodies.spool); the handler parses it (form,
    uploads) from there.
    """
    @functools.wraps(endpoint)
    async def run(request: Request) -> Response:
        try:
            body = await bodies.spool(request)
        except ClientDisconnect:  # gone mid-body: nobody to answer, nothing to log as an error
            return Response(status_code=400)
        try:
            return await threads.threaded_coroutine(endpoint(bodies.replaying(request, body)))
        finally:
            body.close()

    return run


def on_threads(routes: list[BaseRoute]) -> list[BaseRoute]:
    """The routes with every coroutine endpoint `threaded` (the REST API, a Mount, threads its own)."""
    out: list[BaseRoute] = []
    for route in routes:
        if isinstance(route, Route) and inspect.iscoroutinefunction(route.endpoint):
            route = Route(route.path, threaded(route.endpoint), methods=list(route.methods or ()), name=route.name)
        out.append(route)
    return out


# -- errors ------------------------------------------------------------------------------------
def wants_fragment(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def error_page(request: Request, status: int, title: str, message: str = "", errors: list[str] | None = None) -> Response:
    if wants_fragment(request) or request.url.path.startswith("/v0/"):
        return PlainTextResponse(message or title, status_code=status)
    try:
        return render_page(request, "error.html", status_code=status, title=title, message=message, errors=errors or [])
    except Exception:  # noqa: BLE001 - the error page itself must never fail
        log.exception("error page failed")
        return PlainTextResponse(title, status_code=status)


async def on_login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    if wants_fragment(request):
        return PlainTextResponse("sign in again", status_code=401, headers={"HX-Redirect": login_url(exc.next_url)})
    return RedirectResponse(login_url(exc.next_url), status_code=303)


def _said(request: Request, exc: Exception) -> str:
    """The exception's message in the reader's language (engine errors by their code)."""
    return render_error(exc, get_locale(request))


async def on_not_found(request: Request, exc: Exception) -> Response:
    return error_page(request, 404, translator(request)("Not found"), _said(request, exc))


async def on_denied(request: Request, exc: Exception) -> Response:
    return error_page(request, 403, translator(request)("Access denied"), _said(request, exc))


async def on_invalid(request: Request, exc: Exception) -> Response:
    locale = get_locale(request)
    errors = [str(render_message(e, locale)) for e in exc.errors.values()] if isinstance(exc, ValidationError) else []
    return error_page(request, 422, translator(request)("Invalid value"), "" if errors else _said(request, exc), errors)


async def on_bad_request(request: Request, exc: Exception) -> Response:
    return error_page(request, 400, translator(request)("Invalid value"), _said(request, exc))


async def on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    _ = translator(request)
    titles = {403: _("Access denied"), 404: _("Not found"), 429: _("Too many attempts, try again in {minutes} minutes", minutes=1)}
    detail = _(str(exc.detail))  # the views' own sentences are message ids of the catalog
    return error_page(request, exc.status_code, titles.get(exc.status_code, detail), detail)


class CatchAllMiddleware:
    """Turns an unexpected exception into a 500 page (and a log line) instead of a traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            request = Request(scope)
            response = error_page(request, 500, translator(request)("Something went wrong"))
            await response(scope, receive, send)


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every response but static files (unless it says otherwise),
    so no page, export or file with record data stays in a shared or lost browser's cache; and
    `Clear-Site-Data` on signing out, which empties what the browser kept of the site."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, root = str(scope.get("path", "")), str(scope.get("root_path", ""))
        path = path[len(root):] if root and path.startswith(root) else path  # a group's workspace: /w/NAME/…
        if scope["type"] != "http" or path.startswith("/static/"):
            await self.app(scope, receive, send)
            return
        logout = path == "/logout" and scope.get("method") == "POST"

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                if logout:
                    headers.append((b"clear-site-data", b'"cache", "storage"'))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_no_store)


def sweep_orphans(ws: Workspace) -> None:
    """Remove orphaned uploads (engine.attachments.remove_orphans) and log what went."""
    try:
        done = attachments.remove_orphans(ws)
    except Exception:  # noqa: BLE001 - a failed sweep must not stop the server; the next start retries
        log.warning("sweeping orphaned uploads failed", exc_info=True)
        return
    if done.uploads or done.files:
        log.info("removed %d orphaned uploads and %d files (%d bytes)", done.uploads, done.files, done.bytes)


# -- the app -----------------------------------------------------------------------------------
def create_app(ws: Workspace, *, automations: bool = True, sweep: bool | None = None,
               hl7: tuple[str, int] | None = None, warm_charts: bool | None = None) -> Starlette:
    """The web app over one workspace (pages, forms, files, boards, dashboards, inbox, API).

    `sweep` (default: as `automations`) removes orphaned uploads in the background at start-up.
    `hl7` (host, port): also run the HL7 v2 MLLP listener (plugins.hl7_listener) on the app's loop.
    `warm_charts` (default: as `automations`) starts the chart renderer (vl-convert, seconds of
    CPU) in the background when a page first lists a dashboard (the home page after sign-in, say)
    and a dashboard has charts, so the first dashboard is fast.
    """
    if sweep is None:
        sweep = automations
    if warm_charts is None:
        warm_charts = automations
    hub = Hub(ws)  # live updates (engine.live): streams of /live, started with the app
    routes: list[BaseRoute] = [
        *auth.routes,            # /login, /logout, /lang
        *second_factor.routes,   # /login/code, /login/enrol, /account/security
        *sso.routes,             # /login/sso/{provider}[/callback]: Feishu and OpenID Connect sign-in
        *table.routes,           # /, /b/{base}/t/{table}[/v/{view}], prefs, export, import
        *grid.routes,            # …/rows, …/count, …/summary, …/columns: the grid script's requests
        *record.routes,          # /b/{base}/t/{table}/r/{rid}…, /new
        *searches.routes,        # what the editors ask: link and people searches, plugin editors' scripts
        *undo.routes,            # /b/{base}/t/{table}/cells, /delete, /undo, /redo: the grid's many-cell writes
        *files.routes,           # /att/{id}, uploads into a record
        *forms.routes,           # /f/mine, /f/{base}/{form}, editing one's own submission
        *form_posters.routes,    # /f/{base}/{form}/qr.png, qr.svg, poster
        *boards.routes,          # kanban, calendar, gallery; moving a card
        *timeline.routes,        # /b/{base}/t/{table}/timeline/{view}: bars on a time axis, moved and stretched
        *plugin_views.routes,    # /b/{base}/t/{table}/view/{type}/{view}: a plugin's view type
        *dashboards.routes,      # /b/{base}/d/{dashboard}
        *inbox.routes,           # /inbox
        *admin.routes,           # /admin/people, /admin/runs, /admin/dead
        *auditlog.routes,        # /admin/audit, /admin/audit.csv
        *intake.routes,          # /admin/intake: failed mails and refused HL7 messages, with Retry
        *live.routes,            # /live/editing: a page says which cell its person edits
        *api.routes,             # /v0/…: the REST API (threads its own work)
    ]
    routes = on_threads(routes)
    routes += live.streams       # /live: event streams stay on the event loop (a thread each would run out)
    routes += hooks.routes       # /hooks/{name}: inbound webhooks (read their body, then write on a thread)
    routes.append(Mount("/static", app=assets.CachedStatic(), name="static"))

    middleware = [
        Middleware(assets.CompressionMiddleware),
        Middleware(auth.SecurityHeadersMiddleware),
        Middleware(NoStoreMiddleware),
        Middleware(CatchAllMiddleware),
        Middleware(bodies.BodyGateMiddleware),
    ]
    handlers: dict[Any, Any] = {
        LoginRequired: on_login_required,
        NotFoundError: on_not_found,
        PermissionDenied: on_denied,
        ValidationError: on_invalid,
        QueryError: on_bad_request,
        GridbaseError: on_bad_request,
        HTTPException: on_http,
    }

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        threads.limit_workers()
        worker = None
        if automations and importlib.util.find_spec("automations.worker") is not None:
            worker = importlib.import_module("automations.worker")
            worker.start(ws)
        if sweep:
            threading.Thread(target=sweep_orphans, args=(ws,), name="gridbase-sweep", daemon=True).start()
        # The chart renderer warms on a thread of its own once a page first offers a dashboard
        # with charts (views/pages/web.py `Nav`), not at start: its JavaScript engine holds ~60 MB
        # for the process's life, which a server of forms and the API alone never needs.
        app.state.dashboard_offered = (lambda: charts.start_warming(ws)) if warm_charts and charts.has_charts(ws) else None
        hub.start()
        listener = Hl7Listener(ws, *hl7) if hl7 is not None else None
        if listener is not None:
            await listener.start()
        app.state.hl7 = listener  # the admins' intake page shows its refused senders' count
        try:
            yield
        finally:
            if listener is not None:
                await listener.close()
            hub.close()
            if worker is not None:
                worker.stop()

    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers, lifespan=lifespan,
                    max_body_size=MAX_BODY)
    app.state.ws = ws
    app.state.live = hub
    return app
