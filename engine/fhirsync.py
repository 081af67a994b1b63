"""Reading FHIR R4: a server's REST API (paged, incremental) or bundle files, validated, then applied.

This module owns reading FHIR: `validate` checks one resource against the FHIR model library
(fhir.resources, its R4B models, which read R4's Patient, Encounter and Appointment; an unknown
element or a malformed value is refused with the element's place and the library's reason),
`take_bundle` applies every resource of a Bundle through engine.fhir (each refused one reported,
the others taken), `sync` pulls each mapped resource type from a server with `_lastUpdated=gt…`
from where the last run stopped and follows the Bundle's `link[rel=next]` page by page, and
`from_file` reads a bundle (or one resource) from a file. What a run did is a `Report`.

A run moves a resource type's `_lastUpdated` mark (engine.fhir's `_gb_fhir_sync`) only when
every resource of that type was taken, so a refused one is read again by the next run; one taken
before (same versionId) is not written again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError as ModelError

from engine import fhir
from engine.errors import GridbaseError
from engine.fhir import FhirError
from engine.interfaces import Workspace

TIMEOUT = 30.0  # seconds a server may keep us waiting
MAX_PAGES = 10_000
MAX_FILE_BYTES = 100 * 1024 * 1024
PAGE_SIZE = 100
MAX_PROBLEMS = 5  # of one resource, in its report line


@dataclass
class Report:
    """What one run did."""

    created: list[str] = field(default_factory=list)  # Type/id
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # this version was taken before
    skipped: list[str] = field(default_factory=list)  # no fhir: mapping takes its type
    refused: list[tuple[str, str]] = field(default_factory=list)  # (Type/id, why)
    pages: int = 0

    def summary(self) -> str:
        return (f"{len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
                f"{len(self.skipped)} skipped (no mapping), {len(self.refused)} refused")


def _place(loc: tuple[Any, ...]) -> str:
    out = ""
    for step in loc:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "(resource)"


def validate(resource: Any) -> dict[str, Any]:
    """The resource (as given) when the FHIR models read it; FhirError naming each problem's element."""
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise FhirError(code="fhir_not_resource")
    kind = resource["resourceType"]
    ident = f"{kind}/{resource.get('id', '?')}"
    try:
        model = get_fhir_model_class(kind)
    except KeyError:
        raise FhirError(code="fhir_unknown_type", params={"type": kind[:60]}) from None
    try:
        model.model_validate(resource)
    except ModelError as exc:
        problems = [f"{_place(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()[:MAX_PROBLEMS]]
        raise FhirError(code="fhir_invalid", params={"resource": ident, "problems": "; ".join(problems)}) from None
    except (TypeError, ValueError) as exc:  # the library's own checks, outside pydantic's
        raise FhirError(code="fhir_invalid", params={"resource": ident, "problems": str(exc)[:300]}) from None
    return resource


def _ident(resource: Any) -> str:
    if isinstance(resource, dict):
        return f"{resource.get('resourceType', '?')}/{resource.get('id', '?')}"
    return "?"


def take_resource(ws: Workspace, resource: Any, report: Report) -> None:
    """Validate and apply one resource, noting in `report` what it did; never raises for what it holds."""
    ident = _ident(resource)
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    if isinstance(kind, str) and not fhir.mappings_of(ws.config, kind):
        report.skipped.append(ident)
        return
    try:
        applied = fhir.apply(ws, validate(resource))
    except GridbaseError as exc:
        report.refused.append((ident, str(exc)))
        return
    (report.unchanged if applied.duplicate else report.created if applied.created else report.updated).append(ident)


def bundle_entries(bundle: Any) -> list[Any]:
    """The resources of a Bundle (or a lone resource, as one); FhirError when it is neither."""
    if not isinstance(bundle, dict) or not isinstance(bundle.get("resourceType"), str):
        raise FhirError(code="fhir_not_resource")
    if bundle["resourceType"] != "Bundle":
        return [bundle]
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise FhirError(code="fhir_bad_bundle", params={"problem": "entry is not a list"})
    out = []
    for entry in entries:
        search = entry.get("search") if isinstance(entry, dict) else None
        if isinstance(search, dict) and search.get("mode") == "outcome":
            continue  # an OperationOutcome about the search, not a result
        out.append(entry.get("resource") if isinstance(entry, dict) else None)
    return out


def _order(resource: Any) -> int:
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    return fhir.RESOURCES.index(kind) if kind in fhir.RESOURCES else len(fhir.RESOURCES)


def take_bundle(ws: Workspace, bundle: Any, report: Report) -> None:
    """Apply every resource of a bundle, each on its own: one refused does not stop the others.
    Patients go first, so that an encounter of a patient in the same bundle finds its patient."""
    for resource in sorted(bundle_entries(bundle), key=_order):
        take_resource(ws, resource, report)


def from_file(ws: Workspace, path: str | Path) -> Report:
    """Apply a bundle (or one resource) read from a JSON file."""
    file = Path(path)
    report = Report()
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            raise FhirError(code="fhir_bad_file", params={"file": str(file), "problem": "larger than 100 MB"})
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FhirError(code="fhir_bad_file", params={"file": str(file), "problem": str(exc)[:200]}) from None
    take_bundle(ws, data, report)
    return report


# -- a server ------------------------------------------------------------------------------------
def _get(client: httpx.Client, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
    try:
        answer = client.get(url, params=params, headers={"Accept": "application/fhir+json"})
    except httpx.HTTPError as exc:
        raise FhirError(code="fhir_fetch_failed", params={"url": url, "problem": str(exc) or type(exc).__name__}) from None
    if answer.status_code != 200:
        raise FhirError(code="fhir_fetch_failed", params={"url": url, "problem": f"HTTP {answer.status_code}"})
    try:
        data = answer.json()
    except ValueError:
        raise FhirError(code="fhir_fetch_failed", params={"url": url, "problem": "the answer is not JSON"}) from None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        found = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise FhirError(code="fhir_not_bundle", params={"url": url, "found": str(found)[:60]})
    return data


def _next(bundle: dict[str, Any], base: str) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            url = urljoin(base, str(link["url"]))
            if urlsplit(url).netloc != urlsplit(base).netloc:  # a next page on another host is not followed
                raise FhirError(code="fhir_next_elsewhere", params={"url": url[:200]})
            return url
    return None


def sync(ws: Workspace, server: str, *, full: bool = False, client: httpx.Client | None = None) -> Report:
    """Pull each mapped resource type from `server` (its base URL), from where the last run stopped
    (every resource with `full`), page by page; move the mark of a type only when none was refused."""
    base = server.rstrip("/") + "/"
    report = Report()
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    try:
        mapped = {m.resource for m in fhir.mappings_of(ws.config)}
        for kind in [k for k in fhir.RESOURCES if k in mapped]:
            started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            refused = len(report.refused)
            params = {"_count": str(PAGE_SIZE), "_sort": "_lastUpdated"}
            since = None if full else fhir.last_sync(ws, base, kind)
            if since:
                params["_lastUpdated"] = "gt" + since
            url: str | None = urljoin(base, kind) + "?" + urlencode(params)
            seen: set[str] = set()
            while url is not None:
                if url in seen or len(seen) >= MAX_PAGES:
                    raise FhirError(code="fhir_paging_loop", params={"url": url[:200]})
                seen.add(url)
                bundle = _get(http, url)
                report.pages += 1
                if len(seen) == 1 and isinstance(bundle.get("meta"), dict) and bundle["meta"].get("lastUpdated"):
                    started = str(bundle["meta"]["lastUpdated"])  # the server's clock, not ours
                take_bundle(ws, bundle, report)
                url = _next(bundle, base)
            if len(report.refused) == refused:
                fhir.note_sync(ws, base, kind, started)
    finally:
        if own:
            http.close()
    return report
