"""Run history: what each automation did, for the web page and `gridbase runs`.

A run row holds the automation, what triggered it (`created`, `updated`, `matches`, `form`,
`schedule`, `date`, or `manual:PERSON`), the record, the event id, when it started, how long
it took, its status (ok, failed, skipped, loop_stopped), each step's result and the error.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from engine import runs

if TYPE_CHECKING:
    from engine.workspace import Workspace

STATUSES = ("ok", "failed", "skipped", "loop_stopped")


def list_runs(ws: Workspace, *, base: str | None = None, automation: str | None = None, status: str | None = None,
              record: str | None = None, before: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Runs, newest first; `before` (a run id) pages further back."""
    rows = runs.listed(ws.storage, base=base, automation=automation, status=status, record=record, before=before,
                       limit=limit)
    for row in rows:
        row["steps"] = json.loads(row["steps"] or "[]")
        kind, _, by = str(row["trigger"]).partition(":")
        row["trigger"], row["by"] = kind, by or None
    return rows


def get_run(ws: Workspace, run_id: int) -> dict[str, Any] | None:
    """One run by id, or None."""
    if not runs.exists(ws.storage, run_id):
        return None
    return list_runs(ws, before=run_id + 1, limit=1)[0]
