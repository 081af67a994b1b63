"""Server time of a dashboard page whose charts are drawn on the server as SVG (views/pages/dashboards.py).

Seeds the dental demo as `lighthouse.py` does (scale 0.05), signs in as the admin with a
TestClient (in process, no network) and times GET /b/patients/d/overview:

- *first*: the first view in the process (vl-convert starts its JavaScript engine, then draws each chart);
- *drawn*: a view with the SVG cache emptied (each chart drawn again, the engine warm), p50 of --runs;
- *cached*: a repeated view (the SVGs come from the LRU), p50 of --runs.

    .venv/bin/python benchmarks/bench_dashboard_page.py [--runs 20] [--path /b/patients/d/overview]
"""

from __future__ import annotations

import argparse
import gzip
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lighthouse import PASSWORD, demo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--path", default="/b/patients/d/overview")
    args = parser.parse_args()

    from starlette.testclient import TestClient

    from gridbase.app import create_app
    from views.pages import charts as chart_render

    with tempfile.TemporaryDirectory() as tmp:
        ws = demo(Path(tmp), 0.05)
        with TestClient(create_app(ws, automations=False), base_url="http://testserver") as client:
            page = client.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token
            client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token.group(1),
                                        "next": "/"})

            def timed() -> tuple[float, str]:
                start = time.perf_counter()
                answer = client.get(args.path)
                took = (time.perf_counter() - start) * 1000
                assert answer.status_code == 200, answer.status_code
                return took, answer.text

            first, html = timed()
            drawn = []
            for _ in range(args.runs):
                chart_render._svg_cache.clear()
                drawn.append(timed()[0])
            cached = [timed()[0] for _ in range(args.runs)]
        ws.close()
    charts = html.count('class="chart"')
    svg = sum(len(m) for m in re.findall(r"<svg.*?</svg>", html, re.S))
    print(f"{args.path}: {charts} charts, page {len(html.encode()) / 1024:.0f} KB of which SVG {svg / 1024:.0f} KB "
          f"({len(gzip.compress(html.encode())) / 1024:.0f} KB gzipped)")
    print(f"first view {first:.0f} ms | drawn (cache empty) p50 {statistics.median(drawn):.0f} ms | "
          f"cached p50 {statistics.median(cached):.0f} ms (runs {args.runs})")


if __name__ == "__main__":
    main()
