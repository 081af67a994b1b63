"""Run history: what each automation did, for the web page and `gridbase runs`.

A run row holds the automation, what triggered it (`created`, `updated`, `matches`, `form`,
`schedule`, `date`, or `manual:PERSON`), the record, the event id, when it started, how long
it took, its status (ok, failed, skipped, loop_stopped), each step's result and the error.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.workspace import Workspace

STATUSES = ("ok", "failed", "skipped", "loop_stopped")


def list_runs(ws: Workspace, *, base: str | None = None, automation: str | None = None, status: str | None = None,
              record: str | None = None, before: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Runs, newest first; `before` (a run id) pages further back."""
    conds: list[str] = []
    params: list[Any] = []
    for column, value in (("base", base), ("automation", automation), ("status", status), ("record", record)):
        if value is not None:
            conds.append(f"{column} = ?")
            params.append(value)
    if before is not None:
        conds.append("id < ?")
        params.append(before)
    where = " AND ".join(conds) or "1"
    with ws.storage.reading() as conn:
        cur = conn.execute(
            "SELECT id, automation, base, trigger, record, event_id, started_at, duration_ms, status, steps, error, "
            f"run_key FROM _gb_runs WHERE {where} ORDER BY id DESC LIMIT ?", params + [max(1, min(limit, 1000))])
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    for row in rows:
        row["steps"] = json.loads(row["steps"] or "[]")
        kind, _, by = str(row["trigger"]).partition(":")
        row["trigger"], row["by"] = kind, by or None
    return rows


def get_run(ws: Workspace, run_id: int) -> dict[str, Any] | None:
    """One run by id, or None."""
    with ws.storage.reading() as conn:
        found = conn.execute("SELECT 1 FROM _gb_runs WHERE id = ?", (run_id,)).fetchone()
    if found is None:
        return None
    return list_runs(ws, before=run_id + 1, limit=1)[0]
