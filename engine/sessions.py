"""Web sessions and half-finished sign-ins: the one owner of `_gb_sessions` and `_gb_pending_signins`.

A *session* is 32 random bytes given to the browser (signed, in a cookie) and stored here
only as their SHA-256, with the session's CSRF token and an expiry. A session only counts
while its person exists and is not disabled. A *pending sign-in* is the same kind of secret
for someone whose password was right but who still owes a second-factor code (or must set
one up first); it lives `PENDING_MINUTES` and never opens a page by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from engine.auth import digest, new_secret
from engine.ids import utcnow_text
from engine.workspace import Workspace

SESSION_HOURS = 12
PENDING_MINUTES = 5
FLOW = "flow:"  # marks a sign-in flow's state among the pending sign-ins


@dataclass(frozen=True)
class Session:
    id_hash: str
    person: str
    csrf: str
    # The person's row as read with the session (one read for a page's session, actor and language):
    department: str | None = None
    departments: str | None = None  # as stored (engine.people.node_list reads it)
    locale: str | None = None



def start(ws: Workspace, person: str, *, replacing: str | None = None) -> str:
    """A new session for `person` (ending `replacing`, an id hash, and expired ones); returns its secret."""
    sid = new_secret()
    now = ws.now()
    with ws.storage.transaction() as conn:
        if replacing is not None:
            conn.execute("DELETE FROM _gb_sessions WHERE id_hash = ?", (replacing,))
        conn.execute("DELETE FROM _gb_sessions WHERE expires_at <= ?", (utcnow_text(now),))
        conn.execute("INSERT INTO _gb_sessions (id_hash, person, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                     (digest(sid), person, new_secret(), utcnow_text(now), utcnow_text(now + timedelta(hours=SESSION_HOURS))))
    return sid


def find(ws: Workspace, sid: str) -> Session | None:
    """The live session whose secret is `sid` (its person not disabled), or None."""
    row = ws.storage.conn.execute(
        "SELECT s.id_hash, s.person, s.csrf, p.department, p.departments, p.locale FROM _gb_sessions s "
        "JOIN _gb_people p ON p.key = s.person WHERE s.id_hash = ? AND s.expires_at > ? AND p.disabled = 0",
        (digest(sid), utcnow_text(ws.now()))).fetchone()
    return Session(*row) if row else None


def alive(ws: Workspace, id_hashes: set[str]) -> set[str]:
    """Those of these sessions (id hashes) that still count: not ended, not expired, their
    person not disabled (live streams end with their session)."""
    out: set[str] = set()
    hashes = sorted(id_hashes)
    for start in range(0, len(hashes), 500):
        chunk = hashes[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        out.update(r[0] for r in ws.storage.conn.execute(
            f"SELECT s.id_hash FROM _gb_sessions s JOIN _gb_people p ON p.key = s.person "  # noqa: S608 (placeholders only)
            f"WHERE s.id_hash IN ({marks}) AND s.expires_at > ? AND p.disabled = 0", [*chunk, utcnow_text(ws.now())]))
    return out


def end(ws: Workspace, id_hash: str) -> None:
    with ws.storage.transaction() as conn:
        conn.execute("DELETE FROM _gb_sessions WHERE id_hash = ?", (id_hash,))


def end_all(ws: Workspace, person: str) -> None:
    """Sign `person` out everywhere (password changed, second factor reset, disabled)."""
    with ws.storage.transaction() as conn:
        conn.execute("DELETE FROM _gb_sessions WHERE person = ?", (person,))
        conn.execute("DELETE FROM _gb_pending_signins WHERE person = ?", (person,))


def count(ws: Workspace, person: str) -> int:
    return int(ws.storage.conn.execute("SELECT count(*) FROM _gb_sessions WHERE person = ?", (person,)).fetchone()[0])


# -- pending sign-ins ------------------------------------------------------------------------
def begin_pending(ws: Workspace, person: str) -> str:
    """A pending sign-in for `person`, who still owes a second factor; returns its secret."""
    secret = new_secret()
    now = ws.now()
    with ws.storage.transaction() as conn:
        conn.execute("DELETE FROM _gb_pending_signins WHERE expires_at <= ?", (utcnow_text(now),))
        conn.execute("INSERT INTO _gb_pending_signins (id_hash, person, created_at, expires_at) VALUES (?, ?, ?, ?)",
                     (digest(secret), person, utcnow_text(now), utcnow_text(now + timedelta(minutes=PENDING_MINUTES))))
    return secret


def pending_person(ws: Workspace, secret: str) -> str | None:
    """The person of a live pending sign-in (not disabled), or None."""
    row = ws.storage.conn.execute(
        "SELECT s.person FROM _gb_pending_signins s JOIN _gb_people p ON p.key = s.person "
        "WHERE s.id_hash = ? AND s.expires_at > ? AND p.disabled = 0", (digest(secret), utcnow_text(ws.now()))).fetchone()
    return str(row[0]) if row else None


def begin_flow(ws: Workspace, provider: str, state: str, seconds: int) -> None:
    """Remember a sign-in flow's state for `seconds`, to be taken once by `take_flow`."""
    now = ws.now()
    with ws.storage.transaction() as conn:
        conn.execute("DELETE FROM _gb_pending_signins WHERE expires_at <= ?", (utcnow_text(now),))
        conn.execute("INSERT INTO _gb_pending_signins (id_hash, person, created_at, expires_at) VALUES (?, ?, ?, ?)",
                     (FLOW + digest(state), FLOW + provider, utcnow_text(now), utcnow_text(now + timedelta(seconds=seconds))))


def take_flow(ws: Workspace, provider: str, state: str) -> bool:
    """True once for a state `begin_flow` issued for `provider` and not yet expired; it is spent either way."""
    with ws.storage.transaction() as conn:
        taken = conn.execute("DELETE FROM _gb_pending_signins WHERE id_hash = ? AND person = ? AND expires_at > ?",
                             (FLOW + digest(state), FLOW + provider, utcnow_text(ws.now()))).rowcount
        conn.execute("DELETE FROM _gb_pending_signins WHERE id_hash = ?", (FLOW + digest(state),))
    return bool(taken)


def end_pending(ws: Workspace, secret: str) -> None:
    with ws.storage.transaction() as conn:
        conn.execute("DELETE FROM _gb_pending_signins WHERE id_hash = ?", (digest(secret),))
