"""Static files and response weight: fingerprinted URLs cached for a year, gzip where it is safe,
chart scripts only where there are charts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from views.pages.assets import STATIC, fingerprint

TEMPLATES = Path(__file__).resolve().parents[2] / "views" / "pages" / "templates"


def asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


def test_pages_name_static_files_by_fingerprint_and_those_are_cached_for_a_year(client_for: Any) -> None:
    admin = client_for("admin")
    page = admin.get("/")
    urls = asset_urls(page.text)
    assert any(u.startswith("/static/app.js?v=") for u in urls) and any(u.startswith("/static/app.css?v=") for u in urls)
    for url in urls:
        name, _, version = url.removeprefix("/static/").partition("?v=")
        assert version == fingerprint(name) and len(version) == 12, url
        answer = admin.get(url.replace("&amp;", "&"))
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable", url
    # an old fingerprint or none: the browser must ask again (a new release is never hidden)
    assert admin.get("/static/app.js?v=000000000000").headers["cache-control"] == "no-cache"
    assert admin.get("/static/app.js").headers["cache-control"] == "no-cache"
    assert admin.get("/static/../engine/people.py").status_code == 404


def test_every_template_names_static_files_through_static() -> None:
    bare = [p.name for p in TEMPLATES.glob("*.html") if re.search(r'(?:src|href)="/static/', p.read_text("utf-8"))]
    assert not bare, f"use {{{{ static('NAME') }}}} for static files in: {bare}"


def test_static_files_and_same_site_pages_are_compressed(client_for: Any) -> None:
    admin = client_for("admin")
    script = admin.get("/static/app.js", headers={"Accept-Encoding": "gzip"})
    assert script.headers.get("content-encoding") == "gzip"
    assert (STATIC / "app.js").read_bytes().decode("utf-8") == script.text
    page = admin.get("/b/cases/t/cases", headers={"Accept-Encoding": "gzip", "Sec-Fetch-Site": "same-origin"})
    assert page.status_code == 200 and page.headers.get("content-encoding") == "gzip"
    assert "Case records" in page.text


def test_pages_another_site_asked_for_are_not_compressed(client_for: Any) -> None:
    """BREACH: a secret beside text from the URL must not be measurable through compression."""
    admin = client_for("admin")
    for site in ("cross-site", "same-site", None):
        headers = {"Accept-Encoding": "gzip"} | ({"Sec-Fetch-Site": site} if site else {})
        page = admin.get("/b/cases/t/cases?q=csrf", headers=headers)
        assert page.status_code == 200 and "content-encoding" not in page.headers, site


def test_chart_scripts_load_only_on_dashboards(client_for: Any) -> None:
    admin = client_for("admin")
    assert not [u for u in asset_urls(admin.get("/b/cases/t/cases").text) if "vega" in u]
