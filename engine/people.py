"""The people of a workspace as the database keeps them: owner of `_gb_people`.

workspace.yaml declares people; `Workspace.sync_people` copies them here at start, and
`gridbase people` adds, disables and enables people here (also ones workspace.yaml does not
name). A *disabled* person cannot sign in, is offered nowhere and is notified of nothing, but
records that name them keep showing their name. Sign-in credentials are read and set through
`engine.signins`, which calls `credentials` and `set_password_hash` here. Where a person sits in
the organisation tree (engine.org) is kept here too: `department` (the primary node) and
`departments` (every node, the primary first); `move` changes it, and it counts at once.

Every write here (and `Workspace.sync_people`'s, through `changed`) also sets the people's
*version* (`version`, kept in `_gb_meta`) in its transaction: a cache built from the rows
(automations.recipients' directory) asks for that one value instead of reading every row.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from collections.abc import Collection
from typing import Any

from engine import meta
from engine.errors import GridbaseError, Message
from engine.storage import Storage, rows_of

KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

VERSION_KEY = "people_version"  # in _gb_meta (engine.meta)
_written = [0]  # writes to the people made by this process (`changed` calls), see `written`
COLUMNS = "key, name, department, roles, email, phone, channels, disabled, locale, departments"
_NAMES = tuple(c.strip() for c in COLUMNS.split(","))


def get(storage: Storage, key: str) -> dict[str, Any] | None:
    """One person's row (roles and channels as lists), or None."""
    found = rows_of(storage.conn.execute(f"SELECT {COLUMNS} FROM _gb_people WHERE key = ?", (key,)))  # noqa: S608
    return _decoded(found[0]) if found else None


def some(storage: Storage, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The rows of these people (those that exist), by key: one query per 500 keys, for a page
    of records naming many people."""
    found: dict[str, dict[str, Any]] = {}
    for at in range(0, len(keys), 500):
        chunk = keys[at:at + 500]
        marks = ", ".join("?" * len(chunk))
        for row in rows_of(storage.conn.execute(f"SELECT {COLUMNS} FROM _gb_people WHERE key IN ({marks})", chunk)):  # noqa: S608
            found[row["key"]] = _decoded(row)
    return found


def exists(storage: Storage, key: str) -> bool:
    return storage.conn.execute("SELECT 1 FROM _gb_people WHERE key = ?", (key,)).fetchone() is not None


def everyone(storage: Storage) -> list[dict[str, Any]]:
    """Every person's row, disabled ones too, by key."""
    with storage.reading() as conn:
        rows = conn.execute(f"SELECT {COLUMNS} FROM _gb_people ORDER BY key").fetchall()  # noqa: S608
    return [_decoded(dict(zip(_NAMES, r, strict=True))) for r in rows]


def version(storage: Storage) -> str | None:
    """The people's version: another value after any write to `_gb_people` committed (in this
    process or another); None before the first such write."""
    return meta.get(storage, VERSION_KEY)


def changed(conn: sqlite3.Connection) -> None:
    """Inside the transaction of a write to `_gb_people`: a new `version` (random, so a database
    copied or restored under a running process cannot repeat one a cache was built from)."""
    meta.put_in(conn, VERSION_KEY, secrets.token_hex(8))
    _written[0] += 1


def written() -> int:
    """How many writes to the people this process has made: within one transaction (which
    holds the write lock, so no other process writes meanwhile) the people read in it are
    still the people while this number stays the same."""
    return _written[0]


def disabled(storage: Storage) -> set[str]:
    """The keys of disabled people."""
    return {r[0] for r in storage.conn.execute("SELECT key FROM _gb_people WHERE disabled != 0")}


def active_names(storage: Storage) -> dict[str, str]:
    """key -> name of every enabled person."""
    return dict(storage.conn.execute("SELECT key, name FROM _gb_people WHERE disabled = 0").fetchall())


def search(storage: Storage, term: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Enabled people whose name, key (account) or e-mail contains `term` (any part, any case),
    those whose name or key starts with it first, then by name: at most `limit` rows of
    key, name, department (its key). An empty term lists the first ones by name."""
    text = term.strip().lower()
    with storage.reading() as conn:
        rows = conn.execute(
            "SELECT key, name, department FROM _gb_people WHERE disabled = 0 AND (instr(lower(name), ?) > 0 "
            "OR instr(lower(key), ?) > 0 OR instr(lower(coalesce(email, '')), ?) > 0) "
            "ORDER BY (instr(lower(name), ?) = 1 OR instr(lower(key), ?) = 1) DESC, name, key LIMIT ?",
            (text, text, text, text, text, max(1, int(limit)))).fetchall()
    return [{"key": str(r[0]), "name": str(r[1]), "department": r[2]} for r in rows]


def locale_of(storage: Storage, key: str) -> str | None:
    row = storage.conn.execute("SELECT locale FROM _gb_people WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row and row[0] else None


def set_locale(storage: Storage, key: str, locale: str) -> None:
    with storage.transaction() as conn:
        conn.execute("UPDATE _gb_people SET locale = ? WHERE key = ?", (locale, key))
        changed(conn)


def add(storage: Storage, key: str, *, name: str, department: str | None, roles: list[str], email: str | None,
        source: str = "cli") -> None:
    """Add a person (the caller has checked the key is new)."""
    with storage.transaction() as conn:
        conn.execute("INSERT INTO _gb_people (key, name, department, departments, roles, email, source) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", (key, name, department, json.dumps([department] if department else []),
                                                      json.dumps(roles, ensure_ascii=False), email, source))
        changed(conn)


def enroll_problem(storage: Storage, key: str, *, name: str, roles: list[str], department: str | None,
                   known_roles: Collection[str], known_departments: Collection[str]) -> str | None:
    """Why a new person cannot be added as given (an English sentence naming the fix), or None."""
    if not KEY.match(key):
        return Message("enroll_account", account=key)
    if exists(storage, key):
        return Message("enroll_exists", account=key)
    if not name.strip():
        return Message("enroll_name")
    unknown = [r for r in roles if r not in known_roles]
    if unknown:
        return Message("unknown_role", role=unknown[0], roles=", ".join(known_roles))
    if department and department not in known_departments:
        return Message("unknown_department", department=department, departments=", ".join(known_departments))
    return None


def enroll(storage: Storage, key: str, *, name: str, roles: list[str], department: str | None, email: str | None,
           known_roles: Collection[str], known_departments: Collection[str], source: str = "cli") -> None:
    """Add a new person after checking the account, name, roles and department (GridbaseError if not usable)."""
    problem = enroll_problem(storage, key, name=name, roles=roles, department=department, known_roles=known_roles,
                             known_departments=known_departments)
    if problem:
        raise GridbaseError(problem)
    add(storage, key, name=name.strip(), department=department or None, roles=roles, email=email or None, source=source)


def node_list(stored: Any) -> list[str]:
    """The stored `departments` column as a list of node keys (a list: as `get` decoded it)."""
    if isinstance(stored, list):
        return [str(v) for v in stored]
    try:
        value = json.loads(stored or "[]")
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def move(storage: Storage, key: str, primary: str | None, nodes: list[str]) -> bool:
    """Put a person in `nodes` with `primary` first (the caller checked the nodes exist); False
    if there is no such person. Row rules, recipients and defaults follow at once."""
    every = list(dict.fromkeys([primary, *nodes] if primary else nodes))
    with storage.transaction() as conn:
        changed(conn)
        return conn.execute("UPDATE _gb_people SET department = ?, departments = ? WHERE key = ?",
                            (primary, json.dumps(every, ensure_ascii=False), key)).rowcount > 0


def set_disabled(storage: Storage, key: str, disabled: bool) -> bool:
    """Disable or enable a person; False if there is no such person."""
    with storage.transaction() as conn:
        changed(conn)
        return conn.execute("UPDATE _gb_people SET disabled = ? WHERE key = ?", (int(disabled), key)).rowcount > 0


def credentials(conn: sqlite3.Connection, who: str) -> tuple[str, str | None, bool] | None:
    """(key, password hash, disabled) of the person signing in as `who` (a key or an e-mail address)."""
    row = conn.execute("SELECT key, password_hash, disabled FROM _gb_people WHERE key = ? OR "
                       "(email IS NOT NULL AND lower(email) = lower(?)) ORDER BY key = ? DESC LIMIT 1",
                       (who, who, who)).fetchone()
    return None if row is None else (str(row[0]), row[1], bool(row[2]))


def keys_by_email(storage: Storage, email: str) -> list[str]:
    """Keys of the people (disabled ones too) whose e-mail is `email`, any case."""
    rows = storage.conn.execute("SELECT key FROM _gb_people WHERE email IS NOT NULL AND lower(email) = lower(?)",
                                (email.strip(),)).fetchall()
    return [str(r[0]) for r in rows]


def phones(storage: Storage) -> list[tuple[str, str]]:
    """(key, phone) of every person (disabled ones too) with a phone."""
    return [(str(r[0]), str(r[1])) for r in storage.conn.execute(
        "SELECT key, phone FROM _gb_people WHERE phone IS NOT NULL AND phone != ''").fetchall()]


def set_password_hash(conn: sqlite3.Connection, key: str, password_hash: str) -> bool:
    """Store a password hash inside the caller's transaction; False if there is no such person."""
    changed(conn)
    return conn.execute("UPDATE _gb_people SET password_hash = ? WHERE key = ?", (password_hash, key)).rowcount > 0


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    for name in ("roles", "channels", "departments"):
        try:
            value = json.loads(row[name] or "[]")
        except ValueError:
            value = []
        row[name] = value if isinstance(value, list) else []
    row["disabled"] = bool(row["disabled"])
    return row
