"""The engine's messages in the reader's language, through the one message catalog.

The engine raises errors with a code and parameters (engine.errors.Message: `unknown_person`,
`{"name": "赵"}`); the code's English template is also its message id in views/locales, so a
message is rendered by looking that template up in the reader's catalog (views.i18n) and filling
in its parameters, each rendered the same way when it is itself a message ("{field}: {problem}")
or a list of them. Nothing here reads an English sentence back: text that is not a Message
(a plugin's own error, a person's input) is shown as it is. Pages render in the page's
locale; the REST API in the request's Accept-Language, English by default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.errors import Message
from views.i18n import normalize_locale, translate

#: How a list of problems is joined, by locale.
SEPARATORS = {"zh-CN": "；"}


def render(message: Any, locale: str) -> Any:
    """`message` in `locale` when it is a Message (or a list of them), else unchanged."""
    if isinstance(message, Message):
        params = {name: render(value, locale) for name, value in message.params.items()}
        return translate(locale, message.template, **params)
    if isinstance(message, list | tuple):
        separator = SEPARATORS.get(normalize_locale(locale) or locale, "; ")
        return separator.join(str(render(item, locale)) for item in message)
    return message


def render_all(errors: Any, locale: str) -> Any:
    """`render` over the values of a dict or the items of a list (other values unchanged)."""
    if isinstance(errors, Mapping):
        return {key: render(value, locale) for key, value in errors.items()}
    if isinstance(errors, Iterable) and not isinstance(errors, str | bytes):
        return [render(value, locale) for value in errors]
    return errors


def render_error(exc: BaseException, locale: str) -> str:
    """An exception's message in `locale` (the engine's errors by their code)."""
    return str(render(getattr(exc, "message", None) or str(exc), locale))
