"""Webhook endpoints, as Airtable's webhooks API: create, list, delete, refresh, turn pings on
or off, and list a webhook's payloads (engine.webhooks keeps them).

A webhook belongs to the person whose token made it; only they (and an admin) see it. Its
specification may watch only a table they may read, and only fields of it they may read.
Each payload is shown as its owner may read it *now*: a table, record or field they may not
read is left out, a masked field is shown masked, exactly as their own record reads show it.
Every endpoint needs the token scope `webhook:manage`.
"""

from __future__ import annotations

from typing import Any

from engine import webhooks
from engine.outbox import Event
from plugins.netguard import UnsafeURL, split_url
from views.api.errors import ApiError, ensure, invalid_request, model_not_found
from views.api.http import Ctx
from views.api.ids import TableRef, find_table, readable_tables
from views.api.params import check_keys, check_query
from views.api.values import cell_json

DATA_TYPES = ("tableData", "tableFields", "tableMetadata")
CHANGE_TYPES = ("add", "remove", "update")
# Airtable's sources; people's writes through the web app and through the API are both
# `client` in Gridbase's outbox, so `publicApi` watches them too.
SOURCES = ("client", "publicApi", "formSubmission", "formPageSubmission", "automation", "system", "sync",
           "anonymousUser", "unknown")
FILTER_KEYS = {"dataTypes", "recordChangeScope", "changeTypes", "fromSources", "sourceOptions",
               "watchDataInFieldIds", "watchSchemasOfFieldIds"}
INCLUDE_KEYS = {"includeCellValuesInFieldIds", "includePreviousCellValues", "includePreviousFieldDefinitions"}


# -- the specification -----------------------------------------------------------------------
def _strings(value: Any, name: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    ensure(isinstance(value, list) and all(isinstance(v, str) for v in value),
           f"Invalid request: '{name}' must be a list of strings")
    for item in value:
        if allowed is not None and item not in allowed:
            raise invalid_request(f"Invalid request: '{name}' may hold only {', '.join(allowed)} (not '{item}')")
    return list(value)


def _scope_table(ctx: Ctx, scope: Any) -> TableRef:
    ensure(isinstance(scope, str) and scope, "Invalid request: 'recordChangeScope' must be a table id")
    if scope.startswith("viw"):
        raise invalid_request("Invalid request: 'recordChangeScope' takes a table id here; Gridbase does not"
                              " scope webhooks to a view (filter the payloads by the view's condition instead)")
    try:
        return find_table(ctx.ws, ctx.param("base"), scope, ctx.actor)
    except ApiError:
        raise invalid_request(f"Invalid request: 'recordChangeScope': no table '{scope}' that you may read"
                              " in this base") from None


def read_spec(ctx: Ctx, spec: Any) -> webhooks.Filters:
    """The filters of a specification, or a 422 naming what is wrong with it."""
    ensure(isinstance(spec, dict), "Invalid request: 'specification' must be an object")
    check_keys(spec, {"options"}, "specification")
    options = spec.get("options")
    ensure(isinstance(options, dict), "Invalid request: 'specification.options' must be an object")
    check_keys(options, {"filters", "includes"}, "specification.options")
    filters = options.get("filters")
    ensure(isinstance(filters, dict), "Invalid request: 'specification.options.filters' must be an object")
    check_keys(filters, FILTER_KEYS, "specification.options.filters")
    ensure(filters.get("dataTypes"), "Invalid request: 'filters.dataTypes' is required, e.g. [\"tableData\"]")
    _strings(filters["dataTypes"], "dataTypes", DATA_TYPES)
    out = webhooks.Filters()
    ref: TableRef | None = None
    if filters.get("recordChangeScope") is not None:
        ref = _scope_table(ctx, filters["recordChangeScope"])
        out.table = ref.table.key
    if "changeTypes" in filters:
        out.change_types = set(_strings(filters["changeTypes"], "changeTypes", CHANGE_TYPES))
    if "fromSources" in filters:
        sources = set(_strings(filters["fromSources"], "fromSources", SOURCES))
        out.sources = sources | ({"client"} if "publicApi" in sources else set())
    watched = filters.get("watchDataInFieldIds")
    if watched:
        names = _strings(watched, "watchDataInFieldIds")
        ensure(ref is not None, "Invalid request: 'watchDataInFieldIds' needs a table in 'recordChangeScope'")
        assert ref is not None
        out.fields = {_field_key(ref, n, "watchDataInFieldIds") for n in names}
    includes = options.get("includes")
    if includes is not None:
        ensure(isinstance(includes, dict), "Invalid request: 'specification.options.includes' must be an object")
        check_keys(includes, INCLUDE_KEYS, "specification.options.includes")
        for flag in ("includePreviousCellValues", "includePreviousFieldDefinitions"):
            ensure(isinstance(includes.get(flag, False), bool), f"Invalid request: '{flag}' must be true or false")
        shown = includes.get("includeCellValuesInFieldIds")
        if shown is not None and shown != "all":
            names = _strings(shown, "includeCellValuesInFieldIds")
            ensure(ref is not None or not names,
                   "Invalid request: 'includeCellValuesInFieldIds' names fields of the table in 'recordChangeScope'")
            for name in names:
                _field_key(ref, name, "includeCellValuesInFieldIds")  # type: ignore[arg-type]
    return out


def _field_key(ref: TableRef, name: str, where: str) -> str:
    try:
        return ref.field_key(name)
    except ApiError:
        raise invalid_request(f"Invalid request: '{where}': unknown field '{name}'") from None


# -- endpoints ---------------------------------------------------------------------------------
def _base(ctx: Ctx) -> str:
    base = ctx.param("base")
    if not readable_tables(ctx.ws, base, ctx.actor):
        raise model_not_found()
    return base


def _hook(ctx: Ctx) -> webhooks.Webhook:
    hook = webhooks.get(ctx.ws, _base(ctx), ctx.param("webhook"))
    if hook is None or (hook.owner != ctx.person and not ctx.actor.admin):
        raise model_not_found()
    return hook


def _iso(stamp: str | None) -> str | None:
    return webhooks.iso_ms(stamp) if stamp else None


def create(ctx: Ctx) -> tuple[int, Any]:
    """POST /v0/bases/{base}/webhooks."""
    check_query(ctx.request.query_params, set())
    base = _base(ctx)
    body = ctx.body
    ensure(isinstance(body, dict), "Invalid request: the body must be an object with 'specification'")
    check_keys(body, {"notificationUrl", "specification"})
    url = body.get("notificationUrl")
    if url is not None:
        ensure(isinstance(url, str), "Invalid request: 'notificationUrl' must be a URL")
        try:
            split_url(url)
        except UnsafeURL as exc:
            raise invalid_request(f"Invalid request: 'notificationUrl': {exc.reason}") from None
    ensure("specification" in body, "Invalid request: 'specification' is required")
    filters = read_spec(ctx, body["specification"])
    try:
        hook = webhooks.create(ctx.ws, base=base, owner=ctx.person, url=url or None, spec=body["specification"],
                               filters=filters)
    except ValueError as exc:
        raise ApiError(422, "TOO_MANY_WEBHOOKS", str(exc)) from None
    return 200, {"id": hook.id, "macSecretBase64": hook.secret, "expirationTime": _iso(hook.expires_at)}


def _result(ctx: Ctx, hook: webhooks.Webhook) -> tuple[dict[str, Any] | None, str | None]:
    """lastNotificationResult and lastSuccessfulNotificationTime, from the latest ping."""
    state = webhooks.last_ping(ctx.ws, hook)
    if state is None or (state["status"] in ("pending", "sending") and not state["attempts"]):
        return None, _iso(hook.last_success)
    retry = max(int(state["attempts"]) - 1, 0)
    if state["status"] == "sent":
        return ({"success": True, "completionTimestamp": _iso(state["sent_at"]), "durationMs": 0,
                 "retryNumber": retry}, _iso(state["sent_at"]))
    return ({"success": False, "error": {"message": state["last_error"] or "the notification failed"},
             "completionTimestamp": _iso(state["next_at"]), "durationMs": 0, "retryNumber": retry,
             "willBeRetried": state["status"] == "pending"}, _iso(hook.last_success))


def list_hooks(ctx: Ctx) -> tuple[int, Any]:
    """GET /v0/bases/{base}/webhooks: the caller's webhooks (an admin's: all of the base's)."""
    check_query(ctx.request.query_params, set())
    base = _base(ctx)
    out = []
    for hook in webhooks.listed(ctx.ws, base, owner=None if ctx.actor.admin else ctx.person):
        result, success = _result(ctx, hook)
        out.append({"id": hook.id, "areNotificationsEnabled": hook.notifications,
                    "cursorForNextPayload": hook.next_cursor, "isHookEnabled": True,
                    "lastSuccessfulNotificationTime": success, "notificationUrl": hook.url,
                    "lastNotificationResult": result, "expirationTime": _iso(hook.expires_at),
                    "specification": hook.spec})
    return 200, {"webhooks": out}


def delete(ctx: Ctx) -> tuple[int, Any]:
    """DELETE /v0/bases/{base}/webhooks/{webhook}."""
    check_query(ctx.request.query_params, set())
    webhooks.delete(ctx.ws, _hook(ctx))
    return 200, {}


def refresh(ctx: Ctx) -> tuple[int, Any]:
    """POST /v0/bases/{base}/webhooks/{webhook}/refresh: seven more days from now."""
    check_query(ctx.request.query_params, set())
    return 200, {"expirationTime": _iso(webhooks.refresh(ctx.ws, _hook(ctx)))}


def enable_notifications(ctx: Ctx) -> tuple[int, Any]:
    """POST /v0/bases/{base}/webhooks/{webhook}/enableNotifications with {"enable": bool}."""
    check_query(ctx.request.query_params, set())
    hook = _hook(ctx)
    body = ctx.body
    ensure(isinstance(body, dict) and isinstance(body.get("enable"), bool),
           "Invalid request: the body must be {\"enable\": true} or {\"enable\": false}")
    check_keys(body, {"enable"})
    webhooks.enable_notifications(ctx.ws, hook, body["enable"])
    return 200, {}


def _number(ctx: Ctx, name: str, default: int, high: int | None = None) -> int:
    raw = ctx.request.query_params.get(name)
    if raw is None:
        return default
    text = raw.strip()
    if not text.isdigit() or len(text) > 12 or int(text) < 1 or (high is not None and int(text) > high):
        limit = f"from 1 to {high}" if high is not None else "a whole number of at least 1"
        raise invalid_request(f"Invalid request: parameter '{name}' must be {limit}")
    return int(text)


def list_payloads(ctx: Ctx) -> tuple[int, Any]:
    """GET /v0/bases/{base}/webhooks/{webhook}/payloads?cursor=N&limit=N."""
    check_query(ctx.request.query_params, {"cursor", "limit"})
    hook = _hook(ctx)
    cursor = _number(ctx, "cursor", 1)
    limit = _number(ctx, "limit", webhooks.MAX_PAYLOADS, webhooks.MAX_PAYLOADS)
    items = webhooks.payloads(ctx.ws, hook, cursor=cursor, limit=limit)
    seen = webhooks.changes_seen_by(ctx.ws, hook.owner, items)
    shaped = [_payload(ctx, hook, item, seen.get(item.cursor)) for item in items]
    after = items[-1].cursor + 1 if items else (hook.next_cursor if cursor < hook.next_cursor else cursor)
    return 200, {"payloads": shaped, "cursor": after, "mightHaveMore": after < hook.next_cursor}


# -- a payload in Airtable's shape -------------------------------------------------------------
def _metadata(ctx: Ctx, event: Event | None) -> dict[str, Any]:
    if event is None:
        return {"source": "unknown", "sourceMetadata": {}}
    source = webhooks.source_of(event)
    meta: dict[str, Any] = {}
    if source == "client":  # a person's write: name them as Airtable does
        meta["user"] = ctx.people.collaborator(event.actor)
    return {"source": source, "sourceMetadata": meta}


def _cells(ctx: Ctx, ref: TableRef, values: dict[str, Any], masked: set[str], keys: list[str] | None = None,
           *, drop_false: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in keys if keys is not None else list(values):
        value = values.get(key)
        if drop_false and value is False and ref.table.fields[key].airtable_name() == "checkbox":
            continue  # as Airtable does: an unchecked box is left out
        if value is None or key in masked:
            out[ref.fid(key)] = value
        else:
            out[ref.fid(key)] = cell_json(ref, key, value, ctx.people, ctx.base_url)
    return out


def _payload(ctx: Ctx, hook: webhooks.Webhook, item: webhooks.Payload, seen: webhooks.SeenChange | None) -> dict[str, Any]:
    event = item.event
    out: dict[str, Any] = {"timestamp": webhooks.iso_ms(event.at if event else item.at),
                           "baseTransactionNumber": event.id if event else 0,
                           "actionMetadata": _metadata(ctx, event), "payloadFormat": "v0",
                           "changedTablesById": {}}
    if seen is None:
        return out
    owner = ctx.ws.actor(hook.owner)
    table = seen.table
    access = table.access(owner)
    ref = TableRef(table, owner, access, [k for k in table.fields if access.readable(k)])
    includes = (hook.spec.get("options") or {}).get("includes") or {}
    changed: dict[str, Any] = {}
    if seen.kind == "add":
        cells = _cells(ctx, ref, seen.current, seen.masked, drop_false=True)
        changed["createdRecordsById"] = {seen.record: {"createdTime": seen.created_time, "cellValuesByFieldId": cells}}
    elif seen.kind == "remove":
        changed["destroyedRecordIds"] = [seen.record]
    else:
        if not seen.keys:
            return out  # nothing the owner may read changed
        entry: dict[str, Any] = {"current": {"cellValuesByFieldId": _cells(ctx, ref, seen.current, seen.masked, seen.keys)}}
        if includes.get("includePreviousCellValues"):
            entry["previous"] = {"cellValuesByFieldId": _cells(ctx, ref, seen.previous, seen.masked, seen.keys)}
        wanted = includes.get("includeCellValuesInFieldIds")
        if wanted:
            keys = [k for k in ref.readable if wanted == "all" or ref.fid(k) in wanted
                    or ref.table.tdef.fields[k].name in wanted or k in wanted]
            keys = [k for k in keys if k not in seen.keys]
            now = webhooks.current_values(table, seen.record, hook.owner, keys)
            entry["unchanged"] = {"cellValuesByFieldId": _cells(ctx, ref, now, seen.masked)}
        changed["changedRecordsById"] = {seen.record: entry}
    out["changedTablesById"] = {ref.id: changed}
    return out
