"""Sign-in attempts and the throttle on them: the one owner of `_gb_login_attempts`.

Words: an *attempt* is one check of a password or of a second-factor code, by one client
*address*, for one *account* (`who`: `person:<key>` for a known person, whatever name or
e-mail was typed for them, else the lower-cased name typed). An attempt is written before
the secret is checked, as a failure, inside the same transaction that decided it may go
ahead, so parallel requests cannot slip past the throttle; it becomes a success (`ok = 1`)
when the person is fully signed in, or a *half* success (`ok = 2`) when the password was
right and a second factor is still due (a half success resets nothing, so knowing the
password does not buy more guesses of the code).

The throttle never holds a request: `begin` answers at once with the seconds to wait (the
pages say "try again in N seconds", with `Retry-After`). There is no hard lockout. After
`free` failures a key must wait `first` seconds after its last failure, then twice that
after each further failure, up to `cap`:

- *pair* (one account from one address, since its last success): 5 free, 30 s, cap 15 min;
- *account* (from every address, since its last success): 10 free, 5 s, cap 60 s, so
  someone who hammers a colleague's name from elsewhere can delay them a minute at most;
- *address* (every account, the last hour): 20 free, 30 s, cap 15 min, against spraying
  one common password over many names;
- *global* (everything, the last minute): at most 120 failures; past that everyone waits
  until the minute has room again.

`Limits` holds these numbers; `app.state.signin_limits` may replace them (tests do).
Checks of one account from one address run one after another (`one_at_a_time`, a lock held
while the secret is checked: tens of milliseconds each), so a burst of parallel guesses
meets the count of the guesses before it, while people signing in concurrently, even into
one shared account from one address, are not refused: each finds the one before finished.
Attempts older than a day are deleted as new ones are written. This module also reads the
credentials of `_gb_people` for a sign-in and sets a password (`set_password`), which ends
the person's sessions.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from engine import people, sessions
from engine.workspace import Workspace

FAILED, SIGNED_IN, HALF = 0, 1, 2
KEEP = timedelta(days=1)


@dataclass(frozen=True)
class Step:
    """Growing delays for one kind of key: `free` failures, then `first` seconds doubling to `cap`."""

    free: int
    first: float
    cap: float
    window: timedelta

    def wait(self, failures: int, last: datetime | None, now: datetime) -> float:
        if failures < self.free or last is None:
            return 0.0
        delay = min(self.cap, self.first * 2 ** min(failures - self.free, 30))
        return max(0.0, (last + timedelta(seconds=delay) - now).total_seconds())


@dataclass(frozen=True)
class Limits:
    pair: Step = Step(5, 30.0, 900.0, timedelta(days=1))
    account: Step = Step(10, 5.0, 60.0, timedelta(days=1))
    address: Step = Step(20, 30.0, 900.0, timedelta(hours=1))
    global_per_minute: int = 120


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Verdict:
    """`wait` seconds before another try (0: go ahead, with `attempt` the row written)."""

    wait: int
    attempt: int | None = None

    @property
    def refused(self) -> bool:
        return self.wait > 0


def _text(moment: datetime) -> str:
    # Microseconds, so that a wait is not cut short by the part of a second lost in rounding.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def find_person(ws: Workspace, username: str) -> tuple[str, str | None, bool] | None:
    """(key, password hash, disabled) of the person signing in by key or e-mail, or None."""
    return people.credentials(ws.storage.conn, username)


def account_of(person: str | None, typed: str) -> str:
    """The `who` of an attempt: the person if known, else the name typed (lower-cased)."""
    return f"person:{person}" if person else typed.strip().lower()


def _since(ws: Workspace, who: str, step: Step, now: datetime, address: str | None = None) -> str:
    """Start of a key's count: its last full sign-in, or the window's start if later."""
    conn = ws.storage.conn
    if address is None:
        row = conn.execute("SELECT max(at) FROM _gb_login_attempts WHERE who = ? AND ok = 1", (who,)).fetchone()
    else:
        row = conn.execute("SELECT max(at) FROM _gb_login_attempts WHERE who = ? AND address = ? AND ok = 1",
                           (who, address)).fetchone()
    return max(row[0] or "", _text(now - step.window))


def waiting(ws: Workspace, who: str, address: str, limits: Limits = DEFAULT_LIMITS) -> int:
    """Whole seconds `who` must wait before trying from `address` (0: may try now)."""
    conn = ws.storage.conn
    now = ws.now()
    waits = []
    since = _since(ws, who, limits.pair, now, address)
    n, last = conn.execute("SELECT count(*), max(at) FROM _gb_login_attempts WHERE who = ? AND address = ? AND ok = 0 "
                           "AND at > ?", (who, address, since)).fetchone()
    waits.append(limits.pair.wait(n, _parse(last), now))
    since = _since(ws, who, limits.account, now)
    n, last = conn.execute("SELECT count(*), max(at) FROM _gb_login_attempts WHERE who = ? AND ok = 0 AND at > ?",
                           (who, since)).fetchone()
    waits.append(limits.account.wait(n, _parse(last), now))
    n, last = conn.execute("SELECT count(*), max(at) FROM _gb_login_attempts WHERE address = ? AND ok = 0 AND at > ?",
                           (address, _text(now - limits.address.window))).fetchone()
    waits.append(limits.address.wait(n, _parse(last), now))
    minute_ago = _text(now - timedelta(minutes=1))
    recent = conn.execute("SELECT at FROM _gb_login_attempts WHERE ok = 0 AND at > ? ORDER BY at DESC LIMIT 1 OFFSET ?",
                          (minute_ago, max(limits.global_per_minute - 1, 0))).fetchone()
    if recent is not None:  # the minute is full: wait until its oldest counted failure leaves it
        oldest = _parse(recent[0])
        assert oldest is not None
        waits.append(max(1.0, (oldest + timedelta(minutes=1) - now).total_seconds()))
    return math.ceil(max(waits))


_locks: dict[tuple[str, str], tuple[threading.Lock, list[int]]] = {}
_locks_guard = threading.Lock()


@contextmanager
def one_at_a_time(who: str, address: str) -> Iterator[None]:
    """Hold this while deciding, checking and finishing one attempt of `who` from `address`."""
    key = (who, address)
    with _locks_guard:
        lock, users = _locks.setdefault(key, (threading.Lock(), [0]))
        users[0] += 1
    try:
        with lock:
            yield
    finally:
        with _locks_guard:
            users[0] -= 1
            if users[0] == 0:
                del _locks[key]


def begin(ws: Workspace, who: str, address: str, limits: Limits = DEFAULT_LIMITS) -> Verdict:
    """Decide whether an attempt may go ahead and, if so, write it as a failure (one transaction)."""
    with ws.storage.transaction() as conn:
        wait = waiting(ws, who, address, limits)
        if wait:
            return Verdict(wait)
        now = ws.now()
        conn.execute("DELETE FROM _gb_login_attempts WHERE at < ?", (_text(now - KEEP),))
        cur = conn.execute("INSERT INTO _gb_login_attempts (who, at, ok, address) VALUES (?, ?, ?, ?)",
                           (who, _text(now), FAILED, address))
        return Verdict(0, int(cur.lastrowid or 0))


def finish(ws: Workspace, attempt: int, *, signed_in: bool = True) -> None:
    """Mark an attempt a success: a full sign-in, or (signed_in=False) a right password with a code still due."""
    with ws.storage.transaction() as conn:
        conn.execute("UPDATE _gb_login_attempts SET ok = ? WHERE rowid = ?", (SIGNED_IN if signed_in else HALF, attempt))


def email_of(ws: Workspace, person: str) -> str | None:
    row = people.get(ws.storage, person)
    return str(row["email"]) if row and row["email"] else None


def set_password(ws: Workspace, person: str, password_hash: str) -> bool:
    """Store a new password hash (check it with engine.auth.password_problem first) and end the
    person's sessions; False if there is no such person."""
    with ws.storage.transaction() as conn:
        if not people.set_password_hash(conn, person, password_hash):
            return False
        sessions.end_all(ws, person)
    return True
