"""The OpenAPI 3.1 document of the REST API, generated from the workspace for the caller.

Every endpoint is described; each table the caller may read gets its own paths and schemas
(`{table}Fields` as returned, `{table}Write` as accepted) listing its fields by display name
with their types. Hidden tables and fields are left out: the document is per token.
"""

from __future__ import annotations

import json
import re
from typing import Any
from zoneinfo import available_timezones

from views.api.http import Ctx
from views.api.ids import TableRef, readable_tables
from views.api.params import MAX_PAGE_SIZE, check_query
from views.api.schema import value_schema
from views.api.writeschema import write_fields

RECORD_ID = {"type": "string", "pattern": "^rec[0-9A-Za-z]{14}$"}
ERROR = {"$ref": "#/components/schemas/Error"}
ERRORS = {"401": "Authentication required", "403": "Invalid permissions, or the model was not found",
          "404": "Record not found", "413": "Request body too large", "422": "Invalid request",
          "429": "Rate limit reached; see Retry-After"}
SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
MERGEABLE = ("text", "number", "currency", "percent", "rating", "duration", "email", "phone", "url",
             "single_select", "date", "datetime", "checkbox")


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    responses: dict[str, Any] = {"200": {"description": description, "content": {"application/json": {"schema": schema}}}}
    for status, text in ERRORS.items():
        item: dict[str, Any] = {"description": text, "content": {"application/json": {"schema": ERROR}}}
        if status == "429":
            item["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "seconds to wait"}}
        responses[status] = item
    return responses


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _comp(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _typecast_variants(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The body without typecast (strict values) or with `typecast: true` (values converted)."""
    text = json.dumps(body)
    strict = json.loads(text.replace('"typecast": {"type": "boolean"}', '"typecast": {"const": false}'))
    loose = json.loads(text.replace('"typecast": {"type": "boolean"}', '"typecast": {"const": true}')
                       .replace(f'{name}Create"', f'{name}CreateTypecast"').replace(f'{name}Update"', f'{name}UpdateTypecast"'))
    for variant in loose.get("oneOf", [loose]):
        variant["required"] = [*variant.get("required", []), "typecast"]
    return {"oneOf": [strict, loose]}


def _schema_name(ref: TableRef) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{ref.base_key}_{ref.table.key}") if SAFE.match(ref.table.key) else ref.id


def _list_params(ref: TableRef) -> list[dict[str, Any]]:
    names = [ref.table.tdef.fields[k].name for k in ref.readable]
    sortable = [ref.table.tdef.fields[k].name for k in ref.readable if not ref.masked(k)]
    views = [v.name for v in ref.table.tdef.views.values() if ref.view(v.name) is not None]

    def q(name: str, schema: dict[str, Any], description: str = "", **extra: Any) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "schema": schema, "description": description, **extra}

    params = [
        q("pageSize", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}, "records per page (default 100)"),
        q("maxRecords", {"type": "integer", "minimum": 1}, "the most records to return over all pages"),
        q("offset", {"type": "string"}, "the offset from the previous page"),
        q("fields[]", {"type": "array", "items": {"type": "string", "enum": names}}, "fields to return",
          style="form", explode=True),
        q("filterByFormula", {"type": "string"}, "only records for which this formula is true"),
        q("cellFormat", {"type": "string", "enum": ["json", "string"]}, "string needs timeZone and userLocale"),
        q("timeZone", _comp("TimeZone"), "IANA time zone for cellFormat=string"),
        q("userLocale", {"type": "string"}, "locale for cellFormat=string"),
        q("returnFieldsByFieldId", {"type": "boolean"}, "key fields by field id"),
        q("sort[0][field]", {"type": "string", "enum": sortable} if sortable else {"type": "string"}, "sort by this field"),
        q("sort[0][direction]", {"type": "string", "enum": ["asc", "desc"]}),
        q("recordMetadata[]", {"type": "array", "items": {"type": "string", "enum": ["commentCount"]}},
          "commentCount adds each record's number of comments", style="form", explode=True),
    ]
    if views:
        params.append(q("view", {"type": "string", "enum": views}, "apply this view's filter and sort (its hidden fields are still returned; `fields[]` asks for fewer)"))
    return params


def _table_paths(ref: TableRef, doc: dict[str, Any]) -> None:
    name = _schema_name(ref)
    schemas = doc["components"]["schemas"]
    schemas[f"{name}Fields"] = {"type": "object", "properties": {}, "additionalProperties": True}
    for key in ref.readable:
        value = value_schema(ref, key)
        plain = set(value) <= {"type", "description"} and value.get("type") == "string"
        loose = value if plain else {"anyOf": [value, {"type": "string"}]}  # cellFormat=string gives text
        schemas[f"{name}Fields"]["properties"][ref.table.tdef.fields[key].name] = loose
    schemas[f"{name}Record"] = {"type": "object", "required": ["id", "createdTime", "fields"], "properties": {
        "id": RECORD_ID, "createdTime": {"type": "string", "format": "date-time"}, "fields": _comp(f"{name}Fields"),
        "commentCount": {"type": "integer", "minimum": 0}}}
    create_fields, update_fields = write_fields(ref)
    schemas[f"{name}Create"] = create_fields
    schemas[f"{name}Update"] = update_fields
    records = {"type": "object", "required": ["records"], "properties": {
        "records": {"type": "array", "items": _comp(f"{name}Record")}, "offset": {"type": "string"}}}
    write = {"typecast": {"type": "boolean"}, "returnFieldsByFieldId": {"type": "boolean"}}
    closed = {"type": "object", "additionalProperties": False}
    create_body = {**closed, "required": ["records"], "properties": {
        "records": {"type": "array", "minItems": 1, "maxItems": 10, "items": {
            **closed, "required": ["fields"], "properties": {"fields": _comp(f"{name}Create")}}}, **write}}
    update_body = {**closed, "required": ["records"], "properties": {
        "records": {"type": "array", "minItems": 1, "maxItems": 10, "items": {
            **closed, "required": ["id", "fields"], "properties": {"id": RECORD_ID, "fields": _comp(f"{name}Update")}}},
        **write}}
    mergeable = [ref.table.tdef.fields[k].name for k in ref.readable
                 if ref.table.tdef.fields[k].type in MERGEABLE and not ref.masked(k)]
    upsert_body = {**closed, "required": ["records", "performUpsert"], "properties": {
        "records": {"type": "array", "minItems": 1, "maxItems": 10, "items": {
            **closed, "required": ["fields"], "properties": {"id": RECORD_ID, "fields": _comp(f"{name}Update")}}},
        "performUpsert": {**closed, "required": ["fieldsToMergeOn"], "properties": {"fieldsToMergeOn": {
            "type": "array", "minItems": 1, "maxItems": 3, "uniqueItems": True,
            "items": {"type": "string", "enum": mergeable}}}}, **write}}
    if mergeable:
        update_body = {"oneOf": [update_body, upsert_body]}
    one_body = {**closed, "required": ["fields"], "properties": {"fields": _comp(f"{name}Update"), **write}}
    for kind, fields in (("Create", create_fields), ("Update", update_fields)):
        schemas[f"{name}{kind}Typecast"] = {**fields, "properties": {
            n: {"description": f"{n}: any value typecast can convert"} for n in fields["properties"]}}
    create_body, update_body, one_body = (_typecast_variants(b, name) for b in (create_body, update_body, one_body))
    deleted = {"type": "object", "required": ["id", "deleted"], "properties": {"id": RECORD_ID, "deleted": {"type": "boolean"}}}
    by_name = {p["name"]: p["schema"] for p in _list_params(ref)}
    list_body = {**closed, "properties": {
        "pageSize": by_name["pageSize"], "maxRecords": by_name["maxRecords"], "offset": by_name["offset"],
        "fields": by_name["fields[]"], "filterByFormula": by_name["filterByFormula"],
        "returnFieldsByFieldId": {"type": "boolean"}, "cellFormat": by_name["cellFormat"],
        "timeZone": by_name["timeZone"], "userLocale": by_name["userLocale"],
        "recordMetadata": by_name["recordMetadata[]"],
        "sort": {"type": "array", "items": {**closed, "required": ["field"], "properties": {
            "field": by_name["sort[0][field]"], "direction": by_name["sort[0][direction]"]}}}}}
    if "view" in by_name:
        list_body["properties"]["view"] = by_name["view"]
    seg = ref.table.key if SAFE.match(ref.table.key) else ref.id
    root = f"/v0/{ref.base_key}/{seg}"
    title = ref.table.tdef.name
    rid = [{"name": "recordId", "in": "path", "required": True, "schema": RECORD_ID}]
    ids = {"name": "records[]", "in": "query", "required": True, "style": "form", "explode": True,
           "schema": {"type": "array", "minItems": 1, "maxItems": 10, "items": RECORD_ID}}
    upsert_result = {**records, "properties": {**records["properties"], "createdRecords": {"type": "array", "items": RECORD_ID},
                                               "updatedRecords": {"type": "array", "items": RECORD_ID}}}
    doc["paths"][root] = {
        "get": {"summary": f"List records of {title}", "operationId": f"list_{name}", "parameters": _list_params(ref),
                "responses": _ok(records)},
        "post": {"summary": f"Create records in {title}", "operationId": f"create_{name}",
                 "requestBody": _body(create_body), "responses": _ok(records)},
        "patch": {"summary": f"Update (or upsert) records of {title}", "operationId": f"update_{name}",
                  "requestBody": _body(update_body), "responses": _ok(upsert_result)},
        "put": {"summary": f"Replace (or upsert) records of {title}", "operationId": f"replace_{name}",
                "requestBody": _body(update_body), "responses": _ok(upsert_result)},
        "delete": {"summary": f"Delete records of {title}", "operationId": f"delete_{name}", "parameters": [ids],
                   "responses": _ok({"type": "object", "required": ["records"], "properties": {
                       "records": {"type": "array", "items": deleted}}})},
    }
    doc["paths"][f"{root}/listRecords"] = {"post": {
        "summary": f"List records of {title} (parameters in the body)", "operationId": f"listpost_{name}",
        "requestBody": {"required": False, "content": {"application/json": {"schema": list_body}}}, "responses": _ok(records)}}
    doc["paths"][f"{root}/{{recordId}}"] = {
        "parameters": rid,
        "get": {"summary": f"Get a record of {title}", "operationId": f"get_{name}", "responses": _ok(_comp(f"{name}Record"))},
        "patch": {"summary": f"Update a record of {title}", "operationId": f"updateone_{name}",
                  "requestBody": _body(one_body), "responses": _ok(_comp(f"{name}Record"))},
        "put": {"summary": f"Replace a record of {title}", "operationId": f"replaceone_{name}",
                "requestBody": _body(one_body), "responses": _ok(_comp(f"{name}Record"))},
        "delete": {"summary": f"Delete a record of {title}", "operationId": f"deleteone_{name}", "responses": _ok(deleted)},
    }
    _comment_paths(doc, f"{root}/{{recordId}}", name, title, rid)


COMMENT = {"type": "object", "required": ["id", "author", "text", "createdTime"], "properties": {
    "id": {"type": "string", "pattern": "^com[0-9]{14}$"},
    "author": {"type": "object", "properties": {"id": {"type": "string"}, "email": {"type": "string"},
                                                "name": {"type": "string"}}},
    "text": {"type": "string", "description": "mentions written @[personKey]"},
    "createdTime": {"type": "string", "format": "date-time"},
    "lastUpdatedTime": {"type": ["string", "null"], "format": "date-time"},
    "mentioned": {"type": "object", "additionalProperties": {"type": "object"}}}}


def _comment_paths(doc: dict[str, Any], record: str, name: str, title: str, rid: list[dict[str, Any]]) -> None:
    text = {"type": "object", "additionalProperties": False, "required": ["text"],
            "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 5000}}}
    page = [{"name": "pageSize", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
            {"name": "offset", "in": "query", "schema": {"type": "string"}}]
    doc["paths"][f"{record}/comments"] = {
        "parameters": rid,
        "get": {"summary": f"Comments on a record of {title}, newest first", "operationId": f"comments_{name}",
                "parameters": page, "responses": _ok({"type": "object", "required": ["comments"], "properties": {
                    "comments": {"type": "array", "items": COMMENT}, "offset": {"type": ["string", "null"]}}})},
        "post": {"summary": f"Comment on a record of {title}", "operationId": f"comment_{name}",
                 "requestBody": _body(text), "responses": _ok(COMMENT)},
    }
    doc["paths"][f"{record}/comments/{{rowCommentId}}"] = {
        "parameters": [*rid, {"name": "rowCommentId", "in": "path", "required": True, "schema": {"type": "string"}}],
        "patch": {"summary": "Change one's own comment", "operationId": f"updatecomment_{name}",
                  "requestBody": _body(text), "responses": _ok(COMMENT)},
        "delete": {"summary": "Delete one's own comment", "operationId": f"deletecomment_{name}",
                   "responses": _ok({"type": "object", "properties": {"id": {"type": "string"},
                                                                      "deleted": {"type": "boolean"}}})},
    }


def _meta_paths(doc: dict[str, Any], bases: list[str]) -> None:
    field = {"type": "object", "required": ["id", "name", "type"], "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"}, "options": {"type": "object"}}}
    table = {"type": "object", "required": ["id", "name", "primaryFieldId", "fields", "views"], "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "primaryFieldId": {"type": "string"},
        "fields": {"type": "array", "items": field}, "views": {"type": "array", "items": {"type": "object"}}}}
    base = {"type": "object", "required": ["id", "name", "permissionLevel"], "properties": {
        "id": {"type": "string"}, "name": {"type": "string"},
        "permissionLevel": {"type": "string", "enum": ["read", "edit", "create"]}}}
    doc["paths"]["/v0/meta/whoami"] = {"get": {"summary": "Who the token belongs to", "operationId": "whoami",
                                               "responses": _ok({"type": "object", "required": ["id"], "properties": {
                                                   "id": {"type": "string"}, "email": {"type": "string"}}})}}
    doc["paths"]["/v0/meta/bases"] = {"get": {
        "summary": "Bases the caller can read", "operationId": "list_bases",
        "parameters": [{"name": "offset", "in": "query", "required": False, "schema": {"type": "string"}}],
                                              "responses": _ok({"type": "object", "required": ["bases"], "properties": {
                                                  "bases": {"type": "array", "items": base}}})}}
    for key in bases:
        doc["paths"][f"/v0/meta/bases/{key}/tables"] = {"get": {
            "summary": f"Tables of base {key}", "operationId": f"tables_{re.sub(r'[^A-Za-z0-9_]', '_', key)}",
            "parameters": [{"name": "include", "in": "query", "required": False,
                            "schema": {"type": "array", "items": {"type": "string", "enum": ["visibleFieldIds"]}}}],
            "responses": _ok({"type": "object", "required": ["tables"], "properties": {
                "tables": {"type": "array", "items": table}}})}}
    doc["paths"]["/v0/openapi.json"] = {"get": {"summary": "This document", "operationId": "openapi",
                                                "responses": _ok({"type": "object"})}}


def build(ctx: Ctx) -> dict[str, Any]:
    """The OpenAPI document for the caller."""
    ws = ctx.ws
    server = str(ctx.request.base_url).rstrip("/")
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": f"{ws.config.name} — Gridbase API", "version": "0",
                 "description": "Airtable-compatible Web API. Fields are keyed by display name."},
        "servers": [{"url": server}],
        "security": [{"bearerAuth": []}],
        "paths": {},
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {"TimeZone": {"type": "string", "enum": sorted(available_timezones())}, "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["type", "message"],
                "properties": {"type": {"type": "string"}, "message": {"type": "string"}}}}}},
        },
    }
    bases = []
    for base in ws.bases():
        refs = readable_tables(ws, base.key, ctx.actor)
        if refs:
            bases.append(base.key)
        for ref in refs:
            _table_paths(ref, doc)
    _meta_paths(doc, bases)
    return doc


def openapi(ctx: Ctx) -> tuple[int, Any]:
    """GET /v0/openapi.json."""
    check_query(ctx.request.query_params, set())
    return 200, build(ctx)
