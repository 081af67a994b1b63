"""Charts drawn on the server: a chart's Vega-Lite spec rendered as inline SVG by vl-convert.

This module owns the drawing of a dashboard chart on the server (dashboards.py builds the spec
and asks `chart_svg` for the picture): the widths it is drawn at, the check of what is sent
(`safe_svg`), the bounded LRU of drawings, the drawing process and its warm-up.

Drawn in a process of its own (views/pages/chart_drawer.py, one beside each serving process,
started on the first drawing): vl-convert keeps the GIL for the whole of a drawing, so drawn
in the serving process it stopped every request for 50 – 400 ms at a time. The request or
refresher thread that wants a drawing waits for its answer on a pipe, the GIL free meanwhile.
A drawing process that dies or does not answer in DRAW_TIMEOUT seconds is stopped and started
again on the next drawing; the chart is left to Vega in the browser meanwhile.

Readable at the width the layout gives (issue 27, docs/accessibility.md): an SVG scaled down to
its card shrinks its text with it (the 600-px drawing was 6 px text in a phone's 340-px card, 9
px in a desktop's 470-px one). So each chart is drawn at the widths of `WIDTHS` (the whole
picture fitted to each: `autosize: fit`), all sent, and the page's CSS shows the widest one that
fits its card (a container query on `.chart`, static/app.css): the small drawing is 248 px, so
any card (a 320-px phone's is 270 px) shows text at its drawn size (12 px at least, `CHART_FONT`
of dashboards.py) without scaling; a card of 320 px or more shows the narrow drawing, of 600 px
or more the wide one. Where 45° category labels would lie on one another in a drawing (twelve
treatments in 248 px), that drawing slants them steeper (`steeper_labels`). No script takes
part: the page is complete as the server sends it.

Safety: vl-convert escapes every text it draws, and each SVG is checked again before it is sent
(`safe_svg`: drawing elements and plain attributes only; else the chart is left to Vega in the
browser). Drawings are kept in an LRU of `SVG_CACHE_SIZE` entries (all widths of a chart in one)
keyed by a hash of the spec, or of all the spec is built from (`chart_key`), data included, so a
repeated view costs no drawing and one viewer's figures are never another's. They are kept as
UTF-8 bytes: a Python str holding one Chinese label takes two bytes a character, so the three
widths in UTF-8 take less memory than the two did as str (the dental dashboards: 51 → 27 KB a
chart on average).

Warm-up: vl-convert starts a JavaScript engine on its first drawing in a process (2.5 – 4 s,
and ~60 MB of memory for the rest of the drawing process's life). `start_warming` draws one
small chart on a background thread (which starts the drawing process), so the first dashboard
after a start is not the one that pays for it. The app calls it when a page first lists a dashboard to its reader (gridbase/app.py, the
sidebar of views/pages/web.py), when the workspace has charts: not at start, so a server of
forms and the API alone never holds the engine. Never on import either.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import math
import os
import select
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from markupsafe import Markup, escape

from engine.plugins import widget_types
from engine.widgets.builtin import ChartWidget
from engine.workspace import Workspace

log = logging.getLogger("gridbase.charts")

# (name, px): the total widths a chart is drawn at, narrowest first; app.css shows the widest
# that fits its card (.chart-svg-NAME) and keeps the narrowest for any card narrower than it.
WIDTHS = (("small", 248), ("narrow", 320), ("wide", 600))
AXIS_ROOM = 56  # px of a drawing's width beside its plot (the value axis, its title, padding)
LABEL_ROOM = 13  # px between two slanted labels' baselines: 12-px text and a pixel of air
SVG_CACHE_SIZE = 256  # charts kept (all their widths), the least recently shown dropped first
SVG_TAGS = frozenset({"svg", "g", "path", "rect", "line", "text", "tspan", "circle", "ellipse", "polygon",
                      "polyline", "defs", "clipPath", "title", "desc", "linearGradient", "radialGradient", "stop"})
WARM_SPEC: dict[str, Any] = {
    "$schema": "https://vega.github.io/schema/vega-lite/v6.json", "title": "warm-up", "width": 120, "height": 60,
    "mark": "bar", "data": {"values": [{"label": "a", "value": 1}, {"label": "b", "value": 2}]},
    "encoding": {"x": {"field": "label", "type": "nominal"}, "y": {"field": "value", "type": "quantitative"}},
}

_svg_cache: OrderedDict[str, bytes] = OrderedDict()  # kept as UTF-8: a chart's Chinese labels make
# its str two bytes a character, its UTF-8 a little over one
_svg_lock = threading.Lock()  # the cache's
warmed = threading.Event()  # set once vl-convert has drawn in this process
_warm_lock = threading.Lock()
_warming: threading.Thread | None = None  # the warm-up thread, while it runs


def safe_svg(svg: str) -> str | None:
    """The SVG if it holds only drawing elements and plain attributes (no script, foreign content,
    link, event handler or style attribute, which the page's CSP would refuse), else None."""
    try:
        root = ElementTree.fromstring(svg)  # noqa: S314 - vl-convert's output, checked here, no DTD
    except ElementTree.ParseError:
        return None
    for el in root.iter():
        if el.tag.rpartition("}")[2] not in SVG_TAGS:
            return None
        for name in el.attrib:
            local = name.rpartition("}")[2].lower()
            if local.startswith("on") or local in ("href", "style", "src"):
                return None
    return svg if svg.lstrip().startswith("<svg") else None


def chart_key(*parts: Any) -> str:
    """The cache key of a drawing: a hash of what it is drawn from (data included)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def steeper_labels(spec: dict[str, Any], width: int) -> dict[str, Any]:
    """`spec` with its slanted category labels (every one kept: no `labelOverlap`) turned steeper
    when, at `width`, 45° would lay them on one another (twelve treatments in a 248-px drawing):
    60° or 75°, never upright (the widget's `finish_spec` chose 45° for a card's width)."""
    x = spec.get("encoding", {}).get("x", {})
    axis = x.get("axis", {})
    values = spec.get("data", {}).get("values")
    if not axis.get("labelAngle") or axis.get("labelOverlap") is not False or not isinstance(values, list) or not values:
        return spec
    band = (width - AXIS_ROOM) / len(values)  # px along the axis for each label
    for angle in (45, 60, 75):
        if band * math.sin(math.radians(angle)) >= LABEL_ROOM:
            break
    if angle <= abs(axis["labelAngle"]):
        return spec
    x = {**x, "axis": {**axis, "labelAngle": -angle}}
    return {**spec, "encoding": {**spec["encoding"], "x": x}}


DRAWER = Path(__file__).with_name("chart_drawer.py")
DRAW_TIMEOUT = 30.0  # seconds a drawing may take (the first, with the engine's start, 2.5 – 4 s)


class DrawingFailed(RuntimeError):
    """The drawing process died, did not answer in time, or failed to draw."""


class Drawer:
    """The drawing process of this serving process (chart_drawer.py), one request at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    def _started(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is not None:
            self._stop()  # it died (killed, out of memory): its pipes closed, another started
        if self._proc is None:
            # -I: isolated (no script folder, user site or PYTHON* variables on its path)
            self._proc = subprocess.Popen([sys.executable, "-I", str(DRAWER)], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, close_fds=True)
        return self._proc

    def stop(self) -> None:
        """Let the drawing process go (it ends at the end of its input; killed if it is stuck)."""
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()

    def draw(self, spec: dict[str, Any], timeout: float | None = None) -> str:
        """vl-convert's SVG of `spec`; ValueError if it refuses the spec, DrawingFailed if the
        process failed (it is stopped then; the next drawing starts another)."""
        line = json.dumps(spec, ensure_ascii=False, default=str).encode() + b"\n"
        with self._lock:
            proc = self._started()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(line)
                proc.stdin.flush()
                answer = json.loads(_read_line(proc.stdout.fileno(), DRAW_TIMEOUT if timeout is None else timeout))
            except (OSError, ValueError, DrawingFailed) as exc:
                self._stop()
                raise DrawingFailed(f"the chart drawing process: {exc}") from exc
        if "svg" in answer:
            return str(answer["svg"])
        if "refused" in answer:
            raise ValueError(answer["refused"])
        raise DrawingFailed(str(answer.get("error")))


def _read_line(fd: int, timeout: float) -> bytes:
    """One line from `fd` within `timeout` seconds (the GIL is free while it waits)."""
    deadline = time.monotonic() + timeout
    parts: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise DrawingFailed(f"no answer in {timeout:g} s")
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            raise DrawingFailed("it ended")
        parts.append(chunk)
        if chunk.endswith(b"\n"):
            return b"".join(parts)


drawer = Drawer()
atexit.register(drawer.stop)


def render(spec: dict[str, Any]) -> str:
    """vl-convert's SVG of a spec ready to draw, from the drawing process (ValueError: refused)."""
    return drawer.draw(spec)


def draw(spec: dict[str, Any], width: int) -> str | None:
    """One drawing of `spec`, the whole picture (axes, legend, title) `width` px wide; None if
    vl-convert refuses the spec or what it drew is not safe to send."""
    static = {**steeper_labels(spec, width), "width": width, "autosize": {"type": "fit", "contains": "padding"}}
    try:
        drawn = render(static)
    except ValueError:
        drawn = None  # refused: the engine is warm all the same
    warmed.set()  # not when the drawing process failed (DrawingFailed): nothing is warm then
    return None if drawn is None else safe_svg(drawn)


def drawings(spec: dict[str, Any], *, rest: float = 0.0) -> str:
    """The chart at each of WIDTHS, each in its <div class="chart-svg chart-svg-NAME">; "" if
    any of them cannot be drawn safely (the browser's Vega draws the chart then). With `rest`,
    a pause after each drawing, `rest` times as long as it took (the background redraw of
    chart_refresh.py): the drawing process shares the machine's cores with the requests, and
    drawings back to back would take one of them whole."""
    parts = []
    for name, width in WIDTHS:
        began = time.perf_counter()
        svg = draw(spec, width)
        if rest:
            time.sleep(rest * (time.perf_counter() - began))
        if svg is None:
            return ""
        parts.append(f'<div class="chart-svg chart-svg-{escape(name)}" data-width="{width}">{svg}</div>')
    return "".join(parts)


def kept(key: str) -> str | None:
    """The drawings kept under `key` (now the most recently used), or None."""
    with _svg_lock:
        found = _svg_cache.get(key)
        if found is not None:
            _svg_cache.move_to_end(key)
    return None if found is None else found.decode()


def keep(key: str, svg: str) -> None:
    """Keep the drawings `svg` ("" for a chart that cannot be drawn safely) under `key`."""
    with _svg_lock:
        _svg_cache[key] = svg.encode()
        _svg_cache.move_to_end(key)
        while len(_svg_cache) > SVG_CACHE_SIZE:
            _svg_cache.popitem(last=False)


def markup(svg: str) -> Markup | None:
    """Kept drawings as they go into a page: None for a chart that could not be drawn safely."""
    return Markup(svg) if svg else None  # noqa: S704 - escaped by vl-convert, checked by safe_svg


def chart_svg(spec: dict[str, Any] | Callable[[], dict[str, Any]], key: str | None = None) -> Markup | None:
    """The chart drawn on the server as inline SVG at each of WIDTHS (None if it cannot be drawn
    safely), drawn by vl-convert once per distinct key while it stays in the LRU. `key` is a
    hash of the spec (by default) or of everything the spec is built from, then `spec` is a
    function building it, called only on a miss (altair takes ~20 ms a chart, more than the SQL)."""
    if key is None:
        assert isinstance(spec, dict)
        key = chart_key(spec, WIDTHS)
    svg = kept(key)
    if svg is None:
        try:
            svg = drawings(spec if isinstance(spec, dict) else spec())
        except DrawingFailed:
            log.exception("chart drawing failed: the browser draws this one")
            return None
        keep(key, svg)
    return markup(svg)


def has_charts(ws: Workspace) -> bool:
    """Whether any dashboard of the workspace draws a chart (then warming vl-convert is worth it)."""
    types = widget_types()
    return any(isinstance(types.get(widget.type), ChartWidget)
               for base in ws.bases() for ddef in base.bdef.dashboards.values() for widget in ddef.widgets)


def warm() -> float:
    """Start vl-convert's engine with one small drawing; the seconds it took (0 if already warm)."""
    if warmed.is_set():
        return 0.0
    start = time.perf_counter()
    try:
        draw(WARM_SPEC, 160)
    except DrawingFailed:
        log.exception("chart renderer did not warm: the next drawing starts it again")
        return 0.0
    took = time.perf_counter() - start
    log.info("chart renderer warmed in %.1f s", took)
    return took


def start_warming(ws: Workspace) -> threading.Thread | None:
    """Warm the chart renderer on a background thread if the workspace has charts (the app, when
    a page first offers a dashboard); None when it is warm, warming already, or has nothing to draw."""
    global _warming
    with _warm_lock:
        if warmed.is_set() or (_warming is not None and _warming.is_alive()) or not has_charts(ws):
            return None
        _warming = threading.Thread(target=warm, name="gridbase-charts-warm", daemon=True)
        _warming.start()
        return _warming
