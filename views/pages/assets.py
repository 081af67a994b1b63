"""Static files and the weight of responses: fingerprinted URLs, cache lifetimes, compression.

Owns `views/pages/static/`. Pages name a static file through the template global
`static("app.js")`, which gives `/static/app.js?v=<first 12 hex digits of its SHA-256>`: a
file asked for with its current fingerprint is sent with `Cache-Control: public,
max-age=31536000, immutable`, so a phone fetches each script once per release; any other
request for it (an old fingerprint, none) must revalidate (`no-cache`, with the ETag that
StaticFiles sends), so a new release is never hidden behind an old copy.

Compression (gzip, from starlette) applies to static files always, and to pages, fragments
and JSON only when the browser says the request came from this site itself
(`Sec-Fetch-Site: same-origin` or `none`, a header pages cannot forge). A compressed page
that holds a secret (the CSRF token, a patient's data) next to text an attacker placed in
the URL leaks that secret through its length to someone who can watch the traffic and make
the victim's browser send many requests (BREACH); requests that another site started are
therefore sent uncompressed. The REST API (`/v0/`) is compressed: it is reached with a
bearer token that no other site's page can make a browser send. Live event streams are
never compressed (starlette leaves `text/event-stream` alone).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC = Path(__file__).resolve().parent / "static"
IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"
MIN_SIZE = 1024  # smaller answers gain too little from compression to be worth it


@cache
def fingerprint(name: str) -> str:
    """The first 12 hex digits of the SHA-256 of static file `name` ("" if there is none)."""
    path = (STATIC / name).resolve()
    if not path.is_file() or STATIC not in path.parents:
        return ""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """`/static/NAME?v=FINGERPRINT`: the URL pages use for a static file."""
    version = fingerprint(name)
    return f"/static/{name}?v={version}" if version else f"/static/{name}"


class CachedStatic:
    """StaticFiles with a year-long lifetime for a file asked for by its current fingerprint."""

    def __init__(self) -> None:
        self.files = StaticFiles(directory=STATIC)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        asked = dict(part.partition("=")[::2] for part in query.split("&") if part).get("v", "")
        path, root = str(scope.get("path", "")), str(scope.get("root_path", ""))
        name = (path[len(root):] if root and path.startswith(root) else path).lstrip("/")
        current = bool(asked) and asked == fingerprint(name)

        async def send_cached(message: Message) -> None:
            if message["type"] == "http.response.start" and message.get("status") in (200, 304):
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers.append((b"cache-control", IMMUTABLE if current else REVALIDATE))
                message["headers"] = headers
            await send(message)

        await self.files(scope, receive, send_cached)


class CompressionMiddleware:
    """gzip for static files, the API, and pages this site's own pages asked for (see above)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=MIN_SIZE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.may_compress(scope):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    @staticmethod
    def may_compress(scope: Scope) -> bool:
        path = str(scope.get("path", ""))
        if path.startswith(("/static/", "/v0/")):
            return True
        site = next((v for k, v in scope.get("headers", []) if k == b"sec-fetch-site"), None)
        return site in (b"same-origin", b"none")
