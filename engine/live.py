"""Live updates: the in-process hub that tells every open page what committed writes changed,
each page as its viewer may see it.

Words: a *watcher* is one open page (a stream of the web app): the person and session it
belongs to, the table it shows (and the record, on a record page) and `send`, which queues a
*message* (a kind and a JSON-ready dict) for that page without blocking. The hub's thread
reads committed outbox events (`Outbox.since`; an import's, once released) whenever a
commit wakes it and every `POLL_SECONDS` anyway (writes of other processes), and turns them
into messages *per viewer*:

- `changes`: `{"table", "records": [{"id", "kind", "fields", "by"}], "created", "deleted"}`
  — only records the viewer may read (a deleted one: that they could read), only fields they
  may read (a record whose change touched nothing they may read is not mentioned at all),
  never a value: the page fetches the record's cells as its viewer (`…/cells`);
- `inbox`: `{"unread": n}` when the person's notifications change;
- `presence`: `{"record", "field", "who", "on"}`: someone else edits a cell the viewer may
  read; an edit not confirmed (`editing`) within `PRESENCE_SECONDS` ends by itself;
- `notice`: `{"record", "field", "field_name", "by"}`: someone changed a field after this
  person saved it (within `OVERWRITE_SECONDS`): the later save wins, the earlier editor is told;
- `reload`: more changed than a message carries; the page should reload its rows.

A watcher whose session has ended (signed out, expired, person disabled) is ended before
anything more is sent to it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine import inbox, liveview, sessions
from engine import people as people_db
from engine.errors import GridbaseError
from engine.outbox import Event
from engine.permissions import Actor
from engine.stores import CLOSED_ERRORS

if TYPE_CHECKING:
    from engine.records import Table
    from engine.workspace import Workspace

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5  # between looks at the outbox without a wake-up (writes of other processes)
IDLE_SECONDS = 2.0  # the same while nobody watches
PRESENCE_SECONDS = 30.0  # an edit shown to others ends unless confirmed again within this
OVERWRITE_SECONDS = 300.0  # a later change by someone else within this is told to the earlier editor
SESSION_SECONDS = 5.0  # sessions of idle streams are checked this often
BATCH = 1000  # events read at a time
ROUNDS = 20  # batches read in one round at most (the rest in the next round)
MAX_WRITERS = 50_000  # (record, field) last writers remembered for overwrite notices


@dataclass(eq=False)
class Watcher:
    """One open page: whose it is and what it shows."""

    person: str
    session: str  # the id hash of its session
    send: Callable[[str, dict[str, Any]], None]  # never blocks (the page's queue decides what to drop)
    end: Callable[[], None]
    base: str | None = None
    table: str | None = None
    record: str | None = None
    view: str | None = None  # new records are counted only if they are in it (its filter, as this person)
    fresh: bool = field(default=True)  # not yet sent the presence already under way


@dataclass
class _Editing:
    person: str
    name: str
    until: float


class Hub:
    """The live hub of one workspace: watchers, who edits what, and the thread that tells them."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._watchers: list[Watcher] = []
        self._editing: dict[tuple[str, str, str, str], _Editing] = {}
        self._presence_out: list[tuple[str, str, str, str, str, str, bool]] = []
        self._released: list[int] = []
        self._read: set[str] = set()
        self._writers: dict[tuple[str, str, str, str], tuple[str, float]] = {}
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._seen = 0
        self._inbox_seen = 0
        self._checked = 0.0

    # -- life ---------------------------------------------------------------------------
    def start(self) -> None:
        """Begin listening to commits (idempotent)."""
        with self._lock:
            if self._thread is not None:
                return
            self._stopping = False
            self._seen = self.ws.outbox.newest_id()
            self._inbox_seen = inbox.newest_id(self.ws.storage)
            self.ws.outbox.listeners.append(self._on_commit)
            self.ws.outbox.release_listeners.append(self._on_release)
            inbox.listen(self.ws.storage, self._on_read)
            self._thread = threading.Thread(target=self._run, name="gridbase-live", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop the thread and end every watcher's stream."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stopping = True
            watchers, self._watchers = self._watchers, []
        if self._on_commit in self.ws.outbox.listeners:
            self.ws.outbox.listeners.remove(self._on_commit)
        if self._on_release in self.ws.outbox.release_listeners:
            self.ws.outbox.release_listeners.remove(self._on_release)
        inbox.unlisten(self.ws.storage, self._on_read)
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        for watcher in watchers:
            watcher.end()

    def watch(self, watcher: Watcher) -> None:
        self.start()
        with self._lock:
            self._watchers.append(watcher)
        self._wake.set()

    def unwatch(self, watcher: Watcher) -> None:
        with self._lock:
            if watcher in self._watchers:
                self._watchers.remove(watcher)

    def count(self, person: str | None = None) -> int:
        """Open watchers (of `person`, or everyone's)."""
        with self._lock:
            return sum(1 for w in self._watchers if person is None or w.person == person)

    # -- what pages tell ----------------------------------------------------------------
    def editing(self, actor: Actor, table: Table, record: str, key: str, on: bool) -> bool:
        """`actor` starts (or confirms) or stops editing field `key` of `record`; False when
        they may not read it (nothing is recorded)."""
        access = table.access(actor)
        if key not in table.fields or not access.readable(key) or not liveview.readable_ids(table, access, actor, [record]):
            return False
        slot = (table.base.key, table.key, record, key)
        with self._lock:
            was = self._editing.get(slot)
            if on:
                self._editing[slot] = _Editing(actor.key, actor.name, time.monotonic() + PRESENCE_SECONDS)
                if was is None or was.person != actor.key:
                    self._presence_out.append((*slot, actor.key, actor.name, True))
            elif was is not None and was.person == actor.key:
                del self._editing[slot]
                self._presence_out.append((*slot, actor.key, actor.name, False))
        self._wake.set()
        return True

    # -- listeners (on the committing thread: only note and wake) -------------------------
    def _on_commit(self, _last: int) -> None:
        self._wake.set()

    def _on_release(self, ids: list[int]) -> None:
        with self._lock:
            self._released += ids
        self._wake.set()

    def _on_read(self, person: str) -> None:
        with self._lock:
            self._read.add(person)
        self._wake.set()

    # -- the thread -----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(POLL_SECONDS if self._watchers else IDLE_SECONDS)
            self._wake.clear()
            if self._stopping:
                break
            try:
                self.tick()
            except CLOSED_ERRORS:  # the workspace was closed under us: nothing more to tell
                break
            except Exception:  # noqa: BLE001 - a bad round must not end live updates for everyone
                log.exception("live updates: a round failed")

    def tick(self) -> None:
        """One round: read what was committed, end dead sessions, tell each watcher its part."""
        with self._lock:
            released, self._released = self._released, []
            read, self._read = self._read, set()
            presence, self._presence_out = self._presence_out, []
            watchers = list(self._watchers)
        presence += self._expire()
        events = self.ws.outbox.these([i for i in released if i <= self._seen]) if released else []
        for _ in range(ROUNDS):
            more, reached = self.ws.outbox.since(self._seen, limit=BATCH)
            if reached == self._seen:
                break
            self._seen = reached
            events += more
            if len(more) < BATCH:
                # Everything committed when it was read (events held for an import, passed over, may
                # make a full batch look short: the rest is read next round, nothing is missed).
                break
        newest = inbox.newest_id(self.ws.storage)
        if newest > self._inbox_seen:
            read |= inbox.people_since(self.ws.storage, self._inbox_seen)
            self._inbox_seen = newest
        if not watchers:
            self._remember(events)
            return
        now = time.monotonic()
        busy = bool(events or read or presence or any(w.fresh for w in watchers))
        if busy or now - self._checked > SESSION_SECONDS:
            watchers = self._living(watchers)
            self._checked = now
        if not watchers:
            self._remember(events)
            return
        actors = self._actors({w.person for w in watchers})
        watchers = [w for w in watchers if w.person in actors]
        if events:
            self._tell_changes(watchers, actors, events)
        read |= {w.person for w in watchers if w.fresh}  # a page just opened: the count as it is now
        for person in read:
            mine = [w for w in watchers if w.person == person]
            if mine:
                count = inbox.unread(self.ws.storage, person)
                for w in mine:
                    w.send("inbox", {"unread": count})
        self._tell_presence(watchers, actors, presence)

    # -- sessions and people --------------------------------------------------------------
    def _living(self, watchers: list[Watcher]) -> list[Watcher]:
        alive = sessions.alive(self.ws, {w.session for w in watchers})
        out = []
        for w in watchers:
            if w.session in alive:
                out.append(w)
            else:
                self.unwatch(w)
                w.end()
        return out

    def _actors(self, people: Iterable[str]) -> dict[str, Actor]:
        out = {}
        for key in people:
            try:
                out[key] = self.ws.actor(key)
            except GridbaseError:
                continue
        return out

    def _name(self, key: str, base: str) -> str:
        """Who made a change, as people see them named (an automation by its name)."""
        if key.startswith("automation:"):
            bdef = self.ws.config.bases.get(base)
            auto = bdef.automations.get(key.split(":", 1)[1]) if bdef is not None else None
            return auto.name if auto is not None else key.split(":", 1)[1]
        person = self.ws.config.people.get(key)
        if person is not None:
            return person.name
        row = people_db.get(self.ws.storage, key)
        return str(row["name"]) if row else ""

    # -- changes --------------------------------------------------------------------------
    def _tell_changes(self, watchers: list[Watcher], actors: dict[str, Actor], events: list[Event]) -> None:
        by_table: dict[tuple[str, str], list[Event]] = {}
        for ev in events:
            if ev.record:
                by_table.setdefault((ev.base, ev.table), []).append(ev)
        for (base, key), evs in by_table.items():
            table = self._table(base, key)
            if table is None:
                continue
            notices = self._overwrites(table, evs)
            mine = [w for w in watchers if w.base == base and w.table == key]
            for person in {w.person for w in mine} | set(notices):
                actor = actors.get(person)
                if actor is None:
                    continue
                seen = liveview.as_seen_by(table, actor, evs, self._name)
                in_view: dict[str, dict[str, Any]] = {}
                for w in mine:
                    if w.person != person or seen is None:
                        continue
                    part = seen if w.record is None else liveview.only_record(seen, w.record)
                    if part is not None and w.view and part[0] == "changes" and part[1]["created"]:
                        if w.view not in in_view:
                            in_view[w.view] = {**part[1], "created": liveview.in_view(table, actor, w.view, part[1]["created"])}
                        data = in_view[w.view]
                        part = ("changes", data) if data["records"] or data["created"] or data["deleted"] else None
                    if part is not None:
                        w.send(*part)
                told = notices.get(person)
                if told:
                    self._tell_notices(table, actor, told, [w for w in watchers if w.person == person])

    def _table(self, base: str, key: str) -> Table | None:
        try:
            return self.ws.base(base).table(key)
        except GridbaseError:
            return None

    def _overwrites(self, table: Table, events: list[Event]) -> dict[str, list[tuple[str, str, str]]]:
        """Earlier editors whose saves these events changed: person → (record, field, by)."""
        out: dict[str, list[tuple[str, str, str]]] = {}
        now = time.monotonic()
        for ev in events:
            if ev.kind != "updated" or not ev.record:
                continue
            for key in ev.changes:
                fld = table.fields.get(key)
                if fld is None or fld.computed:
                    continue
                slot = (ev.base, ev.table, ev.record, key)
                before = self._writers.pop(slot, None)
                if before is not None and before[0] != ev.actor and now - before[1] < OVERWRITE_SECONDS:
                    out.setdefault(before[0], []).append((ev.record, key, self._name(ev.actor, ev.base)))
                if not ev.actor.startswith("automation:") and ev.actor != "system":
                    self._writers[slot] = (ev.actor, now)
        self._trim_writers()
        return out

    def _remember(self, events: list[Event]) -> None:
        """Who last saved which field, also while nobody watches (for overwrite notices)."""
        by_table: dict[tuple[str, str], list[Event]] = {}
        for ev in events:
            by_table.setdefault((ev.base, ev.table), []).append(ev)
        for (base, key), evs in by_table.items():
            table = self._table(base, key)
            if table is not None:
                self._overwrites(table, evs)

    def _trim_writers(self) -> None:
        """Forget saves too old to matter; past MAX_WRITERS, the oldest fifth too."""
        if len(self._writers) <= MAX_WRITERS:
            return
        now = time.monotonic()
        for slot, (_, at) in list(self._writers.items()):
            if now - at >= OVERWRITE_SECONDS:
                del self._writers[slot]
        if len(self._writers) > MAX_WRITERS:
            newest = sorted(self._writers.items(), key=lambda kv: kv[1][1])[MAX_WRITERS // 5:]
            self._writers = dict(newest)

    def _tell_notices(self, table: Table, actor: Actor, told: list[tuple[str, str, str]], watchers: list[Watcher]) -> None:
        access = table.access(actor)
        readable = liveview.readable_ids(table, access, actor, [r for r, _, _ in told])
        for record, key, by in told:
            if record in readable and access.readable(key):
                for w in watchers:
                    w.send("notice", {"table": f"{table.base.key}/{table.key}", "record": record, "field": key,
                                      "field_name": table.tdef.fields[key].name, "by": by})

    # -- presence -------------------------------------------------------------------------
    def _expire(self) -> list[tuple[str, str, str, str, str, str, bool]]:
        now = time.monotonic()
        out = []
        with self._lock:
            for slot, who in list(self._editing.items()):
                if who.until < now:
                    del self._editing[slot]
                    out.append((*slot, who.person, who.name, False))
        return out

    def _tell_presence(self, watchers: list[Watcher], actors: dict[str, Actor],
                       changes: list[tuple[str, str, str, str, str, str, bool]]) -> None:
        fresh = [w for w in watchers if w.fresh]
        if fresh:
            with self._lock:
                current = [(*slot, who.person, who.name, True) for slot, who in self._editing.items()]
        for w in watchers:
            todo = changes + (current if w.fresh else [])
            w.fresh = False
            if not todo:
                continue
            actor = actors[w.person]
            for base, key, record, fkey, person, name, on in todo:
                if person == w.person or w.base != base or w.table != key or (w.record and w.record != record):
                    continue
                table = self._table(base, key)
                if table is None:
                    continue
                access = table.access(actor)
                if not access.readable(fkey) or not liveview.readable_ids(table, access, actor, [record]):
                    continue
                w.send("presence", {"record": record, "field": fkey, "who": name, "on": on})
