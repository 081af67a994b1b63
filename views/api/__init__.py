"""The Airtable-compatible REST API: `routes`, a list with one Mount at `/v0`.

    app = Starlette(routes=[*views.api.routes, ...]); app.state.ws = workspace

Endpoints (see docs/api.md): records under `/v0/{base}/{table}[/{recordId}]` and
`/v0/{base}/{table}/listRecords`; record comments under `/v0/{base}/{table}/{recordId}/comments`;
meta under `/v0/meta/…`; webhooks under
`/v0/bases/{base}/webhooks[/{id}[/refresh|/enableNotifications|/payloads]]`; the OpenAPI document at
`/v0/openapi.json`. Each endpoint names the token scope it needs (as Airtable's personal
access tokens: data.records:read/write, schema.bases:read). `app.state.api_rate` sets the per-token rate limit (default 5/s, burst
10) and `app.state.api_max_body` the largest accepted body (default 2 MiB).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Scope

from engine.tokens import (
    COMMENTS_READ,
    COMMENTS_WRITE,
    RECORDS_READ,
    RECORDS_WRITE,
    SCHEMA_READ,
    WEBHOOK_MANAGE,
)
from views.api import comments as api_comments
from views.api import meta as api_meta
from views.api import openapi as api_openapi
from views.api import records as api_records
from views.api import webhooks as api_webhooks
from views.api.errors import ApiError
from views.api.http import SLASH, endpoint

Endpoint = Callable[[Request], Awaitable[Response]]


def _methods(table: dict[str, Endpoint]) -> Endpoint:
    """One endpoint dispatching on the HTTP method; others get a JSON 405 with `Allow`."""
    allowed = ", ".join(sorted(table))

    async def dispatch(request: Request) -> Response:
        handler = table.get(request.method)
        if handler is None:
            if request.method == "HEAD" and "GET" in table:
                return await table["GET"](request)
            return ApiError(405, "METHOD_NOT_ALLOWED", f"Method {request.method} is not allowed here",
                            {"Allow": allowed}).response()
        return await handler(request)

    return dispatch


async def _not_found(request: Request) -> Response:
    return ApiError(404, "NOT_FOUND", "Could not find what you are looking for").response()


_update = endpoint(api_records.update, body=True, scope=RECORDS_WRITE)
_records = _methods({
    "GET": endpoint(api_records.list_get, scope=RECORDS_READ),
    "POST": endpoint(api_records.create, body=True, scope=RECORDS_WRITE),
    "PATCH": _update,
    "PUT": _update,
    "DELETE": endpoint(api_records.delete, scope=RECORDS_WRITE),
})
_record = _methods({
    "GET": endpoint(api_records.get_record, scope=RECORDS_READ),
    "PATCH": _update,
    "PUT": _update,
    "DELETE": endpoint(api_records.delete, scope=RECORDS_WRITE),
})

# -- webhooks (Airtable's webhooks API; views.api.webhooks) ------------------------------------
_HOOKS = "/bases/{base}/webhooks"
_webhook_routes = [
    (_HOOKS, {"GET": endpoint(api_webhooks.list_hooks, scope=WEBHOOK_MANAGE),
              "POST": endpoint(api_webhooks.create, body=True, scope=WEBHOOK_MANAGE)}),
    (_HOOKS + "/{webhook}", {"DELETE": endpoint(api_webhooks.delete, scope=WEBHOOK_MANAGE)}),
    (_HOOKS + "/{webhook}/refresh", {"POST": endpoint(api_webhooks.refresh, body=True, scope=WEBHOOK_MANAGE)}),
    (_HOOKS + "/{webhook}/enableNotifications",
     {"POST": endpoint(api_webhooks.enable_notifications, body=True, scope=WEBHOOK_MANAGE)}),
    (_HOOKS + "/{webhook}/payloads", {"GET": endpoint(api_webhooks.list_payloads, scope=WEBHOOK_MANAGE)}),
]
# -- end of webhooks ----------------------------------------------------------------------------
# -- record comments (views/api/comments.py) -------------------------------------------
_comments = _methods({
    "GET": endpoint(api_comments.list_comments, scope=COMMENTS_READ),
    "POST": endpoint(api_comments.add_comment, body=True, scope=COMMENTS_WRITE),
})
_comment = _methods({
    "PATCH": endpoint(api_comments.update_comment, body=True, scope=COMMENTS_WRITE),
    "DELETE": endpoint(api_comments.delete_comment, scope=COMMENTS_WRITE),
})
COMMENT_ROUTES = [
    ("/{base}/{table}/{record}/comments", _comments),
    ("/{base}/{table}/{record}/comments/{comment}", _comment),
]
# -- end of record comments -------------------------------------------------------------

_ANY = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]

def _dotall(route: Route | Mount) -> Route | Mount:
    """Let path parameters hold any character, newlines included (so odd ids get JSON 404s)."""
    route.path_regex = re.compile(route.path_regex.pattern, re.DOTALL)
    return route


class _Mount(Mount):
    """`/v0`, where a table's name may hold a "/": clients send it as %2F (airtable.js and
    pyairtable encode names), which the server decodes before routing; here such a "/" stays
    inside its segment (as `SLASH`, which `Ctx.param` turns back)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        raw = scope.get("raw_path")
        if scope["type"] != "http" or not isinstance(raw, bytes) or b"%2f" not in raw.lower():
            return super().matches(scope)
        segments = raw.split(b"?", 1)[0].split(b"/")
        path = "/".join(unquote_to_bytes(s).decode("utf-8", "replace").replace("/", SLASH) for s in segments)
        match, child = super().matches({**scope, "path": path})
        if match is Match.FULL:
            child["path"] = path
        return match, child


routes: list[BaseRoute] = [
    _dotall(_Mount("/v0", routes=[_dotall(r) for r in [
        Route("/openapi.json", _methods({"GET": endpoint(api_openapi.openapi)}), methods=_ANY),
        Route("/meta/whoami", _methods({"GET": endpoint(api_meta.whoami)}), methods=_ANY),
        Route("/meta/bases", _methods({"GET": endpoint(api_meta.list_bases, scope=SCHEMA_READ)}), methods=_ANY),
        Route("/meta/bases/{base}/tables", _methods({"GET": endpoint(api_meta.list_tables, scope=SCHEMA_READ)}),
              methods=_ANY),
        *[Route(path, _methods(table), methods=_ANY) for path, table in _webhook_routes],
        Route("/{base}/{table}/listRecords",
              _methods({"POST": endpoint(api_records.list_post, body=True, scope=RECORDS_READ)}), methods=_ANY),
        Route("/{base}/{table}", _records, methods=_ANY),
        Route("/{base}/{table}/", _records, methods=_ANY),  # airtable.js creates and bulk-updates here
        Route("/{base}/{table}/{record}", _record, methods=_ANY),
        *[Route(path, handler, methods=_ANY) for path, handler in COMMENT_ROUTES],
        Route("/{rest:path}", _not_found, methods=_ANY),
    ]])),
]

__all__ = ["routes"]
