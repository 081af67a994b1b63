"""User-interface translations: English message ids looked up in JSON catalogs.

Catalogs live in ``views/locales/<locale>.json`` and map an English message id to its
translation. A missing locale or key falls back to the id itself, so an untranslated string
still shows up in English. ``{name}`` placeholders are filled from keyword arguments; only
plain ``{word}`` fields are replaced (no attribute or index access, no format specs), and a
placeholder without a value is left as it is.

In jinja2: ``env.globals["_"] = make_gettext(locale)`` per request, then ``{{ _("Save") }}``
or ``{{ _("{count} records", count=n) }}``. The result is a plain ``str``, so autoescaping
still escapes user values put into placeholders.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

LOCALES_DIR = Path(__file__).with_name("locales")

#: Locales with a catalog, and how each names itself in the language switcher.
SUPPORTED_LOCALES: dict[str, str] = {"zh-CN": "简体中文", "en": "English"}
DEFAULT_LOCALE = "zh-CN"

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def normalize_locale(value: str | None) -> str | None:
    """Map a tag such as ``zh``, ``zh_cn``, ``zh-Hans-CN`` or ``en-US`` to a supported locale.

    Returns None when the language has no catalog.
    """
    if not value:
        return None
    tag = value.strip().replace("_", "-").lower()
    if tag in ("zh", "zh-cn", "zh-hans", "zh-sg") or tag.startswith(("zh-hans-", "zh-cn-")):
        return "zh-CN"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


def negotiate_locale(accept_language: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Pick a supported locale from an ``Accept-Language`` header, best quality first."""
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, number = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
        locale = normalize_locale(tag)
        if locale and quality > 0:
            choices.append((-quality, index, locale))
    return min(choices)[2] if choices else default


@cache
def catalog(locale: str) -> dict[str, str]:
    """The message catalog of a supported locale; an empty one for anything else."""
    if locale not in SUPPORTED_LOCALES:
        return {}
    with (LOCALES_DIR / f"{locale}.json").open(encoding="utf-8") as handle:
        data = json.load(handle)
    return {str(key): str(value) for key, value in data.items()}


def _fill(template: str, params: dict[str, object]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(params[name]) if name in params else match.group(0)

    return _PLACEHOLDER.sub(replace, template) if params else template


def translate(locale: str, key: str, **params: object) -> str:
    """Translate message id ``key`` into ``locale`` and fill its ``{name}`` placeholders."""
    resolved = normalize_locale(locale) or locale
    return _fill(catalog(resolved).get(key, key), params)


def make_gettext(locale: str) -> Callable[..., str]:
    """A ``_(key, **params)`` function bound to ``locale``, for jinja2 templates."""

    table = catalog(normalize_locale(locale) or locale)  # looked up once: a page asks dozens of times

    def gettext(key: str, **params: object) -> str:
        return _fill(table.get(key, key), params)

    return gettext
