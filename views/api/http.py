"""Request plumbing shared by every API endpoint.

`endpoint(handler, scope=...)` makes a starlette endpoint out of a plain function `handler(ctx)
-> (status, json)`: it checks the bearer token, the rate limit, the token's scope and the
path's base against the token's bases (views.api_auth.check_scope), reads a JSON body (at most
`app.state.api_max_body` bytes, 2 MiB by default, and MAX_JSON_DEPTH lists and objects
deep), runs the handler on a worker thread (views.threads, the pattern the pages share) and turns every error
into Airtable's error shape, never a traceback, its message in the request's language
(views.api.errors.api_locale). Errors are told apart by class and code: the engine turns
SQLite's refusals into QueryError codes (engine.storage), so nothing here reads SQLite's text.

A GET (`read_request`) takes one worker thread for the rate limit, the token and the handler,
and its reads share one snapshot of the store (`storage.reading()`): on PostgreSQL the token's
row, its person's, the page and the people it names are then one transaction, its BEGIN and
COMMIT sent without waiting (engine/pg_connection.py), instead of three trips to a worker
thread and a transaction for each read.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from engine.permissions import Actor
from engine.tokens import Token
from engine.workspace import Workspace
from views.api.auth import VOUCHED, authenticate, bearer, check_rate, check_scope
from views.api.errors import ApiError, api_locale, engine_error, invalid_request
from views.api.values import People
from views.threads import on_worker

MAX_BODY = 2 * 1024 * 1024
MAX_JSON_DEPTH = 32  # an Airtable request body goes about 5 deep ({"records": [{"fields": {"f": [{"id"}]}}]})
NO_BODY: Any = type("NoBody", (), {"__repr__": lambda self: "NO_BODY"})()  # an empty request body
BODY_METHODS = ("POST", "PATCH", "PUT")


@dataclass
class Ctx:
    """One authenticated API request."""

    request: Request
    ws: Workspace
    actor: Actor
    person: str
    body: Any = NO_BODY
    token: Token | None = None
    people: People = field(init=False)

    def __post_init__(self) -> None:
        self.people = People(self.ws)

    @property
    def base_url(self) -> str:
        return str(self.request.base_url)

    def param(self, name: str) -> str:
        return path_param(self.request, name)


Handler = Callable[[Ctx], tuple[int, Any]]

# A "/" sent inside one path segment (as %2F, e.g. a table named "In/Out" by airtable.js's
# encodeURIComponent) travels through routing as this private-use character (views.api).
SLASH = "\ue000"


def path_param(request: Request, name: str) -> str:
    """A path parameter as the client meant it (an encoded "/" restored)."""
    return str(request.path_params.get(name, "")).replace(SLASH, "/")


async def read_json(request: Request) -> Any:
    """The request's JSON body: 413 when too large, 422 when it is not JSON."""
    limit = int(getattr(request.app.state, "api_max_body", MAX_BODY))
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "REQUEST_TOO_LARGE", f"Request body is too large (limit {limit} bytes)")
    chunks = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, "REQUEST_TOO_LARGE", f"Request body is too large (limit {limit} bytes)")
            chunks.append(chunk)
    except ClientDisconnect:
        raise invalid_request("Invalid request: the body was not received") from None
    raw = b"".join(chunks)
    if not raw:
        return NO_BODY
    too_deep = ApiError(422, "INVALID_REQUEST_BODY",
                        f"The request body is nested too deeply: at most {MAX_JSON_DEPTH} levels of"
                        " [ ] and { } are accepted (a record is {\"fields\": {\"name\": value}});"
                        " send field values as plain text, numbers, lists or objects")
    try:
        value = json.loads(raw)
    except RecursionError:  # deeper than Python's parser goes
        raise too_deep from None
    except (ValueError, UnicodeError):
        raise ApiError(422, "INVALID_REQUEST_BODY", "Could not parse the request body as JSON") from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise too_deep
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # lone surrogates (\ud800) cannot be stored
    except UnicodeError:
        raise ApiError(422, "INVALID_REQUEST_BODY", "Could not parse the request body as JSON") from None
    return value


def json_depth(value: Any) -> int:
    """How many lists and objects deep `value` goes (0 for a plain value), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            depth += 1
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                return depth
            stack.extend((child, depth) for child in item if isinstance(child, list | dict))
    return deepest


def json_response(status: int, payload: Any) -> Response:
    return JSONResponse(payload, status_code=status)


def endpoint(handler: Handler, *, body: bool = False, scope: str | None = None) -> Callable[[Request], Awaitable[Response]]:
    """A starlette endpoint running `handler` for an authenticated caller whose token has `scope`."""

    async def run(request: Request) -> Response:
        try:
            secret = bearer(request)
            if request.method == "GET":
                status, result = await on_worker(read_request, request, secret, handler, scope)
                return json_response(status, result)
            await on_worker(check_rate, request, secret)
            ws: Workspace = request.app.state.ws
            info = await on_worker(authenticate, ws, secret, request.scope.get(VOUCHED))
            base = request.path_params.get("base") and path_param(request, "base")
            check_scope(info.token, scope, str(base) if base is not None else None)
            payload = await read_json(request) if body and request.method in BODY_METHODS else NO_BODY
            ctx = Ctx(request, ws, info.actor, info.person, payload, info.token)
            status, result = await on_worker(handler, ctx)
        except ApiError as exc:
            return exc.response(api_locale(request))
        except Exception as exc:  # noqa: BLE001 - every failure answers in Airtable's shape
            return engine_error(exc).response(api_locale(request))
        return json_response(status, result)

    run.__name__ = getattr(handler, "__name__", "endpoint")
    run.__doc__ = handler.__doc__
    return run


def read_request(request: Request, secret: str, handler: Handler, scope: str | None) -> tuple[int, Any]:
    """On a worker thread, a GET: the rate limit, the token and the handler, the reads in one
    snapshot (see the module's docstring); ApiError as `endpoint`'s steps raise it."""
    check_rate(request, secret)
    ws: Workspace = request.app.state.ws
    with ws.storage.reading():
        info = authenticate(ws, secret, request.scope.get(VOUCHED))
        base = request.path_params.get("base") and path_param(request, "base")
        check_scope(info.token, scope, str(base) if base is not None else None)
        return handler(Ctx(request, ws, info.actor, info.person, NO_BODY, info.token))

