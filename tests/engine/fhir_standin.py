"""A FHIR R4 stand-in server on loopback for the tests: the search interaction of the REST API
(`GET [base]/Patient?_lastUpdated=gt...&_count=...`), answering searchset Bundles shaped as the
specification shows them (`type: searchset`, `total`, `link` with `self`/`next`, `entry` with
`fullUrl`, `resource` and `search.mode: match`), a few resources a page, so a client must page.

`resources` holds every resource by type; a test changes one (with a later meta.lastUpdated)
between runs; `requests` records every query string asked for.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

PAGE = 2  # resources a page, whatever _count asks


class StandIn:
    def __init__(self) -> None:
        self.resources: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.clock = "2026-12-07T01:00:00Z"  # the server's "now", Bundle.meta.lastUpdated
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                parts = urlsplit(self.path)
                kind = parts.path.rsplit("/", 1)[-1]
                query = parse_qs(parts.query)
                standin.requests.append((kind, query))
                if not parts.path.startswith("/fhir/") or kind not in ("Patient", "Encounter", "Appointment"):
                    self._send(404, {"resourceType": "OperationOutcome", "issue": [
                        {"severity": "error", "code": "not-supported", "diagnostics": f"unknown type {kind}"}]})
                    return
                self._send(200, standin.page(kind, query, f"http://{self.headers['Host']}{parts.path}"))

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/fhir"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def page(self, kind: str, query: dict[str, list[str]], url: str) -> dict[str, Any]:
        found = list(self.resources.get(kind, []))
        for value in query.get("_lastUpdated", []):
            if value.startswith("gt"):
                found = [r for r in found if r["meta"]["lastUpdated"] > value[2:]]
        found.sort(key=lambda r: r["meta"]["lastUpdated"])
        offset = int(query.get("_getpagesoffset", ["0"])[0])
        flat = {k: v[0] for k, v in query.items() if k != "_getpagesoffset"}
        links = [{"relation": "self", "url": url + "?" + urlencode({**flat, "_getpagesoffset": offset})}]
        if offset + PAGE < len(found):
            links.append({"relation": "next", "url": url + "?" + urlencode({**flat, "_getpagesoffset": offset + PAGE})})
        return {"resourceType": "Bundle", "id": f"search-{kind}-{offset}", "meta": {"lastUpdated": self.clock},
                "type": "searchset", "total": len(found), "link": links,
                "entry": [{"fullUrl": f"{url}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                          for r in found[offset:offset + PAGE]]}

    def start(self) -> StandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
