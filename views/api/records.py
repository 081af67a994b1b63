"""Record endpoints: list (GET and POST listRecords), get, create, update/replace, upsert, delete.

Every read goes through `Table.query/get` and every write through `Table.create/update/delete`
with the token's person as actor, so the API has exactly the engine's permissions: a hidden
row is 404, a hidden field is an unknown field name. A batch (1–10 records) runs in one
transaction: all of it is written, or none.
"""

from __future__ import annotations

from typing import Any

from engine.errors import GridbaseError, NotFoundError, QueryError
from engine.limits import LimitExceeded
from engine.model import FieldDef
from engine.query import all_of
from engine.reads import decode_cursor, encode_cursor
from engine.schema import FormulaRefs
from views.api.comments import comment_counts
from views.api.errors import (
    INVALID_FORMULA,
    INVALID_VALUE,
    ApiError,
    engine_error,
    ensure,
    invalid_request,
    unknown_field,
)
from views.api.http import NO_BODY, Ctx
from views.api.ids import TableRef, find_table
from views.api.params import (
    RECORD_QUERY,
    ListParams,
    check_keys,
    check_query,
    from_body,
    from_query,
    limit_error,
)
from views.api.values import fields_in, record_out

MAX_BATCH = 10


def _ref(ctx: Ctx) -> TableRef:
    return find_table(ctx.ws, ctx.param("base"), ctx.param("table"), ctx.actor)


def _check_formula(ref: TableRef, text: str) -> None:
    """Refuse formulas that name hidden or masked fields (as unknown names: nothing leaks)."""
    usable = {k for k in ref.readable if not ref.masked(k)}
    try:  # hidden and masked fields are unknown names, never suggested: nothing leaks
        FormulaRefs(ref.table.tdef, FieldDef("_filter", "formula", "filter", {"formula": text}), readable=usable)
    except ValueError as exc:
        raise ApiError(422, INVALID_FORMULA, f"The formula for filtering records is invalid: {exc}") from None


def list_records(ctx: Ctx, p: ListParams) -> tuple[int, Any]:
    ref = _ref(ctx)
    filters: list[Any] = []
    sort: list[str] = []
    keys: list[str] | None = None
    if p.view is not None:
        vdef = ref.view(p.view)
        if vdef is None:
            raise ApiError(422, "VIEW_NAME_NOT_FOUND", f'Could not find view "{p.view}" in table')
        if vdef.filter:
            filters.append(vdef.filter)
        sort = [s for s in vdef.sort if s.lstrip("-+") in ref.readable and not ref.masked(s.lstrip("-+"))]
        # As Airtable: a view chooses records and their order; fields it hides are still
        # returned (`fields[]` asks for fewer). Fields the caller may not read stay out.
    if p.formula:
        _check_formula(ref, p.formula)
        filters.append({"formula": p.formula})
    if p.sort:
        sort = []
        for name, direction in p.sort:
            key = ref.field_key(name)
            if ref.masked(key):
                raise unknown_field(name)
            sort.append(("-" if direction == "desc" else "") + key)
    if p.fields is not None:
        keys = [ref.field_key(name) for name in p.fields]
    try:
        start = decode_cursor(p.offset)
    except QueryError as exc:
        raise engine_error(exc) from None
    limit = p.page_size
    if p.max_records is not None:
        limit = min(limit, p.max_records - start)
        if limit <= 0:
            return 200, {"records": []}
    flt = all_of(filters)
    try:
        page = ref.table.query(actor=ctx.actor, filter=flt, sort=sort, limit=limit, offset=start,
                               fields=keys, with_total=False)
    except LimitExceeded as exc:
        raise limit_error(exc) from None
    except GridbaseError as exc:
        raise engine_error(exc, names=ref.names()) from None
    counts = comment_counts(ref, [r["id"] for r in page.records]) if p.comment_count else {}
    ctx.people.prefetch(ref, page.records)
    records = [record_out(ref, r, by_id=p.by_id, string=p.cell_format == "string", tz=p.time_zone,
                          people=ctx.people, base_url=ctx.base_url, comment_count=counts.get(r["id"]))
               for r in page.records]
    out: dict[str, Any] = {"records": records}
    nxt = page.next_offset
    if nxt is not None and (p.max_records is None or nxt < p.max_records):
        out["offset"] = encode_cursor(nxt)
    return 200, out


def list_get(ctx: Ctx) -> tuple[int, Any]:
    """GET /v0/{base}/{table}: records, one page at a time."""
    return list_records(ctx, from_query(ctx.request.query_params))


def list_post(ctx: Ctx) -> tuple[int, Any]:
    """POST /v0/{base}/{table}/listRecords: the same, parameters in the JSON body."""
    return list_records(ctx, from_body({} if ctx.body is NO_BODY else ctx.body, ctx.request.query_params))


def _get(ref: TableRef, ctx: Ctx, record_id: str) -> dict[str, Any]:
    try:
        return ref.table.get(record_id, actor=ctx.actor)
    except NotFoundError:
        raise ApiError(404, "NOT_FOUND", f"Could not find record {record_id}") from None


def get_record(ctx: Ctx) -> tuple[int, Any]:
    """GET /v0/{base}/{table}/{recordId}."""
    ref = _ref(ctx)
    query = ctx.request.query_params
    check_query(query, RECORD_QUERY)
    p = from_query(query)
    record = _get(ref, ctx, ctx.param("record"))
    count = comment_counts(ref, [record["id"]])[record["id"]] if p.comment_count else None
    return 200, record_out(ref, record, by_id=p.by_id, string=p.cell_format == "string", tz=p.time_zone,
                           people=ctx.people, base_url=ctx.base_url, comment_count=count)


# -- writing ---------------------------------------------------------------------------
WRITE_KEYS = {"records", "fields", "typecast", "returnFieldsByFieldId"}


def _body(ctx: Ctx, allowed: set[str] = WRITE_KEYS) -> dict[str, Any]:
    body = ctx.body
    ensure(isinstance(body, dict), "Invalid request: the body must be a JSON object")
    assert isinstance(body, dict)
    check_keys(body, allowed)
    for flag in ("typecast", "returnFieldsByFieldId"):
        ensure(isinstance(body.get(flag, False), bool), f"Invalid request: '{flag}' must be true or false")
    check_query(ctx.request.query_params, set())
    return body


def _batch(body: dict[str, Any], *, need_id: bool) -> tuple[list[dict[str, Any]], bool]:
    """(records, single) from `{"records": [...]}` or the single-record shape `{"fields": {...}}`."""
    if "records" in body:
        records = body["records"]
        ensure(isinstance(records, list) and 1 <= len(records) <= MAX_BATCH,
               f"Invalid request: 'records' must be a list of 1 to {MAX_BATCH} records")
        ensure(all(isinstance(r, dict) for r in records), "Invalid request: every record must be an object")
        single = False
    else:
        ensure("fields" in body, "Invalid request: give 'records' or 'fields'")
        records, single = [body], True
    for r in records:
        if not single:
            check_keys(r, {"id", "fields"}, "a record")
        ensure(isinstance(r.get("fields"), dict), "Invalid request: every record needs a 'fields' object")
        if need_id:
            ensure(isinstance(r.get("id"), str), "Invalid request: every record needs an 'id'")
    return records, single


def _out(ctx: Ctx, ref: TableRef, record: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    by_id = bool(body.get("returnFieldsByFieldId")) is True
    return record_out(ref, record, by_id=by_id, people=ctx.people, base_url=ctx.base_url)


def _typecast(body: dict[str, Any]) -> bool:
    return body.get("typecast") is True


def create(ctx: Ctx) -> tuple[int, Any]:
    """POST /v0/{base}/{table}: create 1–10 records."""
    ref = _ref(ctx)
    body = _body(ctx)
    records, single = _batch(body, need_id=False)
    created = []
    try:
        with ctx.ws.storage.transaction():
            for r in records:
                values = fields_in(ref, r.get("fields", {}), typecast=_typecast(body), people=ctx.people)
                created.append(ref.table.create(values, actor=ctx.actor))
    except GridbaseError as exc:
        raise engine_error(exc, names=ref.names()) from None
    out = [_out(ctx, ref, rec, body) for rec in created]
    return 200, out[0] if single else {"records": out}


def _update_one(ctx: Ctx, ref: TableRef, record_id: str, fields: Any, *, replace: bool, typecast: bool) -> dict[str, Any]:
    current = _get(ref, ctx, record_id)
    values = fields_in(ref, fields, typecast=typecast, people=ctx.people, current=current["fields"])
    if replace:
        for key in ref.readable:
            # A field shown masked cannot be changed, so a replace leaves it as it is.
            if (key not in values and ref.access.level(key) == "edit" and not ref.table.fields[key].computed
                    and not ref.access.mask(key)):
                values[key] = None
    try:
        return ref.table.update(record_id, values, actor=ctx.actor)
    except NotFoundError:
        raise ApiError(404, "NOT_FOUND", f"Could not find record {record_id}") from None


def _merge_filter(ref: TableRef, ctx: Ctx, merge: list[str], fields: dict[str, Any], typecast: bool) -> dict[str, Any]:
    names = {ref.field_key(n): n for n in merge}
    given = {ref.field_key(str(k)): v for k, v in fields.items()}
    conds = []
    for key, name in names.items():
        if key not in given:
            raise invalid_request(f'Invalid request: every record must include the field to merge on "{name}"')
        value = fields_in(ref, {key: given[key]}, typecast=typecast, people=ctx.people)[key]
        try:
            stored = ref.table.fields[key].coerce(value)
        except ValueError as exc:
            raise ApiError(422, INVALID_VALUE, f'Field "{name}" cannot accept the provided value: {exc}') from None
        conds.append({key: {"eq": stored}})
    return {"and": conds}


def _upsert(ctx: Ctx, ref: TableRef, records: list[dict[str, Any]], body: dict[str, Any], replace: bool) -> tuple[int, Any]:
    spec = body["performUpsert"]
    merge = spec.get("fieldsToMergeOn") if isinstance(spec, dict) else None
    ensure(isinstance(spec, dict) and set(spec) == {"fieldsToMergeOn"},
           "Invalid request: performUpsert takes only fieldsToMergeOn")
    ensure(isinstance(merge, list) and 1 <= len(merge) <= 3 and all(isinstance(m, str) for m in merge)
           and len(set(merge)) == len(merge),
           "Invalid request: performUpsert.fieldsToMergeOn must list 1 to 3 field names")
    for name in merge:
        if ref.masked(ref.field_key(name)):
            raise unknown_field(name)
    typecast = _typecast(body)
    done: list[dict[str, Any]] = []
    created: list[str] = []
    updated: list[str] = []
    with ctx.ws.storage.transaction():
        for r in records:
            fields = r.get("fields", {})
            ensure(isinstance(r.get("id", ""), str), "Invalid request: a record id must be a string")
            if isinstance(r.get("id"), str):
                done.append(_update_one(ctx, ref, r["id"], fields, replace=replace, typecast=typecast))
                updated.append(r["id"])
                continue
            flt = _merge_filter(ref, ctx, merge, fields, typecast)
            page = ref.table.query(actor=ctx.actor, filter=flt, limit=2, with_total=False, fields=[])
            if len(page.records) > 1:
                raise invalid_request("Invalid request: more than one record matches the fields to merge on")
            if page.records:
                rid = page.records[0]["id"]
                done.append(_update_one(ctx, ref, rid, fields, replace=replace, typecast=typecast))
                updated.append(rid)
            else:
                values = fields_in(ref, fields, typecast=typecast, people=ctx.people)
                rec = ref.table.create(values, actor=ctx.actor)
                done.append(rec)
                created.append(rec["id"])
    return 200, {"records": [_out(ctx, ref, rec, body) for rec in done],
                 "createdRecords": created, "updatedRecords": updated}


def update(ctx: Ctx) -> tuple[int, Any]:
    """PATCH/PUT /v0/{base}/{table}[/{recordId}]: update 1–10 records; PUT clears unspecified fields."""
    ref = _ref(ctx)
    body = _body(ctx, WRITE_KEYS | {"performUpsert"})
    replace = ctx.request.method == "PUT"
    record_id = ctx.param("record")
    try:
        if record_id:
            ensure(isinstance(body.get("fields"), dict) and "records" not in body,
                   "Invalid request: 'fields' must be an object")
            with ctx.ws.storage.transaction():
                rec = _update_one(ctx, ref, record_id, body["fields"], replace=replace, typecast=_typecast(body))
            return 200, _out(ctx, ref, rec, body)
        upsert = body.get("performUpsert") is not None
        records, single = _batch(body, need_id=not upsert)
        if upsert:
            return _upsert(ctx, ref, records, body, replace)
        with ctx.ws.storage.transaction():
            done = [_update_one(ctx, ref, r["id"], r.get("fields", {}), replace=replace, typecast=_typecast(body))
                    for r in records]
    except GridbaseError as exc:
        raise engine_error(exc, names=ref.names()) from None
    out = [_out(ctx, ref, rec, body) for rec in done]
    return 200, out[0] if single else {"records": out}


def delete(ctx: Ctx) -> tuple[int, Any]:
    """DELETE /v0/{base}/{table}/{recordId} or /v0/{base}/{table}?records[]=…: soft-delete up to 10."""
    ref = _ref(ctx)
    record_id = ctx.param("record")
    query = ctx.request.query_params
    check_query(query, set() if record_id else {"records[]", "records"})
    ids = [record_id] if record_id else query.getlist("records[]") + query.getlist("records")
    ensure(1 <= len(ids) <= MAX_BATCH, f"Invalid request: give 1 to {MAX_BATCH} records to delete")
    try:
        with ctx.ws.storage.transaction():
            for rid in ids:
                try:
                    ref.table.delete(rid, actor=ctx.actor)
                except NotFoundError:
                    raise ApiError(404, "NOT_FOUND", f"Could not find record {rid}") from None
    except GridbaseError as exc:
        raise engine_error(exc, names=ref.names()) from None
    done = [{"id": rid, "deleted": True} for rid in ids]
    return 200, done[0] if record_id else {"records": done}
