"""The parameters of "list records", read from a query string or a `listRecords` JSON body.

Both forms give one `ListParams`: page size (1–100), max records, the offset cursor, the
fields to return, sorts, `filterByFormula`, a view, the cell format with its time zone and
locale, and whether to key fields by id. Errors are Airtable's 422s; a request past one of
the engine's limits (`engine.limits`: sort entries, fields, ...) is a 422 naming the limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import QueryParams

from engine import limits
from engine.limits import LimitExceeded
from views.api.errors import ApiError, ensure, invalid_request

MAX_PAGE_SIZE = 100
# A sort index of at most 9 digits: a longer one is an unknown parameter, not a number too
# long for int() (a 500).
_SORT = re.compile(r"^sort\[(\d{1,9})\]\[(field|direction)\]$")
TRUE = ("1", "true")
FALSE = ("0", "false")


@dataclass
class ListParams:
    page_size: int = MAX_PAGE_SIZE
    max_records: int | None = None
    offset: str | None = None
    fields: list[str] | None = None
    sort: list[tuple[str, str]] = field(default_factory=list)
    formula: str | None = None
    view: str | None = None
    cell_format: str = "json"
    time_zone: ZoneInfo | None = None
    user_locale: str | None = None
    by_id: bool = False
    comment_count: bool = False  # recordMetadata: ["commentCount"]


LIST_QUERY = {"pageSize", "maxRecords", "offset", "fields[]", "fields", "filterByFormula", "view", "cellFormat",
              "timeZone", "userLocale", "returnFieldsByFieldId", "recordMetadata[]",
              "limit"}  # the page size as airtable.js's deprecated list()/forEach() send it
RECORD_QUERY = {"returnFieldsByFieldId", "cellFormat", "timeZone", "userLocale", "recordMetadata[]"}
RECORD_METADATA = ("commentCount",)
LIST_BODY = {"pageSize", "maxRecords", "offset", "fields", "filterByFormula", "view", "cellFormat", "timeZone",
             "userLocale", "returnFieldsByFieldId", "sort", "recordMetadata",
             "method"}  # airtable.js sends its select()'s `method: "post"` along; Airtable ignores it


def limit_error(exc: LimitExceeded) -> ApiError:
    """The 422 for a request past one of `engine.limits`, naming the limit and its value."""
    return invalid_request(f"Invalid request: {exc}")


def _within(limit: limits.Limit, given: int) -> None:
    try:
        limits.check(limit, given)
    except LimitExceeded as exc:
        raise limit_error(exc) from None


def check_query(query: QueryParams, allowed: set[str], pattern: re.Pattern[str] | None = None) -> None:
    """422 for query parameters the endpoint does not know (as Airtable)."""
    for key in query.keys():
        if key not in allowed and not (pattern and pattern.match(key)):
            raise invalid_request(f"Invalid request: unknown parameter '{key}'")


def check_keys(body: dict[str, Any], allowed: set[str], where: str = "the body") -> None:
    for key in body:
        if key not in allowed:
            raise invalid_request(f"Invalid request: unknown key '{key}' in {where}")


def _int(value: Any, name: str, low: int, high: int | None = None) -> int:
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (ValueError, OverflowError):
        raise invalid_request(f"Invalid request: parameter '{name}' must be a whole number") from None
    if number < low or (high is not None and number > high):
        limit = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise invalid_request(f"Invalid request: parameter '{name}' must be {limit}")
    return number


def _bool(value: Any, name: str = "returnFieldsByFieldId") -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in TRUE + FALSE or isinstance(value, (dict, list)):
        raise invalid_request(f"Invalid request: parameter '{name}' must be true or false")
    return text in TRUE


def _zone(name: Any) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ValueError, KeyError, OSError):
        raise ApiError(422, "INVALID_REQUEST_UNKNOWN", f"Invalid request: unknown timeZone '{name}'") from None


def _finish(p: ListParams, raw: dict[str, Any]) -> ListParams:
    if "pageSize" in raw:
        p.page_size = _int(raw["pageSize"], "pageSize", 1, MAX_PAGE_SIZE)
    if "maxRecords" in raw:
        p.max_records = _int(raw["maxRecords"], "maxRecords", 1)
    if raw.get("offset") not in (None, ""):
        ensure(isinstance(raw["offset"], str), "Invalid request: 'offset' must be a string")
        p.offset = raw["offset"]
    if raw.get("filterByFormula") not in (None, ""):
        ensure(isinstance(raw["filterByFormula"], str), "Invalid request: 'filterByFormula' must be a string")
        p.formula = raw["filterByFormula"]
    if "view" in raw:
        ensure(isinstance(raw["view"], str), "Invalid request: 'view' must be a string")
        p.view = raw["view"]
    cell = raw.get("cellFormat", "json")
    ensure(cell in ("json", "string"), "Invalid request: cellFormat must be 'json' or 'string'")
    p.cell_format = str(cell)
    if "timeZone" in raw:
        p.time_zone = _zone(raw["timeZone"])
    if raw.get("userLocale"):
        p.user_locale = str(raw["userLocale"])
    p.by_id = _bool(raw.get("returnFieldsByFieldId", False))
    return p


def _metadata(p: ListParams, items: Any) -> ListParams:
    """`recordMetadata`: the extras to add to each record; Airtable knows only `commentCount`."""
    ensure(isinstance(items, list) and all(isinstance(i, str) and i in RECORD_METADATA for i in items),
           "Invalid request: recordMetadata may only list " + ", ".join(RECORD_METADATA))
    p.comment_count = "commentCount" in items
    return p


def from_query(query: QueryParams) -> ListParams:
    """Parameters of `GET /v0/{base}/{table}`: `fields[]`, `sort[0][field]`, and the rest."""
    check_query(query, LIST_QUERY, _SORT)
    p = ListParams()
    raw: dict[str, Any] = {k: v for k, v in query.items() if k not in ("fields[]", "fields", "limit")}
    if "limit" in query and "pageSize" not in query:
        raw["pageSize"] = query["limit"]
    wanted = query.getlist("fields[]") + query.getlist("fields")
    _within(limits.FIELDS, len(wanted))
    if wanted:
        p.fields = wanted
    sorts: dict[int, dict[str, str]] = {}
    for key, value in query.multi_items():
        match = _SORT.match(key)
        if match:
            sorts.setdefault(int(match.group(1)), {})[match.group(2)] = value
    _within(limits.SORT_ENTRIES, len(sorts))
    p.sort = _sorts([sorts[i] for i in sorted(sorts)], query=True)
    raw.pop("recordMetadata[]", None)
    return _metadata(_finish(p, raw), query.getlist("recordMetadata[]"))


def from_body(body: Any, query: QueryParams) -> ListParams:
    """Parameters of `POST /v0/{base}/{table}/listRecords` (a JSON object; timeZone and
    userLocale may also come in the query string, as pyairtable sends them)."""
    ensure(isinstance(body, dict), "Invalid request: the body must be a JSON object")
    check_query(query, {"timeZone", "userLocale"})
    check_keys(body, LIST_BODY)
    for key, value in body.items():
        ensure(value is not None, f"Invalid request: '{key}' may not be null")
        if key in ("timeZone", "userLocale", "cellFormat", "offset", "view", "filterByFormula"):
            ensure(isinstance(value, str), f"Invalid request: '{key}' must be a string")
    ensure(body.get("method", "post") in ("get", "post"), "Invalid request: 'method' must be \"get\" or \"post\"")
    body = {**{k: v for k, v in query.items()}, **body}
    p = ListParams()
    fields = body.get("fields")
    if fields is not None:
        ensure(isinstance(fields, list) and all(isinstance(f, str) for f in fields),
               "Invalid request: 'fields' must be a list of field names")
        _within(limits.FIELDS, len(fields))
        p.fields = list(fields) or None
    sort = body.get("sort")
    if sort is not None:
        ensure(isinstance(sort, list) and all(isinstance(s, dict) for s in sort),
               "Invalid request: 'sort' must be a list of {field, direction}")
        _within(limits.SORT_ENTRIES, len(sort))
        p.sort = _sorts(sort)
    return _metadata(_finish(p, body), body.get("recordMetadata", []))


def _sorts(items: list[dict[str, Any]], *, query: bool = False) -> list[tuple[str, str]]:
    out = []
    for item in items:
        check_keys(item, {"field", "direction"}, "a sort")
        name = item.get("field")
        direction = item.get("direction", "asc")
        direction = direction.lower() if isinstance(direction, str) else direction
        ensure(direction in ("asc", "desc"), "Invalid request: sort direction must be 'asc' or 'desc'")
        if name is None and "direction" in item and len(items) == 1 and query:
            continue  # a direction alone: nothing to sort by
        ensure(isinstance(name, str) and name, "Invalid request: every sort needs a field")
        out.append((str(name), direction))
    return out
