"""A Bitable dump: the folder of saved Feishu OpenAPI answers an import reads (owner of its layout).

`gridbase bitable dump` (plugins.bitable_api) writes one JSON file per API call, exactly as
Feishu answered it, and every attachment's bytes; `gridbase bitable import --from-dump`
reads the same folder on a machine with no Internet. The layout:

    app.json                                   GET  /bitable/v1/apps/{app_token}
    tables/page-001.json …                     GET  /bitable/v1/apps/{app_token}/tables (one file per page)
    tables/{table_id}/fields/page-001.json …   GET  …/tables/{table_id}/fields
    tables/{table_id}/views/page-001.json …    GET  …/tables/{table_id}/views
    tables/{table_id}/views/{view_id}.json     GET  …/tables/{table_id}/views/{view_id} (filters, hidden fields)
    tables/{table_id}/records/page-001.json …  GET  …/tables/{table_id}/records?automatic_fields=true
    files/{file_token}                         GET  /drive/v1/medias/{file_token}/download

`read_dump` gives the app as engine.bitable.plan_base and engine.bitable_import take it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from engine.errors import GridbaseError

_SAFE = re.compile(r"^[A-Za-z0-9_\-]+$")


def page_name(number: int) -> str:
    return f"page-{number:03d}.json"


def safe_id(text: str) -> str:
    """An id from an API answer as a file or folder name; GridbaseError for anything else."""
    if not _SAFE.match(text or ""):
        raise GridbaseError(code="bitable_bad_id", params={"text": repr(text)})
    return text


def _load(path: Path) -> dict[str, Any]:
    try:
        answer = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GridbaseError(code="bitable_not_answer", params={"path": str(path), "problem": str(exc)}) from None
    if not isinstance(answer, dict):
        raise GridbaseError(code="bitable_not_object", params={"path": str(path)})
    if answer.get("code", 0) != 0:
        raise GridbaseError(code="bitable_error_answer",
                            params={"path": str(path), "status": answer.get("code"), "reason": answer.get("msg")})
    return answer.get("data") or {}


def items(folder: Path) -> list[dict[str, Any]]:
    """Every item of the pages saved in `folder`, in page order."""
    pages = sorted(folder.glob("page-*.json"))
    if not pages:
        raise GridbaseError(code="bitable_no_pages", params={"folder": str(folder)})
    out: list[dict[str, Any]] = []
    for page in pages:
        out.extend(i for i in _load(page).get("items") or [] if isinstance(i, dict))
    return out


def read_dump(root: str | Path) -> dict[str, Any]:
    """{name, tables: [{table_id, name, fields, views, records}]} read from a dump folder."""
    root = Path(root)
    if not root.is_dir():
        raise GridbaseError(code="bitable_not_folder", params={"folder": str(root)})
    app = _load(root / "app.json").get("app") if (root / "app.json").exists() else {}
    tables = []
    for t in items(root / "tables"):
        tid = safe_id(str(t.get("table_id") or ""))
        here = root / "tables" / tid
        views = []
        for v in items(here / "views"):
            detail = here / "views" / f"{safe_id(str(v.get('view_id') or ''))}.json"
            views.append({**v, **(_load(detail).get("view") or {})} if detail.exists() else v)
        tables.append({"table_id": tid, "name": t.get("name") or tid, "fields": items(here / "fields"),
                       "views": views, "records": items(here / "records")})
    return {"name": (app or {}).get("name") or root.name, "tables": tables, "files": root / "files"}
