"""Attachments on the web: upload into a record's attachment field, and download.

Bytes are stored content-addressed under `ws.data_dir / "attachments" / sha[:2] / sha` (the
same bytes once); each upload gets its own random *attachment id* (`att` + 32 hex digits),
indexed in `_gb_attachments` with its uploader. Random, not derived from the content: an id
tells nothing about the file, so nobody can find out whether some file is stored by
guessing its id, and two people who upload the same file each own their upload. A download is allowed only when the actor can read some record whose
readable attachment field holds that id. Files are always sent as downloads with an RFC 5987
filename, and never with a type a browser would run (only images and PDF keep their type).
"""

from __future__ import annotations

import fnmatch
import hashlib
import mimetypes
import os
import secrets
import tempfile
from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine import Actor, NotFoundError, PermissionDenied, ValidationError, Workspace
from engine.records import Table
from views.web import check_csrf, get_ws, now_text, require_actor

SAFE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}
DEFAULT_MAX_MB = 20


def content_disposition(filename: str, kind: str = "attachment") -> str:
    """`attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266 / 5987)."""
    cleaned = "".join(ch for ch in filename if ch >= " " and ch not in "\x7f") or "file"
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._- ()") else "_" for ch in cleaned)
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(cleaned, safe='')}"


def blob_path(ws: Workspace, sha: str) -> Any:
    return ws.data_dir / "attachments" / sha[:2] / sha


def store(ws: Workspace, data: bytes, *, name: str, mime: str, actor: Actor, base: str, table: str,
          field: str) -> dict[str, Any]:
    """Write the bytes once (by hash) and index them; return the field value item."""
    sha = hashlib.sha256(data).hexdigest()
    path = blob_path(ws, sha)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    att_id = "att" + secrets.token_hex(16)
    with ws.storage.transaction():
        ws.storage.conn.execute(
            "INSERT OR IGNORE INTO _gb_attachments (id, sha256, name, size, type, uploaded_by, uploaded_at, base, tbl, field) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (att_id, sha, name, len(data), mime, actor.key, now_text(ws), base, table, field))
    return {"id": att_id, "name": name, "size": len(data), "type": mime}


def upload_type(upload: UploadFile) -> str:
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    if not declared or declared == "application/octet-stream":
        declared = mimetypes.guess_type(upload.filename or "")[0] or "application/octet-stream"
    return declared


def check_upload(ws: Workspace, table: Table, key: str, upload: UploadFile, size: int) -> str:
    """The file's MIME type, or ValidationError if too big or not accepted."""
    fdef = table.tdef.fields[key]
    limit = float(fdef.options.get("max_size_mb") or ws.config.attachments.get("max_size_mb") or DEFAULT_MAX_MB)
    if size > limit * 1024 * 1024:
        raise ValidationError({key: f"{fdef.name}: {upload.filename} is larger than {limit:g} MB"})
    mime = upload_type(upload)
    accept = fdef.options.get("accept")
    if accept and not any(fnmatch.fnmatch(mime, str(p).lower()) for p in accept):
        raise ValidationError({key: f"{fdef.name}: {upload.filename} ({mime}) is not accepted; expected {', '.join(accept)}"})
    return mime


async def save_uploads(request: Request, table: Table, key: str, uploads: list[UploadFile], actor: Actor) -> list[dict[str, Any]]:
    ws = get_ws(request)
    items = []
    for upload in uploads:
        if not upload.filename:
            continue
        data = await upload.read()
        mime = check_upload(ws, table, key, upload, len(data))
        name = os.path.basename(upload.filename.replace("\\", "/"))[:255] or "file"
        items.append(store(ws, data, name=name, mime=mime, actor=actor, base=table.base.key, table=table.key, field=key))
    return items


async def upload(request: Request) -> Response:
    actor = require_actor(request)
    ws = get_ws(request)
    table = ws.base(request.path_params["base"]).table(request.path_params["table"])
    rid, key = request.path_params["rid"], request.path_params["field"]
    table.get(rid, actor=actor)  # a record they may not read is not found
    fdef = table.tdef.fields.get(key)
    if fdef is None or fdef.type != "attachment" or not table.access(actor).readable(key):
        raise NotFoundError(f"unknown attachment field '{key}'")
    if table.access(actor).level(key) != "edit":
        raise PermissionDenied(f"you may not change field '{fdef.name}'")
    async with request.form(max_files=20) as form:
        check_csrf(request, form)
        files = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
        items = await save_uploads(request, table, key, files, actor)
    if items:
        # Read the files already there in the write's own transaction: two uploads at once
        # must both end up on the record, neither replacing the other.
        with ws.storage.transaction():
            current = list(table.get(rid, actor=actor)["fields"].get(key) or [])
            value = items[-1:] if fdef.options.get("multiple", True) is False else current + items
            table.update(rid, {key: value}, actor=actor)
    return RedirectResponse(f"/b/{table.base.key}/t/{table.key}/r/{rid}", status_code=303)


def may_download(ws: Workspace, actor: Actor, att_id: str) -> bool:
    """True if some record the actor can read shows this attachment in a readable field."""
    for base in ws.bases():
        for table in base.tables():
            access = table.access(actor)
            keys = [k for k, f in table.tdef.fields.items() if f.type == "attachment" and access.readable(k)]
            if not access.can_read or not keys:
                continue
            for key in keys:
                holders = ws.storage.conn.execute(
                    f"SELECT _id FROM {table.sql} WHERE _deleted_at IS NULL AND {table.sql}.\"{key}\" LIKE ? "  # noqa: S608
                    f"AND EXISTS (SELECT 1 FROM json_each({table.sql}.\"{key}\") WHERE json_extract(value, '$.id') = ?) LIMIT 50",
                    (f"%{att_id}%", att_id)).fetchall()
                for (rid,) in holders:
                    try:
                        rec = table.get(rid, actor=actor)
                    except NotFoundError:
                        continue
                    if any(isinstance(a, dict) and a.get("id") == att_id for a in rec["fields"].get(key) or []):
                        return True
    return False


async def download(request: Request) -> Response:
    actor = require_actor(request)
    ws = get_ws(request)
    att_id = request.path_params["att"]
    row = ws.storage.conn.execute("SELECT sha256, name, type FROM _gb_attachments WHERE id = ?", (att_id,)).fetchone()
    if row is None or not may_download(ws, actor, att_id):
        raise NotFoundError("no such attachment")
    sha, name, mime = row
    path = blob_path(ws, sha)
    if not path.exists():
        raise NotFoundError("the attachment's file is missing")
    media = mime if mime in SAFE_TYPES else "application/octet-stream"
    return Response(path.read_bytes(), media_type=media, headers={
        "Content-Disposition": content_disposition(name),
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store"})


routes = [
    Route("/b/{base}/t/{table}/r/{rid}/attach/{field}", upload, methods=["POST"]),
    Route("/att/{att}", download, methods=["GET"]),
]
