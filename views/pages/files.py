"""Attachments on the web: upload into a record's attachment field, and download.

The bytes and their index belong to `engine.attachments` (content-addressed blobs, one random
*attachment id* per upload, quotas, the free-disk threshold). This module checks first and
stores last: the right to change the record and the field, the CSRF token, each file's type
and size, the quota; only then does a file become an upload, in the same transaction as the
write that puts it on a record, so a refused or failed write leaves nothing on disk.

A download is allowed only when the actor can read some record whose readable attachment
field holds that id. Files are always sent as downloads with an RFC 5987 filename, and never
with a type a browser would run (only images and PDF keep their type).
"""

from __future__ import annotations

import fnmatch
import mimetypes
import os
from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from engine import Actor, NotFoundError, PermissionDenied, ValidationError, Workspace, attachments
from engine.attachments import Incoming
from engine.errors import Message
from engine.records import Table
from views.pages import cells
from views.pages.web import check_csrf, get_ws, now_text, require_actor

SAFE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}
MAX_FILES = 20  # files in one post


def content_disposition(filename: str, kind: str = "attachment") -> str:
    """`attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266 / 5987)."""
    cleaned = "".join(ch for ch in filename if ch >= " " and ch not in "\x7f") or "file"
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._- ()") else "_" for ch in cleaned)
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(cleaned, safe='')}"


def upload_type(upload: UploadFile) -> str:
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    if not declared or declared == "application/octet-stream":
        declared = mimetypes.guess_type(upload.filename or "")[0] or "application/octet-stream"
    return declared


def max_bytes(ws: Workspace, table: Table, key: str) -> int:
    fdef = table.tdef.fields[key]
    limit = float(fdef.options.get("max_size_mb") or attachments.Limits.of(ws).max_size_mb)
    return int(limit * attachments.MB)


def check_upload(ws: Workspace, table: Table, key: str, upload: UploadFile, size: int) -> str:
    """The file's MIME type, or ValidationError if too big or not accepted."""
    fdef = table.tdef.fields[key]
    limit = max_bytes(ws, table, key)
    if size > limit:
        raise ValidationError({key: Message("field_problem", field=fdef.name, problem=Message(
            "file_too_large", file=upload.filename, mb=f"{limit / attachments.MB:g}"))})
    mime = upload_type(upload)
    accept = fdef.options.get("accept")
    if accept and not any(fnmatch.fnmatch(mime, str(p).lower()) for p in accept):
        raise ValidationError({key: Message("field_problem", field=fdef.name, problem=Message(
            "file_not_accepted", file=upload.filename, type=mime, accepted=", ".join(accept)))})
    return mime


def receive_uploads(ws: Workspace, table: Table, key: str, uploads: list[UploadFile], actor: Actor) -> list[Incoming]:
    """The posted files checked (type, size, quota, free disk) and streamed to incoming files.

    Nothing is kept yet: `engine.attachments.keep` does that in the write that uses them, and
    `engine.attachments.discard` forgets them when it fails. On a refusal nothing is left.
    """
    label = table.tdef.fields[key].name
    uploads = [u for u in uploads if u.filename]
    attachments.check_quota(ws, actor, sum(u.size or 0 for u in uploads), key, label)
    received: list[Incoming] = []
    try:
        for upload in uploads:
            mime = check_upload(ws, table, key, upload, upload.size or 0)
            name = os.path.basename((upload.filename or "").replace("\\", "/"))[:255] or "file"
            upload.file.seek(0)
            received.append(attachments.receive(ws, upload.file, name=name, mime=mime, key=key, label=label,
                                                max_bytes=max_bytes(ws, table, key)))
    except BaseException:
        attachments.discard(ws, received)
        raise
    return received


def keep_uploads(table: Table, key: str, files: list[Incoming], actor: Actor) -> list[dict[str, Any]]:
    """Inside the write's transaction: the received files as uploads, as field value items."""
    return attachments.keep(table.ws, files, actor=actor, base=table.base.key, table=table.key, field=key,
                            label=table.tdef.fields[key].name, now=now_text(table.ws))


async def save_uploads(request: Request, table: Table, key: str, uploads: list[UploadFile], actor: Actor) -> list[dict[str, Any]]:
    """Check and store the files at once (for a page that shows them again when its write is refused)."""
    ws = get_ws(request)
    files = receive_uploads(ws, table, key, uploads, actor)
    return attachments.store(ws, files, actor=actor, base=table.base.key, table=table.key, field=key,
                             label=table.tdef.fields[key].name, now=now_text(ws))


async def upload(request: Request) -> Response:
    actor = require_actor(request)
    ws = get_ws(request)
    table = ws.base(request.path_params["base"]).table(request.path_params["table"])
    rid, key = request.path_params["rid"], request.path_params["field"]
    table.get(rid, actor=actor)  # a record they may not read is not found
    fdef = table.tdef.fields.get(key)
    access = table.access(actor)
    if fdef is None or table.fields[key].shown_as != "files" or not access.readable(key):
        raise NotFoundError(f"unknown attachment field '{key}'")
    # Rights first, bytes last: the record's edit rule and the field, before any file is looked at.
    if access.level(key) != "edit" or access.mask(key):
        raise PermissionDenied(code="field_not_changeable", params={"field": fdef.name})
    if rid not in cells.editable_ids(table, actor, [rid]):
        raise PermissionDenied(code="may_not_change_record")
    async with request.form(max_files=MAX_FILES) as form:
        check_csrf(request, form)
        posted = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
        files = receive_uploads(ws, table, key, posted, actor)
    if files:
        try:
            # Read the files already there in the write's own transaction: two uploads at once
            # must both end up on the record, neither replacing the other.
            with ws.storage.transaction():
                items = keep_uploads(table, key, files, actor)
                current = list(table.get(rid, actor=actor)["fields"].get(key) or [])
                value = items[-1:] if fdef.options.get("multiple", True) is False else current + items
                table.update(rid, {key: value}, actor=actor)
        except BaseException:
            attachments.discard(ws, files)
            raise
    return RedirectResponse(f"/b/{table.base.key}/t/{table.key}/r/{rid}", status_code=303)


def may_download(ws: Workspace, actor: Actor, att_id: str) -> bool:
    """True if some record the actor can read shows this attachment in a readable field."""
    for base in ws.bases():
        for table in base.tables():
            access = table.access(actor)
            keys = [k for k, f in table.fields.items() if f.shown_as == "files" and access.readable(k)]
            if not access.can_read or not keys:
                continue
            for key in keys:
                for rid in attachments.holders(ws, base.key, table.key, key, att_id):
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
    found = attachments.find(ws, att_id)
    if found is None or not may_download(ws, actor, att_id):
        raise NotFoundError("no such attachment")
    path = attachments.blob_path(ws, found["sha256"])
    if not path.exists():
        raise NotFoundError("the attachment's file is missing")
    media = found["type"] if found["type"] in SAFE_TYPES else "application/octet-stream"
    return FileResponse(path, media_type=media, headers={
        "Content-Disposition": content_disposition(found["name"]),
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store"})


routes = [
    Route("/b/{base}/t/{table}/r/{rid}/attach/{field}", upload, methods=["POST"]),
    Route("/att/{att}", download, methods=["GET"]),
]
