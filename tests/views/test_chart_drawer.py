"""Charts are drawn in a process of their own (views/pages/chart_drawer.py): the serving process
never loads vl-convert (which keeps the GIL while it draws, stopping every request), a drawing
process that dies or hangs is replaced, and meanwhile the chart is left to the browser."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from views.pages import charts

ROOT = Path(__file__).resolve().parents[2]


def spec(n: int) -> dict[str, Any]:
    return {"$schema": "https://vega.github.io/schema/vega-lite/v6.json", "mark": "bar",
            "data": {"values": [{"label": f"d{n}", "value": n}]},
            "encoding": {"x": {"field": "label", "type": "nominal"}, "y": {"field": "value", "type": "quantitative"}}}


@pytest.fixture(autouse=True)
def nothing_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "_svg_cache", type(charts._svg_cache)())


def test_the_serving_process_draws_nothing_itself() -> None:
    """A chart drawn through the app's module: the SVG is there, vl-convert is not in this process."""
    program = textwrap.dedent("""\
        import json, os, sys
        from views.pages import charts
        svg = charts.chart_svg(%r)
        print(json.dumps({"drawn": svg is not None and "<svg" in svg and ">d7<" in svg,
                          "vl_convert_here": "vl_convert" in sys.modules,
                          "drawer": charts.drawer._proc.pid, "me": os.getpid()}))
        """) % (spec(7),)
    out = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True).stdout
    found = json.loads(out.strip().splitlines()[-1])
    assert found["drawn"] and not found["vl_convert_here"] and found["drawer"] != found["me"]


def test_a_killed_drawing_process_is_replaced() -> None:
    assert charts.chart_svg(spec(1)) is not None
    first = charts.drawer._proc
    assert first is not None and first.poll() is None
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    again = charts.chart_svg(spec(2))  # a new process draws it
    assert again is not None and ">d2<" in again
    assert charts.drawer._proc is not None and charts.drawer._proc.pid != first.pid


def test_a_drawing_process_that_hangs_is_stopped_and_the_browser_draws_meanwhile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stuck = tmp_path / "stuck.py"
    stuck.write_text("import sys, time\nsys.stdin.readline()\ntime.sleep(600)\n")
    charts.drawer.stop()
    monkeypatch.setattr(charts, "DRAWER", stuck)
    monkeypatch.setattr(charts, "DRAW_TIMEOUT", 0.5)
    assert charts.chart_svg(spec(3)) is None  # no answer: the page leaves this chart to Vega in the browser
    assert charts.kept(charts.chart_key(spec(3), charts.WIDTHS)) is None  # and keeps nothing for it
    assert charts.drawer._proc is None  # the stuck process is stopped, not left behind
    with pytest.raises(charts.DrawingFailed, match="no answer in 0.5 s"):
        charts.drawer.draw(spec(3))
    monkeypatch.undo()
    drawn = charts.chart_svg(spec(3))  # the next view: a working process draws it
    assert drawn is not None and ">d3<" in drawn


def test_a_refused_spec_is_said_as_such() -> None:
    with pytest.raises(ValueError):
        charts.drawer.draw({"mark": "no-such-mark", "data": {"values": []}})
    assert charts.drawer.draw(spec(4)).startswith("<svg")  # the process goes on
