"""Approval requests: owner of `_gb_approvals`, one row per approver of an automation's `approval:` step.

Words: a *flow* is one `approval:` step of one run (`{run key}:{step}`); it asks its approvers
in `sequence` (the next one is asked only after the one before approved) or `any` (all at once,
the first decision wins). A *request* is one approver's row of a flow, with the title and
message rendered for that person (so it holds only what they may read). Its status goes
`queued` (sequence: not asked yet) → `pending` (asked) → `approved` | `rejected`, or to
`closed` (no longer needed: another approver decided, or one before rejected) or `expired`
(the step's timeout passed first).

`decide` changes a request only if it is still pending and addressed to that person, in one
conditional UPDATE inside the caller's write transaction, so two decisions (two clicks, two
approvers of an any-of flow, two processes) can never both count. `outcome` says how a flow
ended; the run parked at the step (engine.runs) goes on once it has one (automations.approval).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from engine.errors import GridbaseError, NotFoundError, PermissionDenied
from engine.ids import utcnow_text
from engine.storage import Storage, rows_of

COLUMNS = ("id, flow, run_key, base, automation, tbl, record, seq, mode, approver, status, title, body, link, "
           "comment, created_at, asked_at, decided_at, due_at, notification")
DECISIONS = ("approved", "rejected")
OPEN = ("queued", "pending")


def ask(conn: sqlite3.Connection, *, flow: str, run_key: str, base: str, automation: str, table: str | None,
        record: str | None, mode: str, requests: list[tuple[str, str, str]], link: str, due: datetime | None,
        now: datetime) -> list[dict[str, Any]]:
    """Add a flow's requests (approver, title, body) inside the run's transaction; the ones asked now.

    In `sequence` only the first is pending, the others queued; in `any` all are pending. A
    flow already added (the same run again) adds nothing and asks nobody."""
    at, due_text = utcnow_text(now), utcnow_text(due) if due is not None else None
    asked: list[int] = []
    for seq, (person, title, body) in enumerate(requests):
        status = "pending" if mode == "any" or seq == 0 else "queued"
        cur = conn.execute(
            "INSERT OR IGNORE INTO _gb_approvals (key, flow, run_key, base, automation, tbl, record, seq, mode, "
            "approver, status, title, body, link, created_at, asked_at, due_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (f"{flow}:{seq}", flow, run_key, base, automation, table, record, seq, mode, person, status, title, body,
             link, at, at if status == "pending" else None, due_text))
        if cur.rowcount and status == "pending":
            asked.append(seq)
    return [r for r in of_flow(conn, flow) if r["seq"] in asked]


def of_flow(conn: sqlite3.Connection, flow: str) -> list[dict[str, Any]]:
    """The requests of a flow, in the order their approvers were named."""
    return rows_of(conn.execute(f"SELECT {COLUMNS} FROM _gb_approvals WHERE flow = ? ORDER BY seq", (flow,)))  # noqa: S608


def one(storage: Storage, ident: int) -> dict[str, Any] | None:
    found = rows_of(storage.conn.execute(f"SELECT {COLUMNS} FROM _gb_approvals WHERE id = ?", (ident,)))  # noqa: S608
    return found[0] if found else None


def pending_for(storage: Storage, person: str, limit: int = 200) -> list[dict[str, Any]]:
    """The requests waiting for `person`'s decision, oldest first."""
    return rows_of(storage.conn.execute(
        f"SELECT {COLUMNS} FROM _gb_approvals WHERE approver = ? AND status = 'pending' "  # noqa: S608
        "ORDER BY id LIMIT ?", (person, limit)))


def for_record(storage: Storage, base: str, table: str, record: str) -> list[dict[str, Any]]:
    """Every request about a record, oldest flow first (for the record page's approval panel)."""
    return rows_of(storage.conn.execute(
        f"SELECT {COLUMNS} FROM _gb_approvals WHERE base = ? AND tbl = ? AND record = ? "  # noqa: S608
        "ORDER BY created_at, flow, seq", (base, table, record)))


def decide(conn: sqlite3.Connection, ident: int, person: str, decision: str, comment: str,
           now: datetime) -> dict[str, Any]:
    """Record `person`'s decision on request `ident` inside the caller's write transaction.

    Returns {"request", "outcome" (approved | rejected | None: the flow goes on), "next" (the
    request asked now, in sequence, or None)}. Raises when the request is unknown, not theirs,
    or already decided (also when another approver of the flow decided first)."""
    if decision not in DECISIONS:
        raise GridbaseError(code="approval_bad_decision", params={"decision": decision})
    at = utcnow_text(now)
    # Lock the whole flow first (every row, in one statement's order), so two approvers of an any-of
    # flow deciding at once on PostgreSQL wait for each other instead of deadlocking; SQLite has one writer.
    conn.execute("UPDATE _gb_approvals SET seq = seq WHERE flow IN (SELECT flow FROM _gb_approvals WHERE id = ?)",
                 (ident,))
    changed = conn.execute(
        "UPDATE _gb_approvals SET status = ?, comment = ?, decided_at = ? "
        "WHERE id = ? AND approver = ? AND status = 'pending'", (decision, comment, at, ident, person)).rowcount
    found = rows_of(conn.execute(f"SELECT {COLUMNS} FROM _gb_approvals WHERE id = ?", (ident,)))  # noqa: S608
    if not found:
        raise NotFoundError(code="approval_unknown")
    request = found[0]
    if request["approver"] != person:
        raise PermissionDenied(code="approval_not_yours")
    if not changed:
        raise GridbaseError(code="approval_decided")
    rest = [r for r in of_flow(conn, request["flow"]) if r["status"] in OPEN]
    queued = [r for r in rest if r["status"] == "queued"]
    if decision == "approved" and request["mode"] == "sequence" and queued:
        nxt = queued[0]
        conn.execute("UPDATE _gb_approvals SET status = 'pending', asked_at = ? WHERE id = ? AND status = 'queued'",
                     (at, nxt["id"]))
        return {"request": request, "outcome": None, "next": {**nxt, "status": "pending", "asked_at": at}}
    conn.execute("UPDATE _gb_approvals SET status = 'closed', decided_at = ? WHERE flow = ? "
                 "AND status IN ('queued', 'pending')", (at, request["flow"]))
    return {"request": {**request, "status": decision}, "outcome": decision, "next": None}


def outcome(conn: sqlite3.Connection, flow: str) -> dict[str, Any] | None:
    """How a flow ended: {"decision": approved | rejected | expired, "by", "comment", "at"}; None while open."""
    rows = of_flow(conn, flow)
    if not rows:
        return None
    last = max((r for r in rows if r["status"] in (*DECISIONS, "expired")), key=lambda r: (r["decided_at"] or "", r["seq"]),
               default=None)
    if last is None or any(r["status"] in OPEN for r in rows):
        return None
    return {"decision": last["status"], "by": last["approver"] if last["status"] in DECISIONS else "",
            "comment": last["comment"] or "", "at": last["decided_at"]}


def expire(conn: sqlite3.Connection, flow: str, now: datetime) -> int:
    """Close a flow's open requests because its timeout passed; how many were open."""
    return conn.execute("UPDATE _gb_approvals SET status = 'expired', decided_at = ? WHERE flow = ? "
                        "AND status IN ('queued', 'pending')", (utcnow_text(now), flow)).rowcount


def move(conn: sqlite3.Connection, flow: str, run_key: str) -> None:
    """The run waiting for a flow was parked again under another key (it went on too early)."""
    conn.execute("UPDATE _gb_approvals SET run_key = ? WHERE flow = ?", (run_key, flow))


def noted(conn: sqlite3.Connection, ident: int, notification: int) -> None:
    """The inbox notification that asked for request `ident` (marked read when it is decided)."""
    conn.execute("UPDATE _gb_approvals SET notification = ? WHERE id = ?", (notification, ident))
