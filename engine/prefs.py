"""A person's own view settings: owner of `_gb_view_prefs`.

What someone changes on a grid for themselves — extra filters, a sort, a group-by — is kept
per person, table and view as a JSON object, and never changes the view for anyone else.
"""

from __future__ import annotations

import json
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
