"""A person's own view settings: owner of `_gb_view_prefs`.

What someone changes on a grid for themselves — extra filters, a sort, a group-by, and the
columns (order, hidden, widths, frozen, row height) — is kept
per person, table and view as a JSON object, and never changes the view for anyone else.
"""

from __future__ import annotations

import json
import math
from typing import Any

from engine.storage import Storage


def load(storage: Storage, person: str, base: str, table: str, view: str) -> dict[str, Any]:
    row = storage.conn.execute("SELECT prefs FROM _gb_view_prefs WHERE person = ? AND base = ? AND tbl = ? AND view = ?",
                               (person, base, table, view)).fetchone()
    if row is None:
        return {}
    try:
        found = json.loads(row[0])
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def save(storage: Storage, person: str, base: str, table: str, view: str, prefs: dict[str, Any]) -> None:
    """Keep `prefs` (an empty one forgets them)."""
    key = (person, base, table, view)
    with storage.transaction() as conn:
        if not prefs:
            conn.execute("DELETE FROM _gb_view_prefs WHERE person = ? AND base = ? AND tbl = ? AND view = ?", key)
        else:
            conn.execute("INSERT OR REPLACE INTO _gb_view_prefs (person, base, tbl, view, prefs) VALUES (?, ?, ?, ?, ?)",
                         (*key, json.dumps(prefs, ensure_ascii=False)))


# -- columns: how a person lays out a grid ---------------------------------------------------
# prefs["columns"] = {"order": [field, …], "hidden": [field, …], "widths": {field: px},
#                     "frozen": N, "row_height": "short" | "medium" | "tall"}
ROW_HEIGHTS = ("short", "medium", "tall")
MIN_WIDTH, MAX_WIDTH = 48, 800
MAX_FROZEN = 5


def clean_columns(raw: Any, known: list[str]) -> dict[str, Any]:
    """A column layout as kept: only fields of `known`, widths and counts within bounds, and
    nothing else (what a page sent is never stored as it came)."""
    raw = raw if isinstance(raw, dict) else {}
    out: dict[str, Any] = {}
    order = raw.get("order")
    if isinstance(order, list):
        seen: list[str] = []
        for key in order:
            if isinstance(key, str) and key in known and key not in seen:
                seen.append(key)
        if seen:
            out["order"] = seen
    hidden = raw.get("hidden")
    if isinstance(hidden, list):
        gone = sorted({k for k in hidden if isinstance(k, str) and k in known})
        if gone:
            out["hidden"] = gone
    widths = raw.get("widths")
    if isinstance(widths, dict):
        kept = {k: max(MIN_WIDTH, min(MAX_WIDTH, int(v))) for k, v in widths.items()
                if k in known and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}
        if kept:
            out["widths"] = kept
    frozen = raw.get("frozen")
    if isinstance(frozen, int) and not isinstance(frozen, bool) and 0 < frozen <= MAX_FROZEN:
        out["frozen"] = frozen
    if raw.get("row_height") in ROW_HEIGHTS and raw.get("row_height") != "short":
        out["row_height"] = raw["row_height"]
    return out


def arrange(columns: list[str], layout: dict[str, Any]) -> list[str]:
    """The fields `columns` (a view's, as the person may read them) in the person's order,
    less those they hid; a field they have not placed keeps its place after the placed ones."""
    order = [k for k in layout.get("order", []) if k in columns]
    placed = order + [k for k in columns if k not in order]
    hidden = set(layout.get("hidden", []))
    shown = [k for k in placed if k not in hidden]
    return shown or placed[:1]


def save_columns(storage: Storage, person: str, base: str, table: str, view: str, layout: dict[str, Any]) -> None:
    """Keep a column layout beside the person's other prefs of the view (empty: the view's own)."""
    prefs = load(storage, person, base, table, view)
    prefs.pop("columns", None)
    if layout:
        prefs["columns"] = layout
    save(storage, person, base, table, view, prefs)
