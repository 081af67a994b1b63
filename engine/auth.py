"""Passwords and tokens: argon2 hashes for passwords, SHA-256 for random tokens, and the
password policy.

A password is hashed with argon2id; a session id or API token is 32 random bytes shown
once and stored only as its SHA-256, so a stolen database yields no usable secret.

*Policy* (`password_problem`): at least MIN_LENGTH characters, not one of the common
passwords in `common_passwords.txt` (any case; taken from Django's list of 20,000, see the
file's header), and not the person's own key or e-mail address. Passwords in workspace.yaml
are for demos and are not checked; `gridbase passwd` and the password pages are.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's argon2id baseline (m=19 MiB, t=2, p=1): strong, and quick enough that a sign-in
# does not stall a 2-core server.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    if not stored:
        _hasher.hash("timing-equaliser")
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


MIN_LENGTH = 10
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, *, person: str = "", email: str | None = None) -> str | None:
    """Why `password` may not be used (an English sentence), or None if it may."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    lowered = password.lower()
    if lowered in common_passwords():
        return "this password is on the list of common passwords that attackers try first; choose another"
    if lowered in {person.lower(), (email or "").lower()}:
        return "a password may not be your user name or e-mail address"
    return None
