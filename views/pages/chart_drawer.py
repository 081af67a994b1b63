"""The chart drawing process: Vega-Lite specs in, SVG out, one at a time, by vl-convert.

This module owns the program that runs beside each serving process and draws its dashboard
charts (views/pages/charts.py starts it on the first drawing and talks to it). vl-convert keeps
Python's GIL for the whole of a drawing (50 – 400 ms a width for the dental dashboards), so in
the serving process every request thread stood still while a chart was drawn: the open loop at
50 requests/s showed stalls of 150 – 400 ms, every kind of request at once, each with the chart
refresher's thread in vl-convert (benchmarks/README.md, "Session 24"). Here it holds only its own.

It is run by path in isolated mode (`python -I chart_drawer.py`): it imports the standard
library and vl_convert only, never this project's packages, so it starts in a fraction of a
second and holds vl-convert's JavaScript engine (~60 MB) and nothing else.

The protocol, on its standard input and output: one request a line, a Vega-Lite spec as JSON;
one answer a line, JSON: `{"svg": "<svg…"}`, or `{"refused": "…"}` when vl-convert refuses the
spec (ValueError), or `{"error": "…"}` when it failed otherwise. It ends at the end of its input
(the serving process ended or let it go).
"""

from __future__ import annotations

import json
import sys
from typing import IO

import vl_convert


def answer(line: bytes) -> dict[str, str]:
    """The answer to one request line."""
    try:
        return {"svg": vl_convert.vegalite_to_svg(json.loads(line))}
    except ValueError as exc:
        return {"refused": str(exc)[:500]}
    except Exception as exc:  # noqa: BLE001 - said to the serving process, which logs it; the next drawing goes on
        return {"error": f"{type(exc).__name__}: {exc}"[:500]}


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """Answer every request line of `requests` on `answers`, until its end."""
    for line in requests:
        if line.strip():
            answers.write(json.dumps(answer(line), ensure_ascii=False).encode() + b"\n")
            answers.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
