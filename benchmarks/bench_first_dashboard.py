"""Time of the first dashboard after the server starts, with and without warming the chart renderer.

vl-convert starts a JavaScript engine on its first drawing in a process (seconds of CPU); the
app warms it on a background thread (views/pages/charts.py `start_warming`) once a page lists a
dashboard, here the home page the sign-in leads to, unless `warm_charts=False`. Each
measurement is a fresh process (the engine is one per process): the app starts (TestClient runs
its lifespan), the admin signs in and lands on the home page, and once `--delay` seconds have
passed since the start (a person opening the dashboard a little after the server came up) the
first GET of the dashboard is timed. The seeded demo (scale 0.05, as lighthouse.py) is built
once and copied for each process.

    .venv/bin/python benchmarks/bench_first_dashboard.py [--runs 3] [--delay 5] [--path /b/patients/d/overview]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lighthouse import PASSWORD, demo  # noqa: E402


def child(root: Path, db: Path, warm: bool, delay: float, path: str) -> None:
    """One process: start the app, sign in, wait until `delay` s after the start, time the dashboard."""
    from starlette.testclient import TestClient

    from engine import Workspace
    from gridbase.app import create_app

    ws = Workspace.open(root, db=db)
    started = time.perf_counter()
    with TestClient(create_app(ws, automations=False, warm_charts=warm), base_url="http://testserver") as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token.group(1), "next": "/"})
        time.sleep(max(0.0, delay - (time.perf_counter() - started)))
        start = time.perf_counter()
        answer = client.get(path)
        took = (time.perf_counter() - start) * 1000
        assert answer.status_code == 200 and "data-drawn" in answer.text, answer.status_code
    ws.close()
    print(f"{took:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--delay", type=float, default=5.0, help="seconds from the start to the first dashboard")
    parser.add_argument("--path", default="/b/patients/d/overview")
    parser.add_argument("--child", nargs=3, metavar=("ROOT", "DB", "WARM"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        root, db, warm = args.child
        child(Path(root), Path(db), warm == "warm", args.delay, args.path)
        return

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        demo(folder, 0.05).close()
        times: dict[str, list[float]] = {"cold": [], "warm": []}
        for run in range(args.runs):
            for mode in ("cold", "warm"):
                db = folder / f"run-{run}-{mode}.db"
                shutil.copyfile(folder / "dental.db", db)
                out = subprocess.run([sys.executable, __file__, "--delay", str(args.delay), "--path", args.path,
                                      "--child", str(folder / "dalian_dental"), str(db), mode],
                                     check=True, capture_output=True, text=True)
                times[mode].append(float(out.stdout.strip().splitlines()[-1]))
    for mode, label in (("cold", "not warmed (before)"), ("warm", "warmed once a page lists a dashboard (after)")):
        ms = times[mode]
        print(f"{args.path}, first view {args.delay:g} s after start, {label}: p50 {statistics.median(ms):.0f} ms "
              f"({', '.join(f'{m:.0f}' for m in ms)})")


if __name__ == "__main__":
    main()
