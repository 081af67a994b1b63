"""The system tables (`_gb_*`) declared as data, for both stores to make.

`SYSTEM_TABLES` ({table: (primary key, {column: declaration})}), `SYSTEM_COLUMNS_ADDED` (columns
added after a table's first release), `SYSTEM_INDEXES` and `ADDED_INDEXES` (SQL, since an index
added later may be partial), and `column_spec`, which reads a declaration. The SQLite store makes
them with sqlite-utils (engine/storage.py `create_system_tables`), the PostgreSQL store with its
own DDL (engine/pg_schema.py); each table's rows belong to the engine module named beside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The system tables, made by each store when a database lacks them: {table: (primary key,
# {column: declaration})}. A declaration is "TYPE [NOT NULL] [DEFAULT value] [UNIQUE]", read by
# `column_spec`; a UNIQUE column gets a unique index named "{table}_{column}" when its table is made
# (databases made before 2026-12 have the same guarantee as a UNIQUE constraint in the table).
SYSTEM_TABLES: dict[str, tuple[str | tuple[str, ...] | None, dict[str, str]]] = {
    "_gb_meta": ("key", {"key": "TEXT", "value": "TEXT"}),
    "_gb_schema": (("base", "tbl", "field"), {
        "base": "TEXT NOT NULL", "tbl": "TEXT NOT NULL", "field": "TEXT NOT NULL", "type": "TEXT NOT NULL",
        "definition": "TEXT NOT NULL"}),
    "_gb_people": ("key", {
        "key": "TEXT", "name": "TEXT NOT NULL", "department": "TEXT", "roles": "TEXT NOT NULL DEFAULT '[]'",
        "email": "TEXT", "phone": "TEXT", "channels": "TEXT NOT NULL DEFAULT '[]'", "locale": "TEXT",
        "password_hash": "TEXT", "disabled": "INTEGER NOT NULL DEFAULT 0", "source": "TEXT NOT NULL DEFAULT 'yaml'",
        "changed_at": "TEXT", "departments": "TEXT NOT NULL DEFAULT '[]'"}),
    "_gb_sessions": ("id_hash", {
        "id_hash": "TEXT", "person": "TEXT NOT NULL", "csrf": "TEXT NOT NULL", "created_at": "TEXT NOT NULL",
        "expires_at": "TEXT NOT NULL"}),
    "_gb_tokens": ("id", {
        "id": "INTEGER", "person": "TEXT NOT NULL", "name": "TEXT NOT NULL", "token_hash": "TEXT NOT NULL UNIQUE",
        "created_at": "TEXT NOT NULL", "expires_at": "TEXT", "revoked_at": "TEXT", "last_used_at": "TEXT",
        "scopes": "TEXT", "bases": "TEXT"}),
    "_gb_login_attempts": (None, {
        "who": "TEXT NOT NULL", "at": "TEXT NOT NULL", "ok": "INTEGER NOT NULL", "address": "TEXT NOT NULL DEFAULT ''"}),
    "_gb_pending_signins": ("id_hash", {
        "id_hash": "TEXT", "person": "TEXT NOT NULL", "created_at": "TEXT NOT NULL", "expires_at": "TEXT NOT NULL"}),
    "_gb_second_factors": ("person", {
        "person": "TEXT", "secret": "TEXT NOT NULL", "created_at": "TEXT NOT NULL", "confirmed_at": "TEXT",
        "last_step": "INTEGER NOT NULL DEFAULT 0"}),
    "_gb_recovery_codes": (("person", "code_hash"), {
        "person": "TEXT NOT NULL", "code_hash": "TEXT NOT NULL", "created_at": "TEXT NOT NULL", "used_at": "TEXT"}),
    "_gb_audit": ("id", {
        "id": "INTEGER", "at": "TEXT NOT NULL", "actor": "TEXT NOT NULL", "base": "TEXT NOT NULL", "tbl": "TEXT NOT NULL",
        "record": "TEXT NOT NULL", "action": "TEXT NOT NULL", "field": "TEXT", "old": "TEXT", "new": "TEXT",
        "on_behalf": "TEXT"}),
    "_gb_access_log": ("id", {
        "id": "INTEGER", "at": "TEXT NOT NULL", "actor": "TEXT NOT NULL", "base": "TEXT NOT NULL", "tbl": "TEXT NOT NULL",
        "records": "TEXT NOT NULL", "action": "TEXT NOT NULL"}),
    "_gb_outbox": ("id", {
        "id": "INTEGER", "at": "TEXT NOT NULL", "base": "TEXT NOT NULL", "tbl": "TEXT NOT NULL", "record": "TEXT",
        "event": "TEXT NOT NULL", "actor": "TEXT NOT NULL", "data": "TEXT NOT NULL", "depth": "INTEGER NOT NULL DEFAULT 0",
        "processed_at": "TEXT"}),
    "_gb_counters": ("name", {"name": "TEXT", "value": "INTEGER NOT NULL"}),
    "_gb_archive": ("id", {
        "id": "INTEGER", "at": "TEXT NOT NULL", "base": "TEXT NOT NULL", "tbl": "TEXT NOT NULL", "field": "TEXT NOT NULL",
        "record": "TEXT", "value": "TEXT", "reason": "TEXT NOT NULL"}),
    "_gb_comments": ("id", {
        "id": "INTEGER", "at": "TEXT NOT NULL", "author": "TEXT NOT NULL", "base": "TEXT NOT NULL", "tbl": "TEXT NOT NULL",
        "record": "TEXT NOT NULL", "body": "TEXT NOT NULL", "deleted_at": "TEXT", "edited_at": "TEXT"}),
    "_gb_attachments": ("id", {
        "id": "TEXT", "sha256": "TEXT NOT NULL", "name": "TEXT NOT NULL", "size": "INTEGER NOT NULL", "type": "TEXT NOT NULL",
        "uploaded_by": "TEXT NOT NULL", "uploaded_at": "TEXT NOT NULL", "base": "TEXT", "tbl": "TEXT", "field": "TEXT"}),
    "_gb_hook_deliveries": (("hook", "delivery"), {
        "hook": "TEXT NOT NULL", "delivery": "TEXT NOT NULL", "record": "TEXT NOT NULL", "created": "INTEGER NOT NULL",
        "at": "TEXT NOT NULL"}),
    # Inbound webhook deliveries that were signed but could not be written (engine.hooks), for an admin to retry.
    "_gb_hook_failed": ("id", {
        "id": "INTEGER", "hook": "TEXT NOT NULL", "delivery": "TEXT NOT NULL", "payload": "TEXT NOT NULL",
        "error": "TEXT NOT NULL", "at": "TEXT NOT NULL", "attempts": "INTEGER NOT NULL DEFAULT 1"}),
    # Mailboxes (engine.mailintake): each mail taken once, and the dead letters an admin may retry.
    "_gb_mail_seen": (("mailbox", "message_id"), {
        "mailbox": "TEXT NOT NULL", "message_id": "TEXT NOT NULL", "record": "TEXT NOT NULL", "comment": "INTEGER",
        "at": "TEXT NOT NULL"}),
    "_gb_mail_failed": ("id", {
        "id": "INTEGER", "mailbox": "TEXT NOT NULL", "message_id": "TEXT NOT NULL", "raw": "TEXT", "error": "TEXT NOT NULL",
        "at": "TEXT NOT NULL", "attempts": "INTEGER NOT NULL DEFAULT 0"}),
    # HL7 v2 messages from the HIS, each taken once by its control id (engine.hl7intake).
    "_gb_hl7_messages": ("control_id", {
        "control_id": "TEXT", "type": "TEXT NOT NULL", "received_at": "TEXT NOT NULL", "at": "TEXT NOT NULL",
        "status": "TEXT NOT NULL", "error": "TEXT", "text": "TEXT NOT NULL", "records": "TEXT NOT NULL",
        "attempts": "INTEGER NOT NULL DEFAULT 1"}),
    # FHIR R4 resources taken from the HIS, each version once, and where each incremental sync stopped (engine.fhir).
    "_gb_fhir_resources": ("resource", {
        "resource": "TEXT", "version": "TEXT NOT NULL", "records": "TEXT NOT NULL", "at": "TEXT NOT NULL"}),
    "_gb_fhir_sync": (("server", "resource"), {
        "server": "TEXT NOT NULL", "resource": "TEXT NOT NULL", "since": "TEXT NOT NULL", "at": "TEXT NOT NULL"}),
    "_gb_view_prefs": (("person", "base", "tbl", "view"), {
        "person": "TEXT NOT NULL", "base": "TEXT NOT NULL", "tbl": "TEXT NOT NULL", "view": "TEXT NOT NULL",
        "prefs": "TEXT NOT NULL"}),
    "_gb_runs": ("id", {
        "id": "INTEGER", "automation": "TEXT NOT NULL", "base": "TEXT NOT NULL", "trigger": "TEXT NOT NULL", "record": "TEXT",
        "event_id": "INTEGER", "started_at": "TEXT NOT NULL", "duration_ms": "REAL", "status": "TEXT NOT NULL",
        "steps": "TEXT NOT NULL DEFAULT '[]'", "error": "TEXT", "run_key": "TEXT UNIQUE"}),
    "_gb_notifications": ("id", {
        "id": "INTEGER", "person": "TEXT NOT NULL", "at": "TEXT NOT NULL", "title": "TEXT NOT NULL", "body": "TEXT NOT NULL",
        "link": "TEXT", "base": "TEXT", "tbl": "TEXT", "record": "TEXT", "read_at": "TEXT", "key": "TEXT UNIQUE"}),
    "_gb_deliveries": ("id", {
        "id": "INTEGER", "notification": "INTEGER", "channel": "TEXT NOT NULL", "person": "TEXT", "payload": "TEXT NOT NULL",
        "key": "TEXT NOT NULL UNIQUE", "status": "TEXT NOT NULL", "attempts": "INTEGER NOT NULL DEFAULT 0",
        "next_at": "TEXT NOT NULL", "last_error": "TEXT", "sent_at": "TEXT"}),
    "_gb_fired": ("key", {"key": "TEXT", "at": "TEXT NOT NULL"}),
    # Automation runs parked by a `wait:` step until they are due (engine.runs).
    "_gb_parked": ("id", {
        "id": "INTEGER", "run_key": "TEXT NOT NULL UNIQUE", "base": "TEXT NOT NULL", "automation": "TEXT NOT NULL",
        "tbl": "TEXT", "record": "TEXT", "position": "INTEGER NOT NULL", "due_at": "TEXT NOT NULL",
        "until_field": "TEXT", "depth": "INTEGER NOT NULL DEFAULT 0", "on_behalf": "TEXT",
        "extra": "TEXT NOT NULL DEFAULT '{}'", "parked_at": "TEXT NOT NULL", "resumed_at": "TEXT"}),
    # Approval requests of automation runs parked at an `approval:` step, one row per approver (engine.approvals).
    "_gb_approvals": ("id", {
        "id": "INTEGER", "key": "TEXT NOT NULL UNIQUE", "flow": "TEXT NOT NULL", "run_key": "TEXT NOT NULL",
        "base": "TEXT NOT NULL", "automation": "TEXT NOT NULL", "tbl": "TEXT", "record": "TEXT",
        "seq": "INTEGER NOT NULL", "mode": "TEXT NOT NULL", "approver": "TEXT NOT NULL", "status": "TEXT NOT NULL",
        "title": "TEXT NOT NULL", "body": "TEXT NOT NULL DEFAULT ''", "link": "TEXT", "comment": "TEXT",
        "created_at": "TEXT NOT NULL", "asked_at": "TEXT", "decided_at": "TEXT", "due_at": "TEXT", "notification": "INTEGER"}),
    # Airtable-style webhooks and their payloads (engine.webhooks).
    "_gb_webhooks": ("id", {
        "id": "TEXT", "base": "TEXT NOT NULL", "owner": "TEXT NOT NULL", "url": "TEXT", "secret": "TEXT NOT NULL",
        "spec": "TEXT NOT NULL", "created_at": "TEXT NOT NULL", "expires_at": "TEXT NOT NULL",
        "notifications": "INTEGER NOT NULL DEFAULT 1", "next_cursor": "INTEGER NOT NULL DEFAULT 1",
        "last_ping": "TEXT", "last_success": "TEXT"}),
    "_gb_webhook_payloads": (("webhook", "cursor"), {
        "webhook": "TEXT NOT NULL", "cursor": "INTEGER NOT NULL", "event": "INTEGER NOT NULL", "at": "TEXT NOT NULL"}),
    # Rate limits' token buckets shared by several processes on one database (engine.ratelimits).
    "_gb_rate_buckets": (("name", "key"), {
        "name": "TEXT NOT NULL", "key": "TEXT NOT NULL", "tokens": "REAL NOT NULL", "at": "REAL NOT NULL",
        "taken": "INTEGER NOT NULL DEFAULT 0"}),
}

# Columns added to system tables after their first release: (table, column, declaration). A
# database made before gets them when it is opened (SYSTEM_TABLES has them for a new one), and
# then the indexes of ADDED_INDEXES.
SYSTEM_COLUMNS_ADDED = (
    ("_gb_audit", "on_behalf", "TEXT"),  # whose write an automation carried on (Actor.on_behalf)
    ("_gb_audit", "grp", "TEXT"),  # what one person did at once, undone as a whole (engine.audit, engine.undo)
    ("_gb_login_attempts", "address", "TEXT NOT NULL DEFAULT ''"),
    ("_gb_tokens", "scopes", "TEXT"),
    ("_gb_tokens", "bases", "TEXT"),
    ("_gb_comments", "edited_at", "TEXT"),  # when its author last changed it (engine.comments.edit)
    ("_gb_people", "departments", "TEXT NOT NULL DEFAULT '[]'"),  # every node of the organisation tree (engine.org)
)
ADDED_INDEXES = """
CREATE INDEX IF NOT EXISTS _gb_login_attempts_address ON _gb_login_attempts (address, at);
CREATE INDEX IF NOT EXISTS _gb_login_attempts_at ON _gb_login_attempts (at);
CREATE INDEX IF NOT EXISTS _gb_audit_grp ON _gb_audit (actor, base, tbl, grp) WHERE grp IS NOT NULL;
"""

# ADDED_INDEXES stays SQL: an index added later may be partial (`WHERE ...`), which sqlite-utils'
# create_index() cannot make. The first release's indexes: (name, table, columns), made when missing.
SYSTEM_INDEXES = (
    ("_gb_login_attempts_who", "_gb_login_attempts", ("who", "at")),
    ("_gb_audit_record", "_gb_audit", ("base", "tbl", "record", "id")),
    ("_gb_audit_actor", "_gb_audit", ("actor", "at")),
    ("_gb_access_log_actor", "_gb_access_log", ("actor", "at")),
    ("_gb_outbox_pending", "_gb_outbox", ("processed_at", "id")),
    ("_gb_comments_record", "_gb_comments", ("base", "tbl", "record")),
    ("_gb_notifications_person", "_gb_notifications", ("person", "read_at", "id")),
    ("_gb_deliveries_due", "_gb_deliveries", ("status", "next_at")),
    ("_gb_webhooks_base", "_gb_webhooks", ("base", "expires_at")),
    ("_gb_webhook_payloads_at", "_gb_webhook_payloads", ("at",)),
    ("_gb_approvals_approver", "_gb_approvals", ("approver", "status", "id")),
    ("_gb_approvals_record", "_gb_approvals", ("base", "tbl", "record", "id")),
    ("_gb_approvals_flow", "_gb_approvals", ("flow", "seq")),
)

_DECLARATION = re.compile(r"(?P<type>[A-Z]+)(?P<not_null> NOT NULL)?(?: DEFAULT (?P<default>'[^']*'|-?\d+))?(?P<unique> UNIQUE)?")


@dataclass(frozen=True)
class ColumnSpec:
    """One column declaration, in the words of sqlite-utils' `create()` and `add_column()`."""

    type: str
    not_null: bool = False
    default: str | int | None = None
    unique: bool = False


def column_spec(declaration: str) -> ColumnSpec:
    """Read "TYPE [NOT NULL] [DEFAULT value] [UNIQUE]" (the one shape system columns are declared in)."""
    match = _DECLARATION.fullmatch(declaration)
    if match is None:
        raise ValueError(f"cannot read the column declaration {declaration!r}")
    raw = match["default"]
    default: str | int | None = None if raw is None else raw[1:-1] if raw.startswith("'") else int(raw)
    return ColumnSpec(match["type"], bool(match["not_null"]), default, bool(match["unique"]))
