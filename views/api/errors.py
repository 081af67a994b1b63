"""Errors of the REST API, in Airtable's shape: `{"error": {"type": ..., "message": ...}}`.

Handlers raise `ApiError`; `engine_error` turns an engine exception into the status and
type Airtable would use, choosing by the error's class and code (never by its text). The
message is rendered in the request's language (Accept-Language; English when it names none
with a catalog) through the one message catalog (views.messages). Messages never name a field
the caller may not read: callers resolve field names against the actor's readable fields before
anything reaches the engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from engine.errors import (
    Message,
    NotFoundError,
    PermissionDenied,
    QueryError,
    QueryTimeout,
    ValidationError,
)
from views.i18n import negotiate_locale, translate
from views.messages import render

log = logging.getLogger("gridbase.api")

NOT_FOUND = "NOT_FOUND"
MODEL_NOT_FOUND = "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"
INVALID_REQUEST = "INVALID_REQUEST_UNKNOWN"
INVALID_VALUE = "INVALID_VALUE_FOR_COLUMN"
UNKNOWN_FIELD = "UNKNOWN_FIELD_NAME"
INVALID_FORMULA = "INVALID_FILTER_BY_FORMULA"
QUERY_TIMEOUT = "QUERY_TIMEOUT"


#: A message for the caller in a locale: its English text, a catalog Message, or a function of the locale.
Text = str | Callable[[str], str]


def api_locale(request: Request) -> str:
    """The language the API answers errors in: the request's Accept-Language, else English."""
    return negotiate_locale(request.headers.get("accept-language"), default="en")


class ApiError(Exception):
    """An error to answer with: HTTP status, Airtable error type, a message for the caller
    (`.message` is its English text; `response(locale)` renders it in another language)."""

    def __init__(self, status: int, type_: str, message: Text, headers: dict[str, str] | None = None) -> None:
        self.text: Callable[[str], str] = message if callable(message) else _rendered(message)
        self.status = status
        self.type = type_
        self.message = self.text("en")
        self.headers = headers or {}
        super().__init__(self.message)

    def response(self, locale: str = "en") -> JSONResponse:
        return error_response(self.status, self.type, self.text(locale), self.headers)


def _rendered(message: str) -> Callable[[str], str]:
    return lambda locale: str(render(message, locale))


def _capital(text: Callable[[str], str]) -> Callable[[str], str]:
    def text_in(locale: str) -> str:
        shown = text(locale)
        return shown[:1].upper() + shown[1:]
    return text_in


def error_response(status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"type": type_, "message": message}}, status_code=status, headers=headers)


def model_not_found(what: str = "") -> ApiError:
    message = "Invalid permissions, or the requested model was not found. Check that both your user and your token have the required permissions, and that the model names and/or ids are correct."
    return ApiError(403, MODEL_NOT_FOUND, message + (f" ({what})" if what else ""))


def record_not_found(record_id: str) -> ApiError:
    return ApiError(404, NOT_FOUND, f"Could not find record {record_id}")


def unknown_field(name: str) -> ApiError:
    return ApiError(422, UNKNOWN_FIELD, f'Unknown field name: "{name}"')


def invalid_request(message: str) -> ApiError:
    return ApiError(422, INVALID_REQUEST, message)


def validation_message(exc: ValidationError, names: dict[str, str]) -> Callable[[str], str]:
    """One sentence per invalid field, naming it by its display name, in a given locale."""
    def text_in(locale: str) -> str:
        parts = []
        for key, text in exc.errors.items():
            name = names.get(key, key)
            # "{field}: {problem}" from the engine: the field is named by the sentence around it.
            problem = text.params["problem"] if isinstance(text, Message) and text.code == "field_problem" else text
            parts.append(translate(locale, 'Field "{name}" cannot accept the provided value: {detail}',
                                   name=name, detail=render(problem, locale)))
        return "; ".join(parts) or translate(locale, "Invalid value")
    return text_in


def engine_error(exc: Exception, *, names: dict[str, str] | None = None, record_id: str | None = None) -> ApiError:
    """The API error for an engine exception raised while serving a request."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ValidationError):
        return ApiError(422, INVALID_VALUE, validation_message(exc, names or {}))
    if isinstance(exc, NotFoundError):
        if record_id is not None:
            return record_not_found(record_id)
        return model_not_found()
    if isinstance(exc, PermissionDenied):
        return ApiError(403, MODEL_NOT_FOUND, _wrapped("You are not permitted to perform this operation: {detail}",
                                                       exc.message))
    if isinstance(exc, QueryTimeout):  # the request asked for more work than its time budget
        return ApiError(422, QUERY_TIMEOUT, _capital(_rendered(exc.message)))
    if isinstance(exc, QueryError):
        code = exc.code
        if code in ("formula_invalid", "query_too_complex"):
            return ApiError(422, INVALID_FORMULA, _wrapped("The formula for filtering records is invalid: {detail}",
                                                           exc.message))
        if code in ("bad_cursor", "cursor_too_far"):
            return ApiError(422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE", "The offset is invalid or has expired")
        if code in ("unknown_field", "unknown_sort_field"):
            return ApiError(422, UNKNOWN_FIELD, exc.message)
        return invalid_request(exc.message)
    log.exception("unexpected error in the API", exc_info=exc)
    return ApiError(500, "SERVER_ERROR", "The server encountered an unexpected error")


def _wrapped(template: str, detail: str) -> Callable[[str], str]:
    """`template` (a catalog id with a {detail}) around an engine message, in a given locale."""
    return lambda locale: translate(locale, template, detail=render(detail, locale))


def ensure(condition: Any, message: str) -> None:
    """Raise a 422 INVALID_REQUEST_UNKNOWN unless `condition` holds."""
    if not condition:
        raise invalid_request(message)
