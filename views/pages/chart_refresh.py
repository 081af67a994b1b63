"""The bounded refresh of chart drawings: a dashboard under constant writes does not redraw its
charts on every view (issue 24, item 1).

Words: a chart's *family* is the same chart of the same dashboard of the same workspace for the
same reader: everything its drawing's key (charts.chart_key) is built from but the figures, plus
the reader (their whole actor: key, roles, departments) and the workspace (this `Workspace`
object, each one a token of its own), so one person's drawing is never shown to another in its
place. A family's *last drawing* is the one drawn for it, or shown exact to it, most recently,
with the time of its figures. *REFRESH* is the workspace's `chart_refresh` (seconds, default 10;
0 draws every change at once, as before).

The policy (`family_svg`), for one chart of one view:
- the drawing of exactly these figures is kept (charts.py's LRU) -> it is shown, as ever;
- else the family's last drawing was drawn less than REFRESH ago, or its redraw is on the way
  (queued or drawing: the refresher's queue may take longer than REFRESH to reach it, and the
  family is not quiet then) -> that one is shown *stale*:
  the card says the time of its figures (dashboards.py; the card's table of figures stays
  exact), and a redraw of the family with these figures is queued for the one *refresher*
  thread, coalesced (a family's newer figures replace its older ones in the queue) and due
  REFRESH after the family's last drawing;
- else (the family is quiet) it is drawn now, as before, so a person working alone sees fresh charts.

So a family is drawn at most once per REFRESH while it is viewed, however many writes change its
figures: the dental complaints dashboard (7 charts at 3 widths, ~90 ms of CPU a drawing, all
behind charts.py's one render lock) costs ~1.9 s of CPU per REFRESH per reader instead of per view.

The refresher is a daemon thread (`gridbase-charts-refresh`) started with the first queued
redraw, pausing after each drawing as long as it took (`REST`: vl-convert holds the GIL while it
draws, ~90 ms, so a redraw drawn back to back would leave the request threads 5-ms slices); a failed redraw is logged and dropped (the family keeps its older drawing until a view
queues another). `wait_idle` waits until nothing is queued or drawing (tests).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup

from engine import Actor
from engine.workspace import Workspace
from views.pages import charts

log = logging.getLogger("gridbase.charts")

FAMILY_LIMIT = charts.SVG_CACHE_SIZE  # families remembered, the least recently shown forgotten first
clock: Callable[[], float] = time.monotonic  # when families are drawn and due (tests move it)
REST = 1.0  # the refresher pauses as long as each drawing took: requests run between, not in 5-ms slices
NEVER = float("-inf")  # the drawing time of a family that has only been shown a drawing made for another


@dataclass
class Family:
    """What a family was last shown: the key of its drawing, when it was drawn for the family
    (`clock`; NEVER if it was not) and the time of its figures (the workspace's clock)."""

    key: str
    drawn: float
    figures_at: datetime


@dataclass
class Redraw:
    """A family's queued redraw: the key and spec of its newest figures, their time, when it is due."""

    family: str
    key: str
    spec: Callable[[], dict[str, Any]]
    figures_at: datetime
    due: float


@dataclass(frozen=True)
class Shown:
    """A chart as a page shows it: its drawings (None: the browser draws it), and for a stale one
    the time of the figures drawn and the seconds until its newer drawing is due."""

    svg: Markup | None
    as_of: datetime | None = None
    redraw_in: float = 0.0


_lock = threading.Condition()  # guards all below; taken before charts.py's cache lock, never after it
_families: OrderedDict[str, Family] = OrderedDict()
_queue: dict[str, Redraw] = {}  # family -> its newest figures to draw
_current: str | None = None  # the family the refresher is drawing (None: it draws none)
_refresher: threading.Thread | None = None
_workspaces: weakref.WeakKeyDictionary[Workspace, str] = weakref.WeakKeyDictionary()


def family_key(ws: Workspace, actor: Actor, *parts: Any) -> str:
    """The family of a chart: `parts` (all its drawing's key is built from but the figures), the
    reader and the workspace."""
    with _lock:
        token = _workspaces.setdefault(ws, uuid.uuid4().hex)
    return charts.chart_key("family", token, asdict(actor), *parts)


def family_svg(spec: Callable[[], dict[str, Any]], key: str, family: str, figures_at: datetime,
               refresh: float) -> Shown:
    """The drawing to show of the chart whose figures have the drawing key `key` (`spec` builds
    its Vega-Lite spec, called only when it is drawn): exact, stale, or drawn now (module docstring)."""
    svg = charts.kept(key)
    if svg is not None:
        with _lock:
            last = _families.get(family)
            _remember(family, Family(key, NEVER if last is None else last.drawn, figures_at))
            _drop_older(family, figures_at)  # the figures are back to drawn ones: nothing newer to draw
        return Shown(charts.markup(svg))
    with _lock:
        last = _families.get(family)
        now = clock()
        if last is not None and refresh > 0 and (now - last.drawn < refresh or family in _queue or family == _current):
            stale = charts.kept(last.key)
            if stale is not None:
                _families.move_to_end(family)
                due = last.drawn + refresh
                _queue[family] = Redraw(family, key, spec, figures_at, due)
                _start()
                _lock.notify_all()
                return Shown(charts.markup(stale), last.figures_at, max(0.0, due - now))
    try:
        svg = charts.drawings(spec())
    except charts.DrawingFailed:
        log.exception("chart drawing failed: the browser draws this one")
        return Shown(None)
    charts.keep(key, svg)
    drawn(family, key, figures_at)
    return Shown(charts.markup(svg))


def drawn(family: str, key: str, figures_at: datetime) -> None:
    """Note a drawing of the family's figures of `figures_at`, made now (unless it knows newer ones)."""
    with _lock:
        last = _families.get(family)
        if last is not None and last.figures_at > figures_at:
            return
        _remember(family, Family(key, clock(), figures_at))
        _drop_older(family, figures_at)  # figures as new or newer are drawn: the queued ones would be older


def _drop_older(family: str, figures_at: datetime) -> None:
    """Forget the family's queued redraw if its figures are no newer than `figures_at` (under _lock)."""
    queued = _queue.get(family)
    if queued is not None and queued.figures_at <= figures_at:
        del _queue[family]


def _remember(family: str, kept: Family) -> None:
    """Keep `kept` as the family's last drawing, forgetting the least recent family past the bound (under _lock)."""
    _families[family] = kept
    _families.move_to_end(family)
    while len(_families) > FAMILY_LIMIT:
        gone, _ = _families.popitem(last=False)
        _queue.pop(gone, None)


def _start() -> None:
    """Start the refresher thread unless it runs (under _lock)."""
    global _refresher
    if _refresher is None or not _refresher.is_alive():
        _refresher = threading.Thread(target=_refresh, name="gridbase-charts-refresh", daemon=True)
        _refresher.start()


def _next() -> Redraw:
    """The queued redraw due first, once it is due (waits for it; under _lock)."""
    while True:
        job = min(_queue.values(), key=lambda r: r.due, default=None)
        if job is None:
            _lock.wait()
            continue
        wait = job.due - clock()
        if wait <= 0:
            del _queue[job.family]
            return job
        _lock.wait(wait)


def _refresh() -> None:
    """The refresher: draws each queued redraw when due, one at a time, for ever."""
    global _current
    while True:
        with _lock:
            _current = None
            _lock.notify_all()
            job = _next()
            _current = job.family
        try:
            svg = charts.kept(job.key)
            if svg is None and not _outdated(job):
                svg = charts.drawings(job.spec(), rest=REST)
                charts.keep(job.key, svg)
            if svg is not None:
                drawn(job.family, job.key, job.figures_at)
        except Exception:  # noqa: BLE001 - a failed redraw never stops the refresher; the page keeps the older drawing
            log.exception("chart redraw failed")


def _outdated(job: Redraw) -> bool:
    """Whether the family was drawn with newer figures than the job's since it was queued."""
    with _lock:
        last = _families.get(job.family)
        return last is not None and last.figures_at > job.figures_at


def wait_idle(timeout: float = 30.0, *, hurry: bool = False) -> bool:
    """Wait until no redraw is queued or drawing; with `hurry`, each queued redraw is due now
    (tests). False if `timeout` seconds passed first."""
    with _lock:
        if hurry:
            for job in _queue.values():
                job.due = NEVER
            _lock.notify_all()
        return _lock.wait_for(lambda: not _queue and _current is None, timeout)
