"""Personal API tokens: the one owner of `_gb_tokens`.

A token is 32 random bytes shown once (`gbt_…`) and stored only as its SHA-256. Like an
Airtable personal access token it carries *scopes* (what kinds of request it may make) and
optionally a list of *bases* (where); within those it has exactly its person's permissions,
never more. A token made before scopes existed has NULL scopes and bases: it keeps every
scope and every base, so old scripts go on working (docs/api.md says so); `gridbase token
DIR create` without `--scope` grants every scope, listed explicitly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from engine import people
from engine.auth import digest, new_secret
from engine.errors import GridbaseError, NotFoundError
from engine.ids import utcnow_text
from engine.workspace import Workspace

RECORDS_READ = "data.records:read"
RECORDS_WRITE = "data.records:write"
COMMENTS_READ = "data.recordComments:read"
COMMENTS_WRITE = "data.recordComments:write"
SCHEMA_READ = "schema.bases:read"
EMAIL_READ = "user.email:read"
WEBHOOK_MANAGE = "webhook:manage"
SCOPES = (RECORDS_READ, RECORDS_WRITE, COMMENTS_READ, COMMENTS_WRITE, SCHEMA_READ, EMAIL_READ, WEBHOOK_MANAGE)


@dataclass(frozen=True)
class Token:
    id: int
    person: str
    name: str
    scopes: tuple[str, ...]
    bases: tuple[str, ...] | None  # None: every base
    created_at: str
    expires_at: str | None
    revoked_at: str | None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    def reaches(self, base: str) -> bool:
        return self.bases is None or base in self.bases


def _row(row: tuple) -> Token:  # type: ignore[type-arg]
    scopes = tuple(json.loads(row[3])) if row[3] is not None else SCOPES
    bases = tuple(json.loads(row[4])) if row[4] is not None else None
    return Token(int(row[0]), str(row[1]), str(row[2]), scopes, bases, str(row[5]), row[6], row[7])


_COLUMNS = "id, person, name, scopes, bases, created_at, expires_at, revoked_at"
_T_COLUMNS = ", ".join(f"t.{c}" for c in _COLUMNS.split(", "))



def create(ws: Workspace, person: str, *, name: str = "token", scopes: list[str] | None = None,
           bases: list[str] | None = None, expires_days: int | None = None) -> tuple[str, Token]:
    """A new token (its secret, shown once, and its row); scopes default to all of them."""
    chosen = list(dict.fromkeys(scopes)) if scopes else list(SCOPES)
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown:
        raise GridbaseError(code="unknown_scope", params={"scope": unknown[0], "scopes": ", ".join(SCOPES)})
    known = {b.key for b in ws.bases()}
    for base in bases or []:
        if base not in known:
            raise GridbaseError(code="unknown_base_of", params={"base": base, "bases": ", ".join(sorted(known))})
    if not people.exists(ws.storage, person):
        raise NotFoundError(code="unknown_person", params={"name": person})
    now = ws.now()
    expires = utcnow_text(now + timedelta(days=expires_days)) if expires_days else None
    secret = new_secret("gbt_")
    with ws.storage.transaction() as conn:
        cur = conn.execute("INSERT INTO _gb_tokens (person, name, token_hash, created_at, expires_at, scopes, bases) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (person, name, digest(secret), utcnow_text(now), expires, json.dumps(chosen),
                            json.dumps(list(dict.fromkeys(bases))) if bases else None))
        token_id = int(cur.lastrowid or 0)
    return secret, Token(token_id, person, name, tuple(chosen), tuple(bases) if bases else None, utcnow_text(now), expires, None)


def find(ws: Workspace, secret: str) -> Token | None:
    """The token whose secret this is (revoked or expired ones too: see `usable`), or None.
    One statement, so no snapshot of its own (on PostgreSQL a snapshot's BEGIN and COMMIT were
    two more round trips of every API request)."""
    row = ws.storage.conn.execute(f"SELECT {_COLUMNS} FROM _gb_tokens WHERE token_hash = ?", (digest(secret),)).fetchone()  # noqa: S608
    return _row(row) if row else None


def find_with_place(ws: Workspace, secret: str) -> tuple[Token, tuple[str | None, str] | None] | None:
    """`find`, and with the token its person's stored (department, departments) if that person
    exists and is not disabled (else None): one statement, where a request would read the
    token and then its person (`Workspace.actor`'s `enabled_row`)."""
    row = ws.storage.conn.execute(
        f"SELECT {_T_COLUMNS}, p.key, p.department, p.departments FROM _gb_tokens t "  # noqa: S608
        "LEFT JOIN _gb_people p ON p.key = t.person AND p.disabled = 0 WHERE t.token_hash = ?", (digest(secret),)).fetchone()
    if row is None:
        return None
    return _row(row[:8]), ((row[9], row[10]) if row[8] is not None else None)


def usable(token: Token, now: datetime) -> bool:
    """Not revoked and not expired (an unreadable expiry counts as expired)."""
    if token.revoked_at:
        return False
    if not token.expires_at:
        return True
    try:
        moment = datetime.fromisoformat(str(token.expires_at).replace("Z", "+00:00"))
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment > now


def of_person(ws: Workspace, person: str) -> list[Token]:
    rows = ws.storage.conn.execute(f"SELECT {_COLUMNS} FROM _gb_tokens WHERE person = ? ORDER BY id", (person,)).fetchall()  # noqa: S608
    return [_row(r) for r in rows]


def revoke(ws: Workspace, person: str, *, token_id: int | None = None, name: str | None = None) -> int:
    """Revoke a person's token by id, or every live one with that name; returns how many."""
    stamp = ws.now().isoformat()
    with ws.storage.transaction() as conn:
        if token_id is not None:
            cur = conn.execute("UPDATE _gb_tokens SET revoked_at = ? WHERE person = ? AND id = ? AND revoked_at IS NULL",
                               (stamp, person, token_id))
        else:
            cur = conn.execute("UPDATE _gb_tokens SET revoked_at = ? WHERE person = ? AND name = ? AND revoked_at IS NULL",
                               (stamp, person, name))
        return int(cur.rowcount)


def touch(ws: Workspace, token_id: int) -> None:
    """Record that the token was used now."""
    with ws.storage.transaction() as conn:
        conn.execute("UPDATE _gb_tokens SET last_used_at = ? WHERE id = ?", (utcnow_text(ws.now()), token_id))
