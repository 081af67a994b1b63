"""The mailbox poller: reads each mailbox of `mailboxes:` over IMAP and hands new mails to the engine.

`fetch(ws, box)` connects (ssl, starttls or none), selects the folder read-only (flags are
left as they are: which mails were taken is engine.mailintake's record of taken mails, by Message-ID),
asks for every message's size and Message-ID, and fetches only the ones neither taken nor
failed before; each goes to engine.mailintake.take, and one that cannot be taken (too large,
unreadable, refused by the table) to its dead-letter list. A crash between a mail's write and
the next is harmless: the next pass finds its Message-ID taken.

`start(ws)` runs a thread for the server that fetches every mailbox each `poll_seconds`
(`gridbase serve` starts it beside the outbox worker); `gridbase mail DIR fetch` runs one pass.
Where the server supports IMAP IDLE (RFC 2177, its CAPABILITY says IDLE; Dovecot does), a
watcher thread per mailbox keeps a connection idling and, when the server announces a new
mail (`* N EXISTS`), has that mailbox read at once; polling stays, as the fallback for servers
without IDLE and for a watcher whose connection broke (it reconnects after `poll_seconds`).
imaplib has no IDLE, so `idle` speaks it over imaplib's connection: `TAG IDLE`, the server's
`+` continuation, untagged lines until news or the renewal time, then `DONE` and the tagged OK.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import os
import re
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine import mailintake
from engine.errors import GridbaseError
from engine.mailintake import MailboxDef, MailError

if TYPE_CHECKING:
    from engine.workspace import Workspace

log = logging.getLogger(__name__)

TIMEOUT = 30.0  # seconds a server may keep us waiting
IDLE_RENEW = 25 * 60.0  # seconds: an IDLE is ended and sent again before servers drop it (RFC 2177: 29 min)
IDLE_TICK = 1.0  # seconds between looks at the stop flag while idling
BATCH = 200
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_UID = re.compile(rb"UID (\d+)")


@dataclass
class Pass:
    """What one pass over a mailbox did."""

    mailbox: str
    records: list[str] = field(default_factory=list)
    comments: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # Message-IDs sent to the dead letters
    skipped: int = 0  # taken or failed before

    def summary(self) -> str:
        return (f"{self.mailbox}: {len(self.records)} record(s), {len(self.comments)} comment(s), "
                f"{len(self.failed)} failed, {self.skipped} seen before")


def connect(box: MailboxDef) -> imaplib.IMAP4:
    """A logged-in connection with the folder selected read-only; MailError saying why not."""
    password = os.environ.get(box.password_env)
    if not password:
        raise MailError(code="mail_password_missing", params={"mailbox": box.key, "variable": box.password_env})
    conn: imaplib.IMAP4 | None = None
    try:
        if box.security == "ssl":
            conn = imaplib.IMAP4_SSL(box.host, box.port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT)
        else:
            conn = imaplib.IMAP4(box.host, box.port, timeout=TIMEOUT)
            if box.security == "starttls":
                conn.starttls(ssl.create_default_context())
        conn.login(box.username, password)
        typ, data = conn.select(_quoted(box.folder), readonly=True)
        if typ != "OK":
            raise imaplib.IMAP4.error(_said(data))
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
        if conn is not None:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                conn.shutdown()
        raise MailError(code="mail_connect_failed", params={"mailbox": box.key, "host": f"{box.host}:{box.port}",
                                                            "problem": str(exc) or type(exc).__name__}) from None
    return conn


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _said(data: list[object]) -> str:
    return " ".join(d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data if d)


def supports_idle(conn: imaplib.IMAP4) -> bool:
    """Whether the server offers IDLE (asked again after login, when servers list all they offer)."""
    typ, data = conn.capability()
    words = b" ".join(d for d in data if isinstance(d, bytes)).upper().split() if typ == "OK" else []
    return b"IDLE" in words


class _Lines:
    """Lines read straight from the connection's socket with select(), so that waiting can look at
    the stop flag each IDLE_TICK (a timeout on imaplib's file object would spoil it for good)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def line(self, stop: threading.Event | None, deadline: float) -> bytes | None:
        """The next line, or None when `stop` was set or the deadline passed first."""
        while b"\n" not in self.buffer:
            if (stop is not None and stop.is_set()) or time.monotonic() >= deadline:
                return None
            pending = self.sock.pending() if isinstance(self.sock, ssl.SSLSocket) else 0
            if not pending and not select.select([self.sock], [], [], IDLE_TICK)[0]:
                continue
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("the server closed the connection")
            self.buffer += chunk
            if len(self.buffer) > 1_000_000:
                raise imaplib.IMAP4.error("the server sent a line longer than 1 MB while idling")
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"


def idle(conn: imaplib.IMAP4, stop: threading.Event, renew: float = IDLE_RENEW) -> bool:
    """Idle on the selected folder until the server announces a new mail (True), or `renew` seconds
    passed or `stop` was set (False); the IDLE is ended with DONE either way. OSError or
    imaplib.IMAP4.error when the connection broke or the server refused."""
    tag = conn._new_tag()  # noqa: SLF001 - imaplib has no public way to send a command it does not know
    lines = _Lines(conn.socket())
    conn.send(tag + b" IDLE\r\n")
    first = lines.line(None, time.monotonic() + TIMEOUT)
    if first is None or not first.startswith(b"+"):
        said = (first or b"no answer").decode("utf-8", "replace").strip()
        raise imaplib.IMAP4.error(f"the server refused IDLE: {said}")
    news = False
    deadline = time.monotonic() + renew
    while (line := lines.line(stop, deadline)) is not None:
        upper = line.rstrip().upper()
        if upper.startswith(b"* BYE"):
            raise OSError(line.decode("utf-8", "replace").strip())
        if upper.startswith(b"* ") and upper.endswith((b" EXISTS", b" RECENT")):
            news = True
            break
    conn.send(b"DONE\r\n")
    answer_by = time.monotonic() + TIMEOUT
    while (line := lines.line(None, answer_by)) is not None:  # untagged lines may come before the tagged end
        if line.startswith(tag + b" "):
            if not line[len(tag) + 1:].upper().startswith(b"OK"):
                raise imaplib.IMAP4.error(line.decode("utf-8", "replace").strip())
            if lines.buffer:
                raise imaplib.IMAP4.error("the server sent more after ending IDLE")
            return news
    raise OSError("the server did not end the IDLE")


def fetch(ws: Workspace, box: MailboxDef) -> Pass:
    """One pass over a mailbox (see the module's docstring)."""
    done = Pass(box.key)
    conn = connect(box)
    try:
        typ, data = conn.uid("SEARCH", "ALL")
        uids = [int(u) for u in (data[0] or b"").split()] if typ == "OK" and data else []
        for start in range(0, len(uids), BATCH):
            _batch(ws, box, conn, uids[start:start + BATCH], done)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailError(code="mail_connect_failed", params={"mailbox": box.key, "host": f"{box.host}:{box.port}",
                                                            "problem": str(exc) or type(exc).__name__}) from None
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            conn.logout()
    return done


def _batch(ws: Workspace, box: MailboxDef, conn: imaplib.IMAP4, uids: list[int], done: Pass) -> None:
    wanted = ",".join(str(u) for u in uids)
    typ, data = conn.uid("FETCH", wanted, "(RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    if typ != "OK":
        raise imaplib.IMAP4.error(_said(data))
    heads: dict[int, tuple[int, str]] = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        uid, size = _UID.search(item[0]), _SIZE.search(item[0])
        if uid is None:
            continue
        ids = mailintake.message_id_of(item[1]) if b"<" in item[1] else ""
        heads[int(uid.group(1))] = (int(size.group(1)) if size else 0, ids if "@gridbase.invalid" not in ids else "")
    seen = mailintake.known(ws, box.key, [mid for _, mid in heads.values() if mid])
    for uid, (size, mid) in sorted(heads.items()):
        if mid and mid in seen:
            done.skipped += 1
            continue
        if size > mailintake.MAX_MAIL_BYTES:
            problem = MailError(code="mail_too_large", params={"mb": f"{mailintake.MAX_MAIL_BYTES / 1024 / 1024:g}"})
            mailintake.fail(ws, box, mid or f"<uid-{uid}@{box.key}.gridbase.invalid>", None, str(problem))
            done.failed.append(mid)
            continue
        raw = _whole(conn, uid)
        if raw is None:
            continue
        if not mid:  # no Message-ID: named by its bytes, so it too is taken once
            mid = mailintake.message_id_of(raw)
            if mailintake.known(ws, box.key, [mid]):
                done.skipped += 1
                continue
        _take(ws, box, raw, mid, done)


def _whole(conn: imaplib.IMAP4, uid: int) -> bytes | None:
    typ, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
    if typ != "OK":
        raise imaplib.IMAP4.error(_said(data))
    for item in data:
        if isinstance(item, tuple):
            return bytes(item[1])
    return None  # expunged meanwhile


def _take(ws: Workspace, box: MailboxDef, raw: bytes, mid: str, done: Pass) -> None:
    try:
        taken = mailintake.take(ws, box, raw)
    except GridbaseError as exc:
        mailintake.fail(ws, box, mid, raw, str(exc))
        done.failed.append(mid)
        log.warning("mailbox %s: mail %s went to the failed list: %s", box.key, mid, exc)
        return
    if taken.duplicate:
        done.skipped += 1
    elif taken.comment is not None:
        done.comments.append(taken.comment)
    else:
        done.records.append(taken.record)


# -- the server's thread ---------------------------------------------------------------------------
class Poller:
    """Fetches every mailbox of a workspace each `poll_seconds` until stopped."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.boxes = enabled(ws)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gridbase-mail", daemon=True)
        self._watchers = [threading.Thread(target=self._watch, args=(box,), name=f"gridbase-mail-idle-{key}",
                                           daemon=True) for key, box in self.boxes.items()]
        self._last_problem: dict[str, str] = {}
        self._news: set[str] = set()  # mailboxes whose server announced a new mail
        self._lock = threading.Lock()
        self.idling: set[str] = set()  # mailboxes whose watcher is idling now

    def start(self) -> None:
        self._thread.start()
        for watcher in self._watchers:
            watcher.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        for watcher in self._watchers:
            watcher.join(timeout)

    def wake(self, mailbox: str | None = None) -> None:
        """Read a mailbox (every mailbox) now rather than at its next turn."""
        with self._lock:
            self._news.update([mailbox] if mailbox is not None else self.boxes)
        self._wake.set()

    def _run(self) -> None:
        due = dict.fromkeys(self.boxes, 0.0)
        while not self._stop.is_set():
            self._wake.clear()
            with self._lock:
                news, self._news = self._news, set()
            for key, box in self.boxes.items():
                if self._stop.is_set():
                    return
                if key in news or due[key] <= time.monotonic():
                    self.once(box)
                    due[key] = time.monotonic() + max(1, box.poll_seconds)
            self._wake.wait(1.0)

    def _watch(self, box: MailboxDef) -> None:
        """Idle on the mailbox while its server offers IDLE, waking the poller at each new mail."""
        while not self._stop.is_set():
            try:
                conn = connect(box)
            except (TimeoutError, GridbaseError):
                self._stop.wait(max(1, box.poll_seconds))  # the poller reports why, once
                continue
            try:
                if not supports_idle(conn):
                    log.info("mailbox %s: the server does not offer IDLE; it is read every %s s", box.key,
                             box.poll_seconds)
                    return
                while not self._stop.is_set():
                    self.idling.add(box.key)
                    if idle(conn, self._stop):
                        self.wake(box.key)
            except (OSError, imaplib.IMAP4.error) as exc:
                log.info("mailbox %s: IDLE ended (%s); reading every %s s until it is back", box.key, exc,
                         box.poll_seconds)
                self._stop.wait(max(1, box.poll_seconds))
            finally:
                self.idling.discard(box.key)
                try:
                    conn.logout()
                except (OSError, imaplib.IMAP4.error):
                    with contextlib.suppress(OSError):
                        conn.shutdown()  # a broken connection is closed all the same

    def once(self, box: MailboxDef) -> Pass | None:
        """One pass; a failure is logged once while it lasts (no traceback), and the poller goes on."""
        try:
            done = fetch(self.ws, box)
        except (TimeoutError, GridbaseError) as exc:
            if self._last_problem.get(box.key) != str(exc):
                log.warning("%s", exc)
            self._last_problem[box.key] = str(exc)
            return None
        except Exception:  # noqa: BLE001 - an unforeseen failure must not end the poller's thread
            log.exception("mailbox %s: the pass failed; the next one runs at its turn", box.key)
            return None
        self._last_problem.pop(box.key, None)
        return done


_pollers: list[Poller] = []


def enabled(ws: Workspace) -> dict[str, MailboxDef]:
    """The mailboxes the server reads: those whose password variable is set (a mailbox declared for
    every installation, like the dental example's, is off where its password is not given)."""
    boxes = {}
    for key, box in mailintake.mailboxes_of(ws.config).items():
        if os.environ.get(box.password_env):
            boxes[key] = box
        else:
            log.info("mailbox %s is off: the environment variable %s (its password) is not set", key,
                     box.password_env)
    return boxes


def start(ws: Workspace) -> Poller | None:
    """Start polling the workspace's mailboxes (None when none is on)."""
    if not enabled(ws):
        return None
    poller = Poller(ws)
    poller.start()
    _pollers.append(poller)
    return poller


def stop() -> None:
    """Stop every poller started by `start`."""
    while _pollers:
        _pollers.pop().stop()
