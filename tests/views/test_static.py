"""The static groundwork: vendored scripts, no run-time network use, UI catalogs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from views.i18n import SUPPORTED_LOCALES, make_gettext, negotiate_locale, translate

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "views" / "pages" / "static"
VENDOR = STATIC / "vendor"
LOCALES = ROOT / "views" / "locales"

# file -> smallest believable size in bytes (a truncated or placeholder file is far smaller)
VENDORED = {
    "htmx.min.js": 30_000,
    "vega.min.js": 300_000,
    "vega-lite.min.js": 150_000,
    "vega-embed.min.js": 30_000,
    "Sortable.min.js": 30_000,
}
LICENSES = {
    "htmx.min.js": "htmx.LICENSE.txt",
    "vega.min.js": "vega.LICENSE.txt",
    "vega-lite.min.js": "vega-lite.LICENSE.txt",
    "vega-embed.min.js": "vega-embed.LICENSE.txt",
    "Sortable.min.js": "Sortable.LICENSE.txt",
}

URL = re.compile(r"https?://[^\s\"'`()<>\\]*", re.IGNORECASE)
# Protocol-relative URLs in JS strings or CSS, e.g. "//cdn.example.com/x.js".
PROTOCOL_RELATIVE = re.compile(r"""["'(]//[a-z0-9-]+(\.[a-z0-9-]+)+[/"')]""", re.IGNORECASE)
# Preserved licence banners: /*! ... */
LICENSE_COMMENT = re.compile(r"/\*!.*?\*/", re.DOTALL)

# Strings that contain a URL but are never fetched. Each is matched with its context.
ALLOWED_ANYWHERE = [
    # XML/SVG namespace identifiers used by the SVG renderer.
    re.compile(r"""["']http://www\.w3\.org/(2000/svg|1999/xlink|2000/xmlns/|XML/1998/namespace)["']"""),
    # The $schema string Vega-Lite writes into the Vega spec it compiles.
    re.compile(r"""\$schema["']?\s*:\s*["']https://vega\.github\.io/schema/(vega|vega-lite)/v[\d.]+\.json["']"""),
]
ALLOWED_IN = {
    "vega-lite.min.js": [
        # text of a warning message
        re.compile(r"\(https://github\.com/vega/vega-lite/issues/2415\)\.\""),
    ],
    "vega-embed.min.js": [
        # the default URL of the "Open in Vega Editor" action; app.js passes actions: false
        re.compile(r"""editorUrl\?\?"https://vega\.github\.io/editor/\""""),
        # vegaEmbed(url) detection; app.js always passes an element and a spec object
        re.compile(r"""startsWith\("https?://"\)"""),
    ],
}


def static_text_files() -> list[Path]:
    files = [p for p in STATIC.rglob("*") if p.is_file() and p.suffix != ".png"]  # the app icons are images
    assert files, "views/static is empty"
    return sorted(files)


def unexplained_urls(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if path.name.endswith(".LICENSE.txt"):
        return []  # licence texts are documents, never executed
    text = LICENSE_COMMENT.sub("", text)
    for pattern in ALLOWED_ANYWHERE + ALLOWED_IN.get(path.name, []):
        text = pattern.sub("", text)
    found = [m.group(0) for m in URL.finditer(text)]
    if path.suffix in (".js", ".css"):
        found += [m.group(0) for m in PROTOCOL_RELATIVE.finditer(text)]
    return found


@pytest.mark.parametrize("name", sorted(VENDORED))
def test_vendored_file_is_present_with_its_license(name: str) -> None:
    script = VENDOR / name
    assert script.is_file()
    assert script.stat().st_size >= VENDORED[name], f"{name} looks truncated"
    license_file = VENDOR / LICENSES[name]
    assert license_file.is_file()
    assert license_file.stat().st_size > 500
    text = license_file.read_text(encoding="utf-8")
    assert "Permission" in text or "Redistribution" in text
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    assert f"`{name}`" in readme and f"`{LICENSES[name]}`" in readme


def test_vendored_scripts_have_no_source_map_references() -> None:
    for name in VENDORED:
        assert "sourceMappingURL" not in (VENDOR / name).read_text(encoding="utf-8"), name


def test_vega_embed_uses_the_global_vega_builds() -> None:
    text = (VENDOR / "vega-embed.min.js").read_text(encoding="utf-8")
    assert ".vegaEmbed=t(e.vega,e.vegaLite)" in text
    # vega-embed bundles vega-interpreter, which app.js relies on (ast: true) under the CSP
    assert "expressionInterpreter" in text


@pytest.mark.parametrize("path", static_text_files(), ids=lambda p: str(p.relative_to(STATIC)))
def test_no_network_urls_in_static_files(path: Path) -> None:
    assert unexplained_urls(path) == []


def test_url_check_catches_cdn_references(tmp_path: Path) -> None:
    bad = tmp_path / "app.js"
    bad.write_text(
        'import("https://cdn.example.com/x.js");\n'
        'fetch("//unpkg.com/vega@5");\n'
        'var ns = "http://www.w3.org/2000/svg";\n'
        '/*! https://example.com licence */\n',
        encoding="utf-8",
    )
    assert unexplained_urls(bad) == ["https://cdn.example.com/x.js", '"//unpkg.com/']
    css = tmp_path / "app.css"
    css.write_text("@import url(//fonts.example.com/a.css);", encoding="utf-8")
    assert unexplained_urls(css) == ["(//fonts.example.com/"]


def test_stylesheet_loads_nothing() -> None:
    css = (STATIC / "app.css").read_text(encoding="utf-8")
    assert "@import" not in css
    assert "url(" not in css
    assert "@font-face" not in css
    for font in ('"PingFang SC"', '"Microsoft YaHei"', '"Noto Sans CJK SC"'):
        assert font in css
    for colour in ("red", "blue", "green", "yellow", "orange", "purple", "gray", "pink", "cyan"):
        assert f".opt-{colour} " in css


def test_app_js_is_csp_safe() -> None:
    js = (STATIC / "app.js").read_text(encoding="utf-8")
    assert "eval(" not in js
    assert "new Function(" not in js
    assert not re.search(r"(?<![\w.])Function\(", js)
    assert "setTimeout(\"" not in js and "setTimeout('" not in js
    assert "ast: true" in js  # vega expressions interpreted, not compiled
    assert "allowEval = false" in js
    assert "includeIndicatorStyles = false" in js
    assert "X-CSRF-Token" in js


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    catalogs = {}
    for locale in SUPPORTED_LOCALES:
        catalogs[locale] = json.loads((LOCALES / f"{locale}.json").read_text(encoding="utf-8"))
    en, zh = catalogs["en"], catalogs["zh-CN"]
    assert set(en) == set(zh)
    assert len(en) >= 120
    placeholder = re.compile(r"\{(\w+)\}")
    for key in en:
        assert en[key] == key, "English entries are their own message ids"
        assert zh[key].strip(), key
        assert set(placeholder.findall(zh[key])) == set(placeholder.findall(key)), key
    for key in ("Sign in", "Save", "{count} records", "Scan to fill in", "Mark all as read"):
        assert key in zh


def test_catalogs_are_kept_in_key_order() -> None:
    """Sorted catalogs let two changes that each add messages merge without a conflict."""
    for locale in SUPPORTED_LOCALES:
        keys = list(json.loads((LOCALES / f"{locale}.json").read_text(encoding="utf-8")))
        assert keys == sorted(keys), f"views/locales/{locale}.json: keep the keys sorted (json.dumps(sort_keys=True))"


def test_translate_formats_and_falls_back() -> None:
    assert translate("zh-CN", "Save") == "保存"
    assert translate("en", "Save") == "Save"
    assert translate("zh-CN", "{count} records", count=12) == "12 条记录"
    assert translate("en", "{count} records", count=12) == "12 records"
    assert (
        translate("zh-CN", "changed {field} from {old} to {new}", field="状态", old="待受理", new="处理中")
        == "将 状态 从 待受理 修改为 处理中"
    )
    # unknown key: the id itself, still formatted
    assert translate("zh-CN", "No such message {x}", x=1) == "No such message 1"
    # unknown locale: the id
    assert translate("fr", "Save") == "Save"
    # locale spellings
    assert translate("zh_cn", "Save") == translate("zh", "Save") == "保存"
    # a missing parameter leaves its placeholder; no attribute access through the template
    assert translate("en", "Too many attempts, try again in {minutes} minutes") == (
        "Too many attempts, try again in {minutes} minutes"
    )
    assert translate("en", "{x.__class__}", x=1) == "{x.__class__}"


def test_make_gettext_for_jinja2() -> None:
    _ = make_gettext("zh-CN")
    assert _("Cancel") == "取消"
    assert _("Too many attempts, try again in {minutes} minutes", minutes=5) == "尝试次数过多，请 5 分钟后再试"
    jinja2 = pytest.importorskip("jinja2")
    env = jinja2.Environment(autoescape=True)
    env.globals["_"] = _
    out = env.from_string('{{ _("Welcome, {name}", name=who) }}').render(who="<b>x</b>")
    assert out == "欢迎，&lt;b&gt;x&lt;/b&gt;"


def test_negotiate_locale() -> None:
    assert negotiate_locale("en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert negotiate_locale("fr-FR, zh;q=0.5, en;q=0.4") == "zh-CN"
    assert negotiate_locale("en;q=0, zh-TW") == "zh-CN"  # nothing usable: the default
    assert negotiate_locale(None, default="en") == "en"
