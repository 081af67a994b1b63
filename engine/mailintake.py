"""Mailboxes: mail read from an IMAP folder becomes records (or comments on them).

This module owns the `mailboxes:` of a base (where each mailbox is, which field takes which
part of a mail), their checks at load time, `_gb_mail_seen` (which mails were taken, so each
is taken once, by Message-ID, across restarts) and `_gb_mail_failed` (the dead letters: mails
that could not be taken, kept for an admin to read and retry). Reading the IMAP server is
automations.mailpoll's; it hands each new mail's bytes to `take`.

```yaml
mailboxes:
  complaints_mail:
    name: 投诉邮箱
    table: complaints
    actor: mail_bot                 # a person: the write is checked and audited as them
    host: imap.example.org
    port: 993                       # default: 993 (ssl), 143 (starttls, none)
    security: ssl                   # ssl | starttls | none
    username: complaints@example.org
    password_env: COMPLAINTS_MAIL_PASSWORD
    folder: INBOX
    poll_seconds: 60
    thread_comments: true           # a reply to a mail taken becomes a comment on its record
    trusted_authserv_id: mx.example.org  # the receiving server whose Authentication-Results count
    fields:
      title: subject
      details: body                 # plain text; HTML is reduced to its text (scripts dropped)
      reporter: sender              # a person field: the person with that e-mail, only when the
                                    # receiving server vouched for the From: (trusted_authserv_id)
      reporter_name: sender_name
      received_at: received
      files: attachments
      mail_id: message_id
      channel: {value: 邮件}        # a constant
```

Words: `take` runs in one transaction: if the mail's Message-ID was taken before it writes
nothing; if the mail answers (In-Reply-To, References) a mail taken before, it becomes a
comment on that mail's record; else a record is created through the record service as the
mailbox's actor (audit and outbox in the same transaction), its attachments kept through
engine.attachments, and the Message-ID noted. A From: makes a person field name a person only
when the receiving server vouched for it (engine.mailauth: dmarc or spf pass for the From:
domain in the Authentication-Results of `trusted_authserv_id`); otherwise anyone could make a
record "reported by" a member of staff, so the person field stays empty and a text field
mapped to `sender` keeps the address. A mail that cannot be taken is noted by `fail`
(with its bytes, unless too large) and not tried again until `retry`.
"""

from __future__ import annotations

import base64
import email
import email.policy
import email.utils
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from email.message import EmailMessage
from email.message import Message as MimeMessage
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from engine import attachments, intake, mailauth
from engine import comments as comments_db
from engine import people as people_db
from engine.errors import GridbaseError, NotFoundError
from engine.hints import did_you_mean
from engine.ids import utcnow_text
from engine.interfaces import Workspace
from engine.model import BaseDef, FieldDef, WorkspaceConfig
from engine.schema import field_instance

if TYPE_CHECKING:
    from engine.sources import Source

SOURCES = ("attachments", "body", "message_id", "received", "sender", "sender_name", "subject")
SECURITIES = ("ssl", "starttls", "none")
MAX_MAIL_BYTES = 25 * 1024 * 1024  # a larger mail is noted as failed, not read
MAX_BODY_CHARS = 100_000
MAX_SUBJECT_CHARS = 500
MAX_ID_CHARS = 500
DEFAULT_POLL = 60


class MailError(GridbaseError):
    """A mail that cannot be taken (what is wrong with it is in the message)."""


@dataclass(frozen=True)
class MailboxDef:
    key: str
    base: str
    name: str
    table: str
    actor: str
    host: str
    username: str
    password_env: str
    security: str = "ssl"
    port: int = 993
    folder: str = "INBOX"
    poll_seconds: int = DEFAULT_POLL
    thread_comments: bool = True
    fields: dict[str, Any] = field(default_factory=dict)  # field key -> a SOURCES name, or {"value": constant}
    trusted_authserv_id: str | None = None  # whose Authentication-Results vouch for a From: (engine.mailauth)


@dataclass(frozen=True)
class Attachment:
    name: str
    type: str
    data: bytes


@dataclass
class Mail:
    """What a mail says, read safely from its bytes."""

    message_id: str
    subject: str = ""
    body: str = ""
    sender: str = ""
    sender_name: str = ""
    sender_vouched: bool = False  # the receiving server says the From: domain sent it (engine.mailauth)
    received: str | None = None  # ISO 8601 with its offset
    attachments: list[Attachment] = field(default_factory=list)
    replies_to: list[str] = field(default_factory=list)  # Message-IDs this mail answers, nearest first


@dataclass(frozen=True)
class Taken:
    record: str
    comment: int | None = None
    duplicate: bool = False


def build(base: str, raw: Any) -> dict[str, MailboxDef]:
    """The mailboxes of a base from its YAML (shape checked by the JSON Schema)."""
    boxes: dict[str, MailboxDef] = {}
    for key, m in (raw or {}).items():
        if not isinstance(m, dict):
            continue
        security = str(m.get("security", "ssl"))
        boxes[key] = MailboxDef(
            key=key, base=base, name=str(m.get("name", key)), table=str(m.get("table", "")),
            actor=str(m.get("actor", "")), host=str(m.get("host", "")), username=str(m.get("username", "")),
            password_env=str(m.get("password_env", "")), security=security,
            port=int(m.get("port", 993 if security == "ssl" else 143)), folder=str(m.get("folder", "INBOX")),
            poll_seconds=int(m.get("poll_seconds", DEFAULT_POLL)), thread_comments=bool(m.get("thread_comments", True)),
            fields=dict(m.get("fields") or {}),
            trusted_authserv_id=str(m["trusted_authserv_id"]) if m.get("trusted_authserv_id") else None)
    return boxes


def mailboxes_of(config: WorkspaceConfig) -> dict[str, MailboxDef]:
    """Every mailbox of the workspace by its name (names are unique across bases: checked)."""
    return {key: m for base in config.bases.values() for key, m in base.mailboxes.items()}


def target_of(box: MailboxDef) -> intake.Target:
    """Where a mailbox writes (engine.intake); a mailbox always creates (no key)."""
    return intake.Target(base=box.base, table=box.table, actor=box.actor, fields=box.fields)


# -- checks at load time -------------------------------------------------------------------------
def check(config: WorkspaceConfig, sources: list[Source]) -> None:
    """Report what is wrong with each mailbox, at its place in the YAML."""
    intake.report(config, sources, "mailboxes", lambda base: base.mailboxes,
                  lambda base, box: _problems(config, base, box),
                  unique=("mailbox", "`gridbase mail DIR` names mailboxes by their name: give each a name of its own"))


def _problems(config: WorkspaceConfig, base: BaseDef, box: MailboxDef) -> list[intake.Problem]:
    target = target_of(box)
    table, out = intake.table_of(base, target)
    if table is None:
        return out
    out += intake.actor_problems(config, target, "the mailbox")
    if box.security not in SECURITIES:
        out.append((("security",), f"unknown security '{box.security}'", "use ssl, starttls or none"))
    if not box.fields:
        out.append(((), "a mailbox needs fields: which field takes which part of a mail", ""))

    def source_problems(fkey: str, source: Any, fdef: FieldDef) -> list[intake.Problem]:
        if isinstance(source, str):
            if source not in SOURCES:
                return [(("fields", fkey), f"unknown part of a mail '{source}'",
                         did_you_mean(source, SOURCES) or "use one of " + ", ".join(SOURCES))]
            if (source == "attachments") != field_instance(fdef, config).files:
                return [(("fields", fkey), f"field '{fkey}' cannot take {source}",
                         "attachments go to an attachment field, and only there")]
            return []
        if not (isinstance(source, dict) and set(source) == {"value"}):
            return [(("fields", fkey), "map a field to a part of a mail (subject, body, sender, ...) or to a "
                                       "constant ({value: ...})", "")]
        return []

    return out + intake.field_problems(config, base, table, target, source_problems)


# -- reading a mail ------------------------------------------------------------------------------
class _Text(HTMLParser):
    """HTML reduced to its text: tags dropped, script and style dropped with their content."""

    SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})
    BREAK = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BREAK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BREAK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_text(html: str) -> str:
    """The text a person reads in `html` (no markup, no script)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return _tidy("".join(parser.parts))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _tidy(text: str) -> str:
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _header(msg: MimeMessage, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - a header the parser cannot read is a header left out
        return ""
    return _CONTROL.sub("", str(value or "")).strip()


_ID = re.compile(r"<([^<>\s]{1,500})>")  # MAX_ID_CHARS


def _ids(text: str) -> list[str]:
    return ["<" + found + ">" for found in _ID.findall(text)]


def _part_text(part: Any) -> str:
    try:
        content = part.get_content()
    except Exception:  # noqa: BLE001 - an unknown charset or a broken transfer encoding
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
    return content if isinstance(content, str) else bytes(content).decode("utf-8", "replace")


def message_id_of(raw: bytes) -> str:
    """The mail's Message-ID, or one made from its bytes when it has none."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    found = _ids(_header(msg, "Message-ID"))
    return found[0] if found else "<" + hashlib.sha256(raw).hexdigest() + "@gridbase.invalid>"


def parse(raw: bytes, trusted_authserv_id: str | None = None) -> Mail:
    """A mail's parts from its bytes; MailError when they are no mail at all. Its From: is
    vouched for only by the Authentication-Results of `trusted_authserv_id` (engine.mailauth)."""
    if len(raw) > MAX_MAIL_BYTES:
        raise MailError(code="mail_too_large", params={"mb": f"{MAX_MAIL_BYTES / 1024 / 1024:g}"})
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if not msg.keys():
        raise MailError(code="mail_unreadable")
    mail = Mail(message_id=message_id_of(raw), subject=_tidy(_header(msg, "Subject"))[:MAX_SUBJECT_CHARS])
    name, address = email.utils.parseaddr(_header(msg, "From"))
    mail.sender, mail.sender_name = address.strip().lower(), name.strip()
    mail.sender_vouched = mailauth.vouched_for(msg, mail.sender, trusted_authserv_id)
    try:
        moment = email.utils.parsedate_to_datetime(_header(msg, "Date"))
        mail.received = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
    except (TypeError, ValueError, IndexError):
        mail.received = None
    refs = _ids(_header(msg, "In-Reply-To")) + list(reversed(_ids(_header(msg, "References"))))
    mail.replies_to = list(dict.fromkeys(r for r in refs if r != mail.message_id))[:50]
    mail.body = _body(msg)[:MAX_BODY_CHARS]
    mail.attachments = _attachments(msg)
    return mail


def _body(msg: MimeMessage) -> str:
    part: Any = None
    if isinstance(msg, EmailMessage):
        try:
            part = msg.get_body(preferencelist=("plain", "html"))
        except Exception:  # noqa: BLE001 - a malformed structure: fall back to the first text part
            part = None
    if part is None:
        part = next((p for p in msg.walk() if p.get_content_maintype() == "text"), None)
    if part is None:
        return ""
    text = _part_text(part)
    return html_text(text) if part.get_content_subtype() == "html" else _tidy(text)


def _attachments(msg: MimeMessage) -> list[Attachment]:
    found: list[Attachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        try:
            disposition = part.get_content_disposition()
            name = part.get_filename()
        except Exception:  # noqa: BLE001
            continue
        if disposition != "attachment" and not name:
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        safe = re.sub(r"[\\/\x00-\x1f]", "_", str(name or "attachment")).strip()[:200] or "attachment"
        found.append(Attachment(safe, part.get_content_type()[:100], data))
    return found


# -- taking a mail -------------------------------------------------------------------------------
def known(ws: Workspace, mailbox: str, message_ids: list[str]) -> set[str]:
    """Which of these Message-IDs were taken or failed already (neither is read again)."""
    found: set[str] = set()
    with ws.storage.reading() as conn:
        for start in range(0, len(message_ids), 200):
            chunk = message_ids[start:start + 200]
            marks = ", ".join("?" for _ in chunk)
            for table in ("_gb_mail_seen", "_gb_mail_failed"):
                rows = conn.execute(f"SELECT message_id FROM {table} WHERE mailbox = ? AND message_id IN ({marks})",
                                    (mailbox, *chunk)).fetchall()
                found.update(r[0] for r in rows)
    return found


def _sender_value(ws: Workspace, mail: Mail, person_field: bool) -> Any:
    if not mail.sender:
        return None
    if person_field:
        if not mail.sender_vouched:
            return None  # a From: anyone could have written names nobody
        for person in people_db.everyone(ws.storage):
            if str(person.get("email") or "").strip().lower() == mail.sender and not person.get("disabled"):
                return person["key"]
        return None
    return mail.sender


def values_of(ws: Workspace, box: MailboxDef, mail: Mail) -> dict[str, Any]:
    """The fields a mail sets, attachments aside (a part the mail lacks is left out)."""
    table: Any = ws.base(box.base).table(box.table)  # the record service (engine.records.Table)
    values: dict[str, Any] = {}
    for fkey, source in box.fields.items():
        if isinstance(source, dict):
            values[fkey] = source.get("value")
            continue
        if source == "attachments":
            continue
        if source == "sender":
            value = _sender_value(ws, mail, table.fields[fkey].people)
        else:
            value = getattr(mail, source)
        if value not in (None, ""):
            values[fkey] = value
    return values


class _Seen:
    """`_gb_mail_seen` as the ledger of one mailbox (engine.intake.take_once)."""

    def __init__(self, box: MailboxDef, now: str) -> None:
        self.box, self.now = box, now

    def seen(self, conn: Any, ident: str) -> Taken | None:
        row = conn.execute("SELECT record, comment FROM _gb_mail_seen WHERE mailbox = ? AND message_id = ?",
                           (self.box.key, ident)).fetchone()
        return Taken(row[0], row[1], duplicate=True) if row is not None else None

    def note(self, conn: Any, ident: str, result: Taken) -> None:
        conn.execute("INSERT INTO _gb_mail_seen (mailbox, message_id, record, comment, at) VALUES (?, ?, ?, ?, ?)",
                     (self.box.key, ident, result.record, result.comment, self.now))
        conn.execute("DELETE FROM _gb_mail_failed WHERE mailbox = ? AND message_id = ?", (self.box.key, ident))


def take(ws: Workspace, box: MailboxDef, raw: bytes) -> Taken:
    """Take one mail (see the module's docstring); MailError or ValidationError when it cannot be."""
    mail = parse(raw, box.trusted_authserv_id)
    table: Any = ws.base(box.base).table(box.table)  # the record service (engine.records.Table)
    actor = ws.actor(box.actor)
    files: list[attachments.Incoming] = []

    def apply() -> Taken:
        parent = _thread_record(ws, box, mail) if box.thread_comments else None
        if parent is not None:
            text = "\n\n".join(t for t in (mail.subject, mail.body) if t) or mail.message_id
            return Taken(parent, comments_db.add(table, parent, text, actor=actor))
        values = values_of(ws, box, mail)
        for fkey, source in box.fields.items():
            if source == "attachments" and mail.attachments:
                values[fkey] = _keep(ws, box, fkey, mail, files)
        return Taken(intake.write(ws, target_of(box), values, actor)[0])

    try:
        return intake.take_once(ws, _Seen(box, utcnow_text(ws.now())), mail.message_id, apply)[0]
    except BaseException:
        attachments.discard(ws, files)
        raise


def _thread_record(ws: Workspace, box: MailboxDef, mail: Mail) -> str | None:
    """The record of the nearest mail this one answers, if the actor may still read it."""
    table: Any = ws.base(box.base).table(box.table)  # the record service (engine.records.Table)
    for ref in mail.replies_to:
        row = ws.storage.conn.execute("SELECT record FROM _gb_mail_seen WHERE mailbox = ? AND message_id = ?",
                                      (box.key, ref)).fetchone()
        if row is None:
            continue
        try:
            table.get(row[0], actor=box.actor)
        except NotFoundError:
            continue
        return str(row[0])
    return None


def _keep(ws: Workspace, box: MailboxDef, fkey: str, mail: Mail, files: list[attachments.Incoming]) -> list[Any]:
    table: Any = ws.base(box.base).table(box.table)  # the record service (engine.records.Table)
    label = table.tdef.fields[fkey].name
    limit = int(attachments.Limits.of(ws).max_size_mb * 1024 * 1024)
    for att in mail.attachments:
        files.append(attachments.receive(ws, io.BytesIO(att.data), name=att.name, mime=att.type, key=fkey,
                                         label=label, max_bytes=limit))
    return attachments.keep(ws, files, actor=ws.actor(box.actor), base=box.base, table=box.table, field=fkey,
                            label=label, now=utcnow_text(ws.now()))


# -- dead letters --------------------------------------------------------------------------------
def fail(ws: Workspace, box: MailboxDef, message_id: str, raw: bytes | None, error: str) -> int:
    """Note a mail that could not be taken (its bytes kept unless None); return its id."""
    now = utcnow_text(ws.now())
    kept = base64.b64encode(raw).decode("ascii") if raw is not None and len(raw) <= MAX_MAIL_BYTES else None
    with ws.storage.transaction() as conn:
        row = conn.execute("SELECT id FROM _gb_mail_failed WHERE mailbox = ? AND message_id = ?",
                           (box.key, message_id)).fetchone()
        if row is not None:
            conn.execute("UPDATE _gb_mail_failed SET error = ?, at = ?, attempts = attempts + 1 WHERE id = ?",
                         (error[:2000], now, row[0]))
            return int(row[0])
        cur = conn.execute("INSERT INTO _gb_mail_failed (mailbox, message_id, raw, error, at, attempts) "
                           "VALUES (?, ?, ?, ?, ?, 1)", (box.key, message_id, kept, error[:2000], now))
        return int(cur.lastrowid or 0)


class FailedLog:
    """`_gb_mail_failed` as a log engine.retention archives and removes (`retention: mail_failed:`), by
    the time of each dead letter's last try. A removed dead letter is noted as seen (with no record),
    so the poller does not read it from the server again."""

    COLUMNS = ("id", "mailbox", "message_id", "raw", "error", "at", "attempts")

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def due(self, cutoff: str) -> tuple[int, str | None, str | None]:
        """(count, first, last time) of the dead letters last tried before `cutoff`."""
        with self.ws.storage.reading() as conn:
            row = conn.execute("SELECT count(*), min(at), max(at) FROM _gb_mail_failed WHERE at < ?",
                               (cutoff,)).fetchone()
        return int(row[0]), row[1], row[2]

    def due_rows(self, cutoff: str) -> Iterator[tuple[Any, ...]]:
        """Every column of those dead letters, by id."""
        with self.ws.storage.reading() as conn:
            rows = conn.execute(f"SELECT {', '.join(self.COLUMNS)} FROM _gb_mail_failed WHERE at < ? ORDER BY id",
                                (cutoff,)).fetchall()
        yield from (tuple(r) for r in rows)

    def remove(self, ids: list[int]) -> None:
        """Inside the caller's transaction: remove archived dead letters, each noted as seen."""
        if not ids:
            return
        conn = self.ws.storage.conn
        marks = ", ".join("?" for _ in ids)
        now = utcnow_text(self.ws.now())
        for mailbox, message_id in conn.execute(f"SELECT mailbox, message_id FROM _gb_mail_failed WHERE id IN ({marks})",
                                                tuple(ids)).fetchall():
            conn.execute("DELETE FROM _gb_mail_seen WHERE mailbox = ? AND message_id = ?", (mailbox, message_id))
            conn.execute("INSERT INTO _gb_mail_seen (mailbox, message_id, record, comment, at) VALUES (?, ?, ?, ?, ?)",
                         (mailbox, message_id, "", None, now))
        conn.execute(f"DELETE FROM _gb_mail_failed WHERE id IN ({marks})", tuple(ids))


def failed(ws: Workspace, mailbox: str | None = None) -> list[dict[str, Any]]:
    """The dead letters (id, mailbox, message_id, error, at, attempts, kept), oldest first."""
    sql = "SELECT id, mailbox, message_id, error, at, attempts, raw IS NOT NULL FROM _gb_mail_failed"
    params: tuple[Any, ...] = ()
    if mailbox is not None:
        sql, params = sql + " WHERE mailbox = ?", (mailbox,)
    with ws.storage.reading() as conn:
        rows = conn.execute(sql + " ORDER BY id", params).fetchall()
    return [{"id": int(r[0]), "mailbox": r[1], "message_id": r[2], "error": r[3], "at": r[4], "attempts": int(r[5]),
             "kept": bool(r[6])} for r in rows]


def retry(ws: Workspace, ident: int) -> Taken:
    """Take a dead letter again; on success it leaves the list, else its error is updated and raised."""
    row = ws.storage.conn.execute("SELECT mailbox, message_id, raw FROM _gb_mail_failed WHERE id = ?",
                                  (ident,)).fetchone()
    if row is None:
        raise MailError(code="mail_failed_unknown", params={"id": ident})
    box = mailboxes_of(ws.config).get(row[0])
    if box is None:
        raise MailError(code="mail_mailbox_unknown", params={"mailbox": row[0]})
    if row[2] is None:
        raise MailError(code="mail_not_kept", params={"id": ident})
    raw = base64.b64decode(row[2])
    try:
        return take(ws, box, raw)
    except GridbaseError as exc:
        fail(ws, box, row[1], raw, str(exc))
        raise
