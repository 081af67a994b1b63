"""Second factors: the one owner of `_gb_second_factors` and `_gb_recovery_codes`.

A person's *second factor* is a TOTP secret (RFC 6238: 6 digits, 30-second steps, as
Google Authenticator, Microsoft Authenticator or 阿里云/腾讯身份验证器 make them). It is
*set up* (`enrol`: a new secret, not yet in force) and then *confirmed* by one right code;
only a confirmed factor is asked for at sign-in. A code is accepted one step early or late
(clock drift) and only once: the step of the last accepted code is kept, so a code seen over
someone's shoulder cannot be replayed. *Recovery codes* (ten, `xxxxx-xxxxx`) are made at
confirmation, shown once, stored as SHA-256 and each works once in place of a code.

`required(ws, actor)`: the workspace's `sign_in.require_second_factor` (`admins`: people with
an admin role; `everyone`; default `nobody`). The secrets sit in the database like the
password hashes do: protect backups (`gridbase backup --encrypt`).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp

from engine.auth import digest
from engine.ids import utcnow_text
from engine.permissions import Actor
from engine.workspace import Workspace

ISSUER = "Gridbase"
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


@dataclass(frozen=True)
class Factor:
    person: str
    secret: str
    confirmed: bool



def required(ws: Workspace, actor: Actor) -> bool:
    """Whether the workspace requires this person to sign in with a second factor."""
    rule = str((ws.config.sign_in or {}).get("require_second_factor", "nobody"))
    return rule == "everyone" or (rule == "admins" and actor.admin)


def factor(ws: Workspace, person: str) -> Factor | None:
    row = ws.storage.conn.execute("SELECT secret, confirmed_at FROM _gb_second_factors WHERE person = ?",
                                  (person,)).fetchone()
    return Factor(person, str(row[0]), row[1] is not None) if row else None


def enrolled(ws: Workspace, person: str) -> bool:
    """Whether `person` has a confirmed second factor."""
    found = factor(ws, person)
    return found is not None and found.confirmed


def enrol(ws: Workspace, person: str) -> str:
    """A new, unconfirmed secret for `person` (an unconfirmed one is reused); confirmed ones are kept."""
    found = factor(ws, person)
    if found is not None:
        if found.confirmed:
            raise ValueError("a second factor is already set up; reset it first")
        return found.secret
    secret = pyotp.random_base32()
    with ws.storage.transaction() as conn:
        conn.execute("INSERT INTO _gb_second_factors (person, secret, created_at) VALUES (?, ?, ?)",
                     (person, secret, utcnow_text(ws.now())))
    return secret


def provisioning_uri(secret: str, person: str, workspace_name: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=person, issuer_name=f"{ISSUER} {workspace_name}".strip())


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for candidate in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def check_code(ws: Workspace, person: str, code: str) -> bool:
    """Whether `code` is a fresh right code of `person`'s factor (confirmed or being confirmed);
    an accepted code is used up."""
    found = factor(ws, person)
    if found is None:
        return False
    step = _matching_step(found.secret, code, ws.now())
    if step is None:
        return False
    with ws.storage.transaction() as conn:
        cur = conn.execute("UPDATE _gb_second_factors SET last_step = ? WHERE person = ? AND last_step < ?",
                           (step, person, step))
        return cur.rowcount == 1


def confirm(ws: Workspace, person: str, code: str) -> list[str] | None:
    """Put the set-up factor in force if `code` is right; returns new recovery codes (shown once)."""
    found = factor(ws, person)
    if found is None or found.confirmed or not check_code(ws, person, code):
        return None
    with ws.storage.transaction() as conn:
        conn.execute("UPDATE _gb_second_factors SET confirmed_at = ? WHERE person = ?", (utcnow_text(ws.now()), person))
        return new_recovery_codes(ws, person)


def _recovery_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _normal(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def new_recovery_codes(ws: Workspace, person: str) -> list[str]:
    """Ten new recovery codes for `person`, replacing any old ones."""
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    with ws.storage.transaction() as conn:
        conn.execute("DELETE FROM _gb_recovery_codes WHERE person = ?", (person,))
        conn.executemany("INSERT INTO _gb_recovery_codes (person, code_hash, created_at) VALUES (?, ?, ?)",
                         [(person, digest(_normal(c)), utcnow_text(ws.now())) for c in codes])
    return codes


def use_recovery_code(ws: Workspace, person: str, code: str) -> bool:
    """Whether `code` is one of `person`'s unused recovery codes; it is used up if so."""
    normal = _normal(code)
    if len(normal) != 10:
        return False
    with ws.storage.transaction() as conn:
        cur = conn.execute("UPDATE _gb_recovery_codes SET used_at = ? WHERE person = ? AND code_hash = ? AND used_at IS NULL",
                           (utcnow_text(ws.now()), person, digest(normal)))
        return cur.rowcount == 1


def recovery_codes_left(ws: Workspace, person: str) -> int:
    return int(ws.storage.conn.execute("SELECT count(*) FROM _gb_recovery_codes WHERE person = ? AND used_at IS NULL",
                                       (person,)).fetchone()[0])


def reset(ws: Workspace, person: str) -> bool:
    """Remove `person`'s second factor and recovery codes; returns whether there was one."""
    with ws.storage.transaction() as conn:
        cur = conn.execute("DELETE FROM _gb_second_factors WHERE person = ?", (person,))
        conn.execute("DELETE FROM _gb_recovery_codes WHERE person = ?", (person,))
        return cur.rowcount > 0
