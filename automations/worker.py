"""The outbox worker: turns record events into automation runs, and runs the delivery queue.

Every write appends an event to the outbox in its own transaction (engine.outbox owns it).
`process_pending` takes unprocessed events in id order; for each it matches every enabled
automation of the event's base, checks its `if`, executes the run, and marks the event
processed — all in one transaction, so a crash either leaves the event pending (and nothing
of its runs written) or done (and everything written). Run keys are unique, so even two
workers cannot run an automation twice for one event.

That transaction holds the database's one write lock, which every other writer (of this
process and of the others on the database) waits for: what only reads and decides nothing
is asked before it opens (which bases have webhooks at all, which of the runs were recorded
already: `_ran_before` says why that read may come first), what is asked of each event inside
it is asked once for the batch (the people the runs notify), and the events are claimed and
marked processed together, in one statement at its start.

`start(ws)` runs this in a background thread for the server: woken by the outbox's
listeners as soon as a write's transaction has committed — in this process, or in another
process on the same PostgreSQL database (the outbox's `listen_across`) — and every second anyway
(for deliveries waiting out a backoff). It also starts the scheduler, and the mailboxes'
poller (automations.mailpoll) when the workspace has mailboxes. `stop()` ends them all.

Several processes on one database: each event is handled inside a transaction holding the
database's writer lock, and claimed there (`Outbox.claim`, `FOR UPDATE SKIP LOCKED` on PostgreSQL),
so exactly one process runs its automations; scheduled and date automations are checked inside
such a transaction too (their fired marks and the unique run keys, engine.runs), so they fire once.

Each event also becomes a payload of every API webhook it matches (engine.webhooks), in the
same transaction, and the webhook's ping joins the delivery queue.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from automations import delivery, mailpoll
from automations.recipients import PeopleOfTransaction
from automations.runner import (
    MAX_DEPTH,
    Start,
    already_ran_among,
    describe,
    execute,
    make_key,
    triggered_by,
)
from automations.scheduler import Scheduler
from automations.triggers import after_values, condition_holds, event_matches
from engine import webhooks
from engine.errors import GridbaseError
from engine.ids import utcnow_text
from engine.matching import live_row
from engine.outbox import Event

if TYPE_CHECKING:
    from engine.workspace import Workspace

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
BATCH = 100


def _start_for(ws: Workspace, auto: Any, event: Event, key: str, people: PeopleOfTransaction) -> Start | None:
    """The Start of `auto` for `event`, or None when its trigger or condition says no."""
    start = Start(auto.trigger, key, event.table, event.record, event.id, event.depth,
                  on_behalf=triggered_by(event.actor, event.data), people=people)
    try:
        if not event_matches(ws, auto, event):
            return None
        table = ws.base(event.base).table(event.table)
        start.overrides = after_values(table, event)
        if event.depth < MAX_DEPTH and event.record:
            start.row = live_row(table, event.record)  # the run starts from this read (not a second one)
            if start.row is None:
                start.skip = "the record was deleted before the automation ran"
        if start.skip is None and not condition_holds(table, event.record, auto.condition, start.overrides):
            return None
    except GridbaseError as exc:
        start.failure = f"trigger or condition: {describe(exc)}"
    return start


def _ran_before(ws: Workspace, events: list[Event]) -> set[str]:
    """The run keys of `events`' automations already recorded, read before the write lock. A
    run of an event is written only in the transaction that claims the event and marks it
    processed, so a run committed after this read comes with its event processed, which the
    claim under the lock then leaves alone: the answer is the one a read under the lock gives."""
    return already_ran_among(ws, [make_key(event.base, auto.key, str(event.id))
                                  for event in events for auto in _enabled(ws, event.base)])


def _handle(ws: Workspace, events: list[Event], runs: list[dict[str, Any]], hooked: set[str], ran: set[str]) -> None:
    """Run what `events` trigger and mark them processed (inside the caller's transaction);
    `hooked`: the bases with webhooks (`webhooks.bases_living`), `ran`: the run keys already
    recorded (`_ran_before`), both read before it opened."""
    # Claimed and marked processed at once (those another worker got first are left alone):
    # what follows, in this transaction, commits with the mark or rolls back with it.
    claimed = ws.outbox.claim_processed([event.id for event in events], utcnow_text(ws.now()))
    todo = [(event, [(auto, make_key(event.base, auto.key, str(event.id))) for auto in _enabled(ws, event.base)])
            for event in events if event.id in claimed]
    people = PeopleOfTransaction()  # the people, read once for the batch if a run asks
    for event, autos in todo:
        if event.base in hooked:
            _webhook_payloads(ws, event)
        for auto, key in autos:
            if key in ran:
                continue
            start = _start_for(ws, auto, event, key, people)
            if start is not None:
                runs.append(execute(ws, event.base, auto, start))


def _enabled(ws: Workspace, base: str) -> list[Any]:
    """The enabled automations of `base`, in their order."""
    bdef = ws.config.bases.get(base)
    return [auto for auto in bdef.automations.values() if auto.enabled] if bdef else []


def _webhook_payloads(ws: Workspace, event: Event) -> None:
    """Make the event a payload of the API webhooks it matches and queue their pings
    (engine.webhooks), in the transaction that marks it processed: exactly once. If that
    fails, the event's automations still run: a webhook must not hold every automation back."""
    try:
        hooks = webhooks.living(ws, event.base)
        if not hooks:
            return  # nothing to record: no savepoint to open and release for every event
        with ws.storage.savepoint("webhooks"):
            for ping in webhooks.record(ws, event, hooks):
                options = {"url": ping.url, "secret": ping.secret, "format": "airtable"}
                delivery.queue(ws, channel=webhooks.PING_CHANNEL, key=ping.key,
                               message={"event": "webhook.ping", "data": ping.body},
                               spec={"type": "webhook", "options": options})
    except Exception:
        if not ws.storage.writer.in_transaction:
            raise  # the whole transaction is gone (a full disk): nothing may go on in it
        log.exception("webhook payloads of outbox event %s failed; its automations go on", event.id)


def process_event(ws: Workspace, event: Event, *, hooked: set[str] | None = None) -> list[dict[str, Any]]:
    """Run every automation `event` triggers and mark it processed, in one transaction."""
    runs: list[dict[str, Any]] = []
    hooked = webhooks.bases_living(ws) if hooked is None else hooked
    ran = _ran_before(ws, [event])
    with ws.storage.transaction():
        _handle(ws, [event], runs, hooked, ran)
    return runs


def process_batch(ws: Workspace, events: list[Event]) -> list[dict[str, Any]]:
    """Process several events in one transaction (one disk sync instead of one per event).

    If anything goes wrong the batch is rolled back and each event is tried on its own, so
    one bad event cannot hold the others back (it stays pending and is retried later).
    """
    runs: list[dict[str, Any]] = []
    hooked = webhooks.bases_living(ws)  # before the write lock: most passes need not ask again inside it
    ran = _ran_before(ws, events)
    try:
        with ws.storage.transaction():
            _handle(ws, events, runs, hooked, ran)
        return runs
    except Exception:
        if len(events) == 1:
            raise
    runs = []
    for event in events:
        try:
            runs += process_event(ws, event, hooked=hooked)
        except Exception:
            log.exception("outbox event %s failed; it stays pending", event.id)
    return runs


def process_pending(ws: Workspace, *, limit: int | None = None, batch: int = 50) -> int:
    """Process pending outbox events in id order (at most `limit`); return how many.

    Events are committed `batch` at a time; `batch=1` commits each event on its own.
    """
    done = 0
    last = 0
    while limit is None or done < limit:
        size = batch if limit is None else max(1, min(batch, limit - done))
        events = ws.outbox.pending(after=last, limit=size)
        if not events:
            break
        last = events[-1].id
        try:
            process_batch(ws, events)
        except Exception:
            log.exception("outbox event %s failed; it stays pending", events[0].id)
        done += len(events)
        if len(events) < size and ws.outbox.newest <= last:
            break  # all there was, and this process appended nothing since (a run's own writes would be)
    return done


class Service:
    """The background worker thread and the scheduler of one workspace."""

    def __init__(self, ws: Workspace, *, poll: float = POLL_SECONDS, scheduler: bool = True) -> None:
        self.ws = ws
        self.poll = poll
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gridbase-automations", daemon=True)
        self._scheduler: Scheduler | None = None
        self._with_scheduler = scheduler
        self.mail: mailpoll.Poller | None = None

    def wake(self, _event_id: int = 0) -> None:
        self._wake.set()

    def start(self) -> None:
        delivery.recover_sending(self.ws)
        self.ws.outbox.listeners.append(self.wake)
        self.ws.outbox.listen_across()  # other processes' commits wake it too (PostgreSQL's LISTEN/NOTIFY)
        if self._with_scheduler:
            self._scheduler = Scheduler(self.ws, on_run=self.wake)
            self._scheduler.start()
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self.wake in self.ws.outbox.listeners:
            self.ws.outbox.listeners.remove(self.wake)
        if self._scheduler is not None:
            self._scheduler.shutdown()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            busy = False
            try:
                busy = process_pending(self.ws, limit=BATCH) >= BATCH
                delivery.deliver_due(self.ws)
            except Exception:  # keep the worker alive; the event stays pending and is retried
                log.exception("automation worker pass failed")
            if not busy:
                self._wake.wait(self.poll)


_services: list[Service] = []


def start(ws: Workspace, *, poll: float = POLL_SECONDS, scheduler: bool = True) -> Service:
    """Start the worker thread (and the scheduler) for `ws`; missed schedule ticks run now."""
    service = Service(ws, poll=poll, scheduler=scheduler)
    service.start()
    service.mail = mailpoll.start(ws) if scheduler else None  # the mailboxes' poller (issue 21)
    _services.append(service)
    return service


def stop(service: Service | None = None) -> None:
    """Stop `service`, or every service started by `start`."""
    for item in [service] if service is not None else list(_services):
        item.stop()
        if item.mail is not None:
            item.mail.stop()
        if item in _services:
            _services.remove(item)


def nudge(ws: Workspace) -> None:
    """Wake the worker of `ws` (after a manual run queued deliveries): whoever listens to its outbox,
    which is the worker itself in its process, or in a request worker of `serve --workers N` the
    word to the automation process (gridbase.workers `say_events`)."""
    for listener in list(ws.outbox.listeners):
        listener(0)
