"""Message templates and the record they talk about.

Titles, messages, e-mail subjects and bodies, and the values of `update`/`create` actions are
jinja2 templates rendered in a *sandbox* (`SandboxedEnvironment`: no attribute tricks, no
imports). Output is plain text, so autoescape is off; pages escape it when they show it.

Words: the *row* is the record as stored (SQL values; engine.matching.live_row); the
*record context* maps each field key to its display text (`record.title`, `record.owner`
gives the person's name, a link field the primary-field text of its linked records, as the
field type shows linked records). A context built for a person leaves out
fields they may not read, masks what their roles mask and names only the linked records they
may read, so a notification never tells someone more than the record page would. A group
channel's message is built for its reader (engine.groupreader): a declared one, or the *least
reader* (`least_context`), who sees only what every role that may read the table sees alike.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment

from engine.fields.base import load_json_list
from engine.linked import restrict_rows
from engine.permissions import Actor, TableAccess, mask_value

if TYPE_CHECKING:
    from engine.records import Table

MAX_TITLE = 200
MAX_BODY = 5000

_env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=512)
def _compile(text: str) -> Template:
    return _env.from_string(text)


def render(text: Any, variables: dict[str, Any]) -> Any:
    """Render `text` if it is a string holding template syntax; other values pass through."""
    if not isinstance(text, str) or ("{{" not in text and "{%" not in text):
        return text
    return _compile(text).render(**variables)


def record_context(table: Table, row: dict[str, Any] | None, access: TableAccess | None = None,
                   reader: Actor | None = None) -> dict[str, str]:
    """Field key -> display text; for `reader` (with their `access`), only what they may read, masked as granted."""
    if row is None:
        return {}
    if reader is not None and access is not None:
        row = dict(row)  # lookups and rollups from only the linked records the reader may read
        restrict_rows(table, [row], reader, access)
    out: dict[str, str] = {}
    for key, field in table.fields.items():
        if access is not None and not access.readable(key):
            continue
        if field.shown_as == "links":  # linked records, named by their primary field
            out[key] = link_text(table, key, row.get(key), reader)
            continue
        text = field.display(row.get(key))
        mask = access.mask(key) if access is not None else None
        out[key] = mask_value(text, mask) if mask and text else text
    return out


def least_context(table: Table, row: dict[str, Any] | None, readers: list[Actor]) -> dict[str, str]:
    """The record as every one of `readers` who may read the table sees it: a field they all read
    alike; one they read differently masked if any of them masks it, else left out (linked records,
    lookups); one any of them may not read left out. Nobody reading the table: nothing."""
    if row is None:
        return {}
    seen: list[tuple[TableAccess, dict[str, str]]] = []
    for reader in readers:
        access = table.access(reader)
        if access.can_read:
            seen.append((access, record_context(table, row, access, reader)))
    if not seen:
        return {}
    full = record_context(table, row)
    out: dict[str, str] = {}
    for key, text in full.items():
        values = {ctx.get(key) for _, ctx in seen}
        if None in values:
            continue
        if len(values) == 1:
            out[key] = values.pop() or ""
            continue
        mask = next((m for m in (access.mask(key) for access, _ in seen) if m), None)
        if mask and table.fields[key].shown_as != "links":
            out[key] = mask_value(text, mask) if text else text
    return out


def link_text(table: Table, key: str, stored: Any, reader: Actor | None) -> str:
    """The primary-field text of the records a link names (for `reader`: those they may read)."""
    ids = load_json_list(stored)
    if not ids:
        return ""
    other = table.base.table(table.fields[key].fdef.options["table"])
    who = reader or Actor.engine("templates")
    return ", ".join(t for t in (other.title_of(i, who) for i in ids) if t is not None)


def record_link(base: str, table: str, record_id: str | None) -> str:
    """The record page's URL path (relative to the server)."""
    return f"/b/{base}/t/{table}/r/{record_id}" if record_id else ""
