"""Errors of the REST API, in Airtable's shape: `{"error": {"type": ..., "message": ...}}`.

Handlers raise `ApiError`; `engine_error` turns an engine exception into the status and
type Airtable would use. Messages never name a field the caller may not read: callers
resolve field names against the actor's readable fields before anything reaches the engine.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.responses import JSONResponse

from engine.errors import NotFoundError, PermissionDenied, QueryError, QueryTimeout, ValidationError

log = logging.getLogger("gridbase.api")

NOT_FOUND = "NOT_FOUND"
MODEL_NOT_FOUND = "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"
INVALID_REQUEST = "INVALID_REQUEST_UNKNOWN"
INVALID_VALUE = "INVALID_VALUE_FOR_COLUMN"
UNKNOWN_FIELD = "UNKNOWN_FIELD_NAME"
INVALID_FORMULA = "INVALID_FILTER_BY_FORMULA"
QUERY_TIMEOUT = "QUERY_TIMEOUT"


class ApiError(Exception):
    """An error to answer with: HTTP status, Airtable error type, a message for the caller."""

    def __init__(self, status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return error_response(self.status, self.type, self.message, self.headers)


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


def validation_message(exc: ValidationError, names: dict[str, str]) -> str:
    """One sentence per invalid field, naming it by its display name."""
    parts = []
    for key, text in exc.errors.items():
        name = names.get(key, key)
        prefix = f"{name}: "
        detail = text[len(prefix):] if text.startswith(prefix) else text
        parts.append(f'Field "{name}" cannot accept the provided value: {detail}')
    return "; ".join(parts) or "Invalid value"


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
        return ApiError(403, MODEL_NOT_FOUND, f"You are not permitted to perform this operation: {exc}")
    if isinstance(exc, QueryTimeout):  # the request asked for more work than its time budget
        text = str(exc)
        return ApiError(422, QUERY_TIMEOUT, text[:1].upper() + text[1:])
    if isinstance(exc, QueryError):
        text = str(exc)
        if text.startswith("formula"):
            return ApiError(422, INVALID_FORMULA, f"The formula for filtering records is invalid: {text}")
        if "cursor" in text:
            return ApiError(422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE", "The offset is invalid or has expired")
        if text.startswith("unknown field"):
            return ApiError(422, UNKNOWN_FIELD, text)
        return invalid_request(text)
    log.exception("unexpected error in the API", exc_info=exc)
    return ApiError(500, "SERVER_ERROR", "The server encountered an unexpected error")


def ensure(condition: Any, message: str) -> None:
    """Raise a 422 INVALID_REQUEST_UNKNOWN unless `condition` holds."""
    if not condition:
        raise invalid_request(message)
