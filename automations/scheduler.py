"""Time triggers: cron schedules and dates reached, run by APScheduler and by `tick`.

- `schedule: "0 9 * * 1"` (+ optional `table`, `filter`): at each cron tick in the workspace
  time zone, run once, or once per matching record when a table is given (templates then
  also get `count`, the number of matching records). The last tick handled is kept in
  its fired mark in engine.runs (`schedule:{base}.{automation}`); a tick missed while the server was down runs
  once when it starts (several missed ticks run once, for the latest).
- `date: TABLE, field: F, offset: -3d, at: "09:00"`: fire for a record when its F (a date
  at `at` local time, default 00:00; or a datetime) plus the offset is reached. Each (record,
  F value) fires once (fired mark `{base}.{automation}:{record}:{value}`), so moving the
  date arms it again. A moment is caught if it falls between the previous check and now
  (checks run every minute, and at start for the downtime); a moment that had already
  passed when the record was created or its date was set does not fire.

A schedule that is no cron line is refused by `gridbase validate` (`cron_problem` names the
field at fault); should one reach a running server anyway, it is logged once, without a
traceback, and skipped, and the other automations run.

The first check of a new automation only notes the time: nothing fires for the past. The
`if` condition applies to records (a schedule without a table ignores it). `tick(ws, now)`
does every check at once and is what tests drive with a controlled clock: it runs every
registered trigger that `fires_on` time (engine.automation.Trigger), these two and a plugin's.
When workspace.yaml sets `retention:`, a daily job (03:17 local time) archives old log
entries (engine.retention).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from automations.runner import Start, already_ran, execute, make_key, resume_parked
from automations.triggers import builtin_schema
from engine import retention
from engine import runs as run_log
from engine.automation import Checks, Path, Trigger
from engine.checkrefs import DATE_HINT
from engine.ids import utcnow_text
from engine.matching import dated, matching_ids
from engine.model import AutomationDef, TableDef
from engine.plugins import triggers

if TYPE_CHECKING:
    from engine.workspace import Workspace

log = logging.getLogger(__name__)

OFFSET = re.compile(r"^(-?)(\d+)([dhm])$")
WINDOWS = [timedelta(hours=1), timedelta(days=1), timedelta(days=8), timedelta(days=32), timedelta(days=367),
           timedelta(days=3700)]


def parse_offset(text: str | None) -> timedelta:
    """`-3d`, `1d`, `-2h`, `30m` as a timedelta (negative = before)."""
    match = OFFSET.match(str(text or "0d").strip())
    if match is None:
        raise ValueError(f"offset '{text}' is not understood; write e.g. -3d, 1d, -2h")
    amount = int(match.group(2)) * (-1 if match.group(1) else 1)
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[match.group(3)]


DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _day_names(field: str) -> str:
    """Crontab day-of-week numbers (0 or 7 = Sunday) as names: APScheduler 3 counts from Monday."""
    parts = []
    for part in field.split(","):
        span, _, step = part.partition("/")
        if span.isdigit():
            span = DAYS[int(span)]
        elif "-" in span and all(x.isdigit() for x in span.split("-", 1)):
            low, high = (int(x) for x in span.split("-", 1))
            if high == 7 and low > 0:
                parts.append(f"{DAYS[low]}-sat" + (f"/{step}" if step else ""))
                span = "sun"
            else:
                span = f"{DAYS[low]}-{DAYS[high]}"
        parts.append(span + (f"/{step}" if step else ""))
    return ",".join(parts)


#: the five fields of a crontab line: APScheduler's name, and what the admin reads
CRON_FIELDS = (("minute", "minute (0-59)"), ("hour", "hour (0-23)"), ("day", "day of the month (1-31)"),
               ("month", "month (1-12 or jan-dec)"), ("day_of_week", "weekday (0-7, 0 and 7 are Sunday, or sun-sat)"))
CRON_HINT = 'five fields: minute hour day month weekday, e.g. "0 9 * * 1" (09:00 each Monday) or "30 8 * * *" (08:30 daily)'


def cron_problem(expr: Any) -> tuple[str, str] | None:
    """(what is wrong, how to fix it) with a crontab line, naming the field at fault; None when it is good."""
    fields = str(expr).split()
    if len(fields) != 5:
        extra = " (a seconds field is not supported)" if len(fields) == 6 else ""
        return f"it has {len(fields)} field(s){extra}, a cron line has five", CRON_HINT
    for (name, label), text in zip(CRON_FIELDS, fields, strict=True):
        try:
            CronTrigger(**{name: _day_names(text) if name == "day_of_week" else text}, timezone=UTC)
        except (ValueError, IndexError) as exc:
            reason = str(exc).removeprefix(f"Error validating expression '{text}': ") if isinstance(exc, ValueError) else ""
            word = label.split(" (")[0]
            return (f"its {word} field '{text}' is not valid" + (f" ({reason})" if reason else ""),
                    f"the {label}; {CRON_HINT}")
    return None


def cron(expr: str, tz: Any) -> CronTrigger:
    """A CronTrigger for a standard five-field crontab line, in time zone `tz` (ValueError naming the bad field)."""
    problem = cron_problem(expr)
    if problem is not None:
        raise ValueError(f"schedule '{expr}' is not a valid cron line: {problem[0]}")
    fields = str(expr).split()
    fields[4] = _day_names(fields[4])
    return CronTrigger.from_crontab(" ".join(fields), timezone=tz)


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _mark(ws: Workspace, key: str) -> datetime | None:
    at = run_log.last_fired(ws.storage, key)
    return _parse(at) if at else None


def _set_mark(ws: Workspace, key: str, moment: datetime) -> None:
    run_log.set_fired(ws.storage.conn, key, moment)


def _next_after(trigger: CronTrigger, moment: datetime) -> datetime | None:
    return trigger.get_next_fire_time(moment, moment + timedelta(days=1))  # type: ignore[no-any-return]


def latest_tick(trigger: CronTrigger, last: datetime, now: datetime) -> datetime | None:
    """The latest cron tick in (last, now], or None; fast even after a long downtime."""
    for window in WINDOWS:
        start = max(last, now - window)
        due = _next_after(trigger, start)
        if due is not None and due <= now:
            while True:
                following = _next_after(trigger, due)
                if following is None or following > now:
                    return due
                due = following
        if start == last:
            return None
    return None


# (workspace root, base, automation, schedule) of the bad schedules already logged: each is logged once.
_reported: set[tuple[str, str, str, str]] = set()


def fire_schedule(ws: Workspace, base: str, auto: AutomationDef, now: datetime) -> int:
    """Run `auto` once for the latest cron tick not yet handled; return the number of runs.

    A schedule that is not a valid cron line (`gridbase validate` refuses it; a workspace loaded
    some other way may still hold one) is logged once, without a traceback, and skipped."""
    expr = str(auto.when["schedule"])
    problem = cron_problem(expr)
    if problem is not None:
        seen = (str(ws.config.root), base, auto.key, expr)
        if seen not in _reported:
            _reported.add(seen)
            log.error("automation %s.%s is skipped: schedule '%s' is not a valid cron line: %s; %s",
                      base, auto.key, expr, *problem)
        return 0
    trigger = cron(expr, ws.tz)
    mark = f"schedule:{base}.{auto.key}"
    runs = 0
    with ws.storage.transaction():
        last = _mark(ws, mark)
        if last is None:
            _set_mark(ws, mark, now)
            return 0
        due = latest_tick(trigger, last, now)
        if due is None:
            return 0
        _set_mark(ws, mark, due)
        tick = utcnow_text(due)
        table_key = auto.when.get("table")
        if not table_key:
            key = make_key(base, auto.key, f"schedule:{tick}")
            if not already_ran(ws, key):
                execute(ws, base, auto, Start("schedule", key))
                runs += 1
            return runs
        table = ws.base(base).table(table_key)
        ids = matching_ids(table, {"and": [auto.when.get("filter") or {}, auto.condition or {}]})
        for rid in ids:
            key = make_key(base, auto.key, f"schedule:{tick}:{rid}")
            if not already_ran(ws, key):
                execute(ws, base, auto, Start("schedule", key, table.key, rid, extra={"count": len(ids)}))
                runs += 1
    return runs


def _date_bounds(kind: str, at: time, offset: timedelta, last: datetime, now: datetime, ws: Workspace) -> tuple[str, str]:
    """Stored values of F whose moment may fall in [last, now] (a superset, checked exactly later)."""
    if kind == "datetime":
        return utcnow_text(last - offset), utcnow_text(now - offset)
    low = (last - offset).astimezone(ws.tz)
    high = (now - offset).astimezone(ws.tz)
    first = low.date() if low.time() <= at else low.date() + timedelta(days=1)
    final = high.date() if high.time() >= at else high.date() - timedelta(days=1)
    return first.isoformat(), final.isoformat()


def date_moment(value: str, kind: str, at: time, offset: timedelta, ws: Workspace) -> datetime:
    """When a date trigger fires for a stored value."""
    if kind == "datetime":
        return _parse(value) + offset
    return datetime.combine(date.fromisoformat(value[:10]), at, tzinfo=ws.tz) + offset


def fire_dates(ws: Workspace, base: str, auto: AutomationDef, now: datetime) -> int:
    """Run `auto` for each record whose date moment fell since the last check; return runs."""
    when = auto.when
    table = ws.base(base).table(when["date"])
    fkey = when["field"]
    kind = "datetime" if table.fields[fkey].kind == "datetime" else "date"
    offset = parse_offset(when.get("offset"))
    hour, minute = (int(x) for x in str(when.get("at") or "00:00").split(":"))
    at = time(hour, minute)
    mark = f"dates:{base}.{auto.key}"
    runs = 0
    with ws.storage.transaction() as conn:
        last = _mark(ws, mark)
        _set_mark(ws, mark, max(now, last) if last else now)
        if last is None or now < last:
            return 0
        low, high = _date_bounds(kind, at, offset, last, now, ws)
        rows = dated(table, fkey, low, high + ("\uffff" if kind == "date" else ""), auto.condition)
        for rid, value in rows:
            if not last <= date_moment(str(value), kind, at, offset, ws) <= now:
                continue
            if not run_log.fire_once(conn, f"{base}.{auto.key}:{rid}:{value}", now):
                continue
            execute(ws, base, auto, Start("date", make_key(base, auto.key, f"date:{rid}:{value}"), table.key, rid))
            runs += 1
    return runs


class ScheduleTrigger(Trigger):
    """`schedule: CRON` (+ `table`, `filter`): at each cron tick, once or once per matching record."""

    type = "schedule"
    fires_on = "time"
    table_key = "table"
    schema: ClassVar[dict[str, Any]] = builtin_schema("schedule")

    def check(self, checks: Checks, path: Path, when: dict[str, Any], table: TableDef | None, what: str) -> None:
        problem = cron_problem(when.get("schedule"))
        if problem is not None:
            checks.err(path + ("schedule",), f"schedule '{when.get('schedule')}' of {what} is not a valid cron line: "
                       f"{problem[0]}", problem[1])
        if table is not None:
            checks.filter(path + ("filter",), table, when.get("filter"), what)

    def fire(self, ws: Workspace, base: str, auto: AutomationDef, now: datetime) -> int:
        return fire_schedule(ws, base, auto, now)

    def timer(self, ws: Workspace, auto: AutomationDef) -> Any:
        return cron(str(auto.when["schedule"]), ws.tz)


class DateTrigger(Trigger):
    """`date: TABLE, field: F` (+ `offset`, `at`): when a record's date (plus the offset) is reached."""

    type = "date"
    fires_on = "time"
    schema: ClassVar[dict[str, Any]] = builtin_schema("date")

    def check(self, checks: Checks, path: Path, when: dict[str, Any], table: TableDef | None, what: str) -> None:
        if table is None:
            return
        fdef = checks.field_ref(path + ("field",), table, when.get("field"), what)
        if fdef is not None and checks.kind_of(table, fdef.key) not in ("date", "datetime"):
            checks.err(path + ("field",), f"field '{fdef.key}' of {what} is not a date or datetime field "
                                          f"(it is a {checks.describe(table, fdef)})", DATE_HINT)

    def fire(self, ws: Workspace, base: str, auto: AutomationDef, now: datetime) -> int:
        return fire_dates(ws, base, auto, now)


def _timed(ws: Workspace) -> Iterator[tuple[str, AutomationDef, Trigger]]:
    """(base, automation, its trigger) of every enabled automation whose trigger fires on time."""
    for bdef in ws.config.bases.values():
        for auto in bdef.automations.values():
            trigger = triggers().get(auto.trigger)
            if auto.enabled and trigger is not None and trigger.fires_on == "time":
                yield bdef.key, auto, trigger


def tick(ws: Workspace, now: datetime | None = None) -> int:
    """Check every time-triggered automation (schedule, date, a plugin's) once, and resume parked runs that
    are due; return the number of runs."""
    now = now or ws.now()
    runs = 0
    for base, auto, trigger in _timed(ws):
        try:
            runs += trigger.fire(ws, base, auto, now)
        except Exception:  # one broken automation must not stop the others
            log.exception("automation %s.%s: time check failed", base, auto.key)
    return runs + resume_parked(ws, now)  # runs parked by `wait:` that are due go on (automations.steps)


class Scheduler:
    """APScheduler in the workspace time zone: one cron job per schedule, a minutely check."""

    def __init__(self, ws: Workspace, *, on_run: Callable[[], None] | None = None) -> None:
        self.ws = ws
        self.on_run = on_run
        self._aps = BackgroundScheduler(timezone=ws.tz)

    def start(self) -> None:
        """Catch up what was missed while stopped (once), then start the timers."""
        self._check()
        for base, auto, entry in _timed(self.ws):
            try:
                timer = entry.timer(self.ws, auto)
            except ValueError as exc:
                log.error("automation %s.%s: bad schedule: %s", base, auto.key, exc)
                continue
            if timer is not None:
                self._aps.add_job(self._fire, timer, args=[base, auto, entry], id=f"{base}.{auto.key}",
                                  coalesce=True, max_instances=1, misfire_grace_time=120)
        self._aps.add_job(self._check, CronTrigger(second=0, timezone=self.ws.tz), id="gridbase-minutely",
                          coalesce=True, max_instances=1, misfire_grace_time=120)
        self._aps.add_job(self._refresh, CronTrigger(minute="*/5", second=30, timezone=self.ws.tz), id="gridbase-clock-formulas",
                          coalesce=True, max_instances=1, misfire_grace_time=300)
        if any(getattr(self.ws.config.retention, log) for log in retention.LOGS):
            self._aps.add_job(self._retention, CronTrigger(hour=3, minute=17, timezone=self.ws.tz), id="gridbase-retention",
                              coalesce=True, max_instances=1, misfire_grace_time=6 * 3600)
        self._aps.start()

    def shutdown(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=True)

    def _done(self, runs: int) -> None:
        if runs and self.on_run is not None:
            self.on_run()

    def _check(self) -> None:
        self._done(tick(self.ws))

    def _refresh(self) -> None:
        """Every five minutes: formulas that read the clock get their new values (and events)."""
        try:
            self._done(self.ws.refresh_time_dependent())
        except Exception:
            log.exception("refreshing clock-dependent formulas failed")

    def _retention(self) -> None:
        """Daily at 03:17: archive and remove log entries past `retention:` (engine.retention)."""
        try:
            for done in retention.run(self.ws):
                log.info("retention: %s", done.summary())
        except Exception:
            log.exception("log retention failed; a log whose archive was not written and checked keeps every entry")

    def _fire(self, base: str, auto: AutomationDef, entry: Trigger) -> None:
        try:
            self._done(entry.fire(self.ws, base, auto, self.ws.now()))
        except Exception:
            log.exception("automation %s.%s: scheduled run failed", base, auto.key)
