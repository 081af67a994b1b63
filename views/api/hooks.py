"""`POST /hooks/{name}`: the web side of inbound webhooks (engine.hooks does the mapping and the write).

In order: the hook exists (404), its secret is set on the server (503 "not configured"; the
name of the environment variable to set goes to the server's log and the admins' intake page,
never to the caller), the signature or token matches (401; compared in constant time),
the request is within the hook's rate (429 with Retry-After; only signed requests count, so a
caller without the secret cannot use up the sender's deliveries), the body is JSON (400), it has a
delivery id (400), and the values suit the table (422, naming the field). Only then is the
record written; the answer (201 created, 200 updated, 200 with `"duplicate": true` for a
delivery taken before) is sent after the write has committed, so a 2xx always means the
record is stored. Bodies are at most 64 KB before anyone is known (gridbase.bodies).

Signatures: `hmac` — header `X-Gridbase-Signature: sha256=<hex of HMAC-SHA256(secret, raw
body)>`; `token` — header `Authorization: Bearer <secret>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.errors import GridbaseError, NotFoundError, PermissionDenied, ValidationError
from engine.hooks import HookDef, HookError, delivery_id_of, fail, hooks_of, receive
from engine.ratelimits import for_store
from views.ratelimit import Limiter
from views.threads import on_worker

SIGNATURE_HEADER = "x-gridbase-signature"
log = logging.getLogger("gridbase.hooks")


def problem(status: int, kind: str, message: str, **headers: str) -> Response:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status, headers=headers or None)


def limiter_for(request: Request, hook: HookDef) -> Limiter:
    """The hook's token bucket: `rate_limit` a minute, a tenth of a minute's worth at once (at least 5)."""
    limiters: dict[str, Limiter] = request.app.state.__dict__.setdefault("hook_limiters", {})
    found = limiters.get(hook.key)
    rate = hook.rate_limit / 60.0
    if found is None or found.rate != rate:
        found = limiters[hook.key] = for_store(request.app.state.ws.storage, f"hook:{hook.key}", rate,
                                               max(5.0, hook.rate_limit / 10.0))
    return found


def signed(hook: HookDef, secret: str, request: Request, body: bytes) -> bool:
    if hook.signature == "token":
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), secret.encode())
    given = request.headers.get(SIGNATURE_HEADER, "")
    algorithm, _, digest = given.partition("=")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return algorithm.strip().lower() == "sha256" and hmac.compare_digest(digest.strip().lower().encode(), expected.encode())


async def hook_endpoint(request: Request) -> Response:
    ws = request.app.state.ws
    name = str(request.path_params["name"])
    hook = hooks_of(ws.config).get(name)
    if hook is None:
        return problem(404, "NOT_FOUND", f"there is no hook named '{name[:100]}'")
    secret = hook.secret
    if not secret:
        log.warning("hook %s refused a delivery: its secret is not set; set the environment variable %s",
                    hook.key, hook.secret_env)
        return problem(503, "HOOK_NOT_CONFIGURED", f"the hook '{hook.key}' is not configured on this server yet")
    try:
        body = await request.body()
    except ClientDisconnect:
        return problem(400, "INVALID_REQUEST", "the body was not received")
    if not signed(hook, secret, request, body):
        how = ("an Authorization: Bearer header with the hook's secret" if hook.signature == "token" else
               "an X-Gridbase-Signature: sha256=<hex HMAC-SHA256 of the body with the hook's secret> header")
        return problem(401, "INVALID_SIGNATURE", f"the request is not signed with this hook's secret; send {how}")
    # Counted once signed: callers without the secret must not use up the sender's deliveries.
    wait = await on_worker(limiter_for(request, hook).take, name)
    if wait > 0:
        return problem(429, "TOO_MANY_REQUESTS", f"more than {hook.rate_limit} deliveries a minute; "
                                                 f"try again in {math.ceil(wait)} s", **{"Retry-After": str(math.ceil(wait))})
    try:
        payload: Any = json.loads(body)
    except (ValueError, UnicodeError):
        return problem(400, "INVALID_REQUEST_BODY", "the body is not JSON")
    if not isinstance(payload, dict):
        return problem(400, "INVALID_REQUEST_BODY", "the body must be a JSON object")
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        delivery = delivery_id_of(hook, payload, headers)
    except HookError as exc:
        return problem(400, "INVALID_REQUEST", str(exc))
    try:
        got = await on_worker(receive, ws, hook, payload, delivery)
    except GridbaseError as exc:  # signed, but refused: kept for an admin to retry (/admin/intake)
        await on_worker(fail, ws, hook, delivery, payload, str(exc))
        if isinstance(exc, HookError):
            return problem(400, "INVALID_REQUEST", str(exc))
        if isinstance(exc, ValidationError):
            return problem(422, "INVALID_VALUE", str(exc))
        if isinstance(exc, PermissionDenied | NotFoundError):  # a table its person may not read is "unknown" to them
            return problem(403, "FORBIDDEN", f"the hook's actor '{hook.actor}' may not write to table '{hook.table}' "
                                             f"({exc}); give their role create and edit rights on it")
        return problem(422, "CANNOT_WRITE", str(exc))
    status = 201 if got.created and not got.duplicate else 200
    return JSONResponse({"id": got.record, "created": got.created, "duplicate": got.duplicate}, status_code=status)


routes = [Route("/hooks/{name}", hook_endpoint, methods=["POST"])]
