"""Meta endpoints: the caller's bases, a base's tables (fields and views), and whoami.

Only what the caller may read appears: bases with at least one readable table, readable
tables, readable fields. `permissionLevel` is Airtable's word for the most the caller may do
in the base: `create` (manage a table), `edit` (change or add records) or `read`.
"""

from __future__ import annotations

from typing import Any

from engine.tokens import EMAIL_READ
from views.api.errors import ensure, model_not_found
from views.api.http import Ctx
from views.api.ids import TableRef, readable_tables, view_id
from views.api.params import check_query
from views.api.schema import field_meta


def permission_level(refs: list[TableRef]) -> str:
    if any(r.access.manage for r in refs):
        return "create"
    if any(r.access.can_edit or r.access.can_create for r in refs):
        return "edit"
    return "read"


def list_bases(ctx: Ctx) -> tuple[int, Any]:
    """GET /v0/meta/bases."""
    check_query(ctx.request.query_params, {"offset"})
    bases = []
    for base in ctx.ws.bases():
        if ctx.token is not None and not ctx.token.reaches(base.key):
            continue
        refs = readable_tables(ctx.ws, base.key, ctx.actor)
        if refs:
            bases.append({"id": base.key, "name": base.bdef.name, "permissionLevel": permission_level(refs)})
    return 200, {"bases": bases}


def table_meta(ref: TableRef, *, visible_ids: bool = False) -> dict[str, Any]:
    tdef = ref.table.tdef
    primary = tdef.primary if tdef.primary in ref.readable else (ref.readable[0] if ref.readable else tdef.primary)
    views = []
    for key, vdef in tdef.views.items():
        if vdef.roles is not None and not ref.actor.admin and not set(vdef.roles) & set(ref.actor.roles):
            continue
        view: dict[str, Any] = {"id": view_id(ref.base_key, tdef.key, key), "name": vdef.name, "type": vdef.type}
        if visible_ids and vdef.type == "grid":
            shown = [k for k in (vdef.fields or ref.readable) if k in ref.readable]
            view["visibleFieldIds"] = [ref.fid(k) for k in shown]
        views.append(view)
    out: dict[str, Any] = {"id": ref.id, "name": tdef.name, "primaryFieldId": ref.fid(primary),
                           "fields": [field_meta(ref, k) for k in ref.readable], "views": views}
    if tdef.description:
        out["description"] = tdef.description
    return out


def list_tables(ctx: Ctx) -> tuple[int, Any]:
    """GET /v0/meta/bases/{base}/tables."""
    refs = readable_tables(ctx.ws, ctx.param("base"), ctx.actor)
    if not refs:
        raise model_not_found()
    query = ctx.request.query_params
    check_query(query, {"include", "include[]"})
    include = query.getlist("include") + query.getlist("include[]")
    ensure(all(i == "visibleFieldIds" for i in include), "Invalid request: include takes only visibleFieldIds")
    return 200, {"tables": [table_meta(r, visible_ids="visibleFieldIds" in include) for r in refs]}


def whoami(ctx: Ctx) -> tuple[int, Any]:
    """GET /v0/meta/whoami: the token's person, and their e-mail if the token has user.email:read."""
    check_query(ctx.request.query_params, set())
    info = ctx.people.collaborator(ctx.person)
    out: dict[str, Any] = {"id": ctx.person}
    if info.get("email") and (ctx.token is None or ctx.token.allows(EMAIL_READ)):
        out["email"] = info["email"]
    return 200, out
