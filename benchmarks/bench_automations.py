"""Automation benchmark: from a record write to its in-app notification, with the worker running.

    .venv/bin/python benchmarks/bench_automations.py [--events 10000] [--rate 200] [--json out.json]

Builds a fresh workspace under benchmarks/data/ with one automation (`created` → notify two
people, one template), starts the worker thread (`automations.start`, no scheduler), then
creates `--events` records at `--rate` per second (0 = as fast as possible) from the main
thread. The latency of an event is the time from just before `create()` to the commit of the
transaction that stored its notifications (the worker commits up to 50 events at once). Prints p50, p90, p99, max and throughput.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import automations  # noqa: E402
from automations import worker  # noqa: E402
from engine import Workspace  # noqa: E402

WORKSPACE = """\
workspace: bench
name: Bench
timezone: Asia/Shanghai
departments:
  qc: {name: 质控部}
roles:
  admin: {name: admin, admin: true}
  handler: {name: handler}
people:
  admin: {name: Admin, roles: [admin], department: qc}
  boss: {name: 王主任, roles: [handler], department: qc}
"""

BASE = """\
base: desk
name: Desk
tables:
  tickets:
    name: 工单
    primary: title
    fields:
      title: {type: text, name: 标题}
      severity: {type: single_select, name: 严重程度, options: [一般, 严重]}
automations:
  new_ticket:
    when: {created: tickets}
    do: [{notify: {to: "dept:qc", title: "新工单：{{ record.title }}", message: "严重程度 {{ record.severity }}"}}]
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200.0, help="writes per second; 0 = as fast as possible")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()

    root = ROOT / "benchmarks" / "data" / "automations"
    shutil.rmtree(root, ignore_errors=True)
    (root / "bases").mkdir(parents=True)
    (root / "workspace.yaml").write_text(WORKSPACE, encoding="utf-8")
    (root / "bases" / "desk.yaml").write_text(BASE, encoding="utf-8")
    ws = Workspace.open(root, db=root / "bench.db")
    ws.apply()
    table = ws.base("desk").table("tickets")

    written: dict[str, float] = {}
    stored: dict[str, float] = {}
    done = threading.Event()
    original = worker.process_batch

    def timed(ws_: Workspace, events: list[worker.Event]) -> list[dict]:
        runs = original(ws_, events)
        now = time.perf_counter()
        for run in runs:
            if run["record"]:
                stored[run["record"]] = now
        if len(stored) >= args.events:
            done.set()
        return runs

    worker.process_batch = timed  # type: ignore[assignment]
    service = automations.start(ws, scheduler=False)
    began = time.perf_counter()
    try:
        for i in range(args.events):
            t0 = time.perf_counter()
            rid = table.create({"title": f"工单 {i}", "severity": "严重" if i % 7 == 0 else "一般"}, actor="admin")["id"]
            written[rid] = t0
            if args.rate:
                pause = began + (i + 1) / args.rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
        done.wait(timeout=600)
    finally:
        automations.stop(service)
        worker.process_batch = original  # type: ignore[assignment]
    elapsed = time.perf_counter() - began
    latencies = [(stored[r] - written[r]) * 1000 for r in written if r in stored]
    notes = ws.storage.conn.execute("SELECT count(*) FROM _gb_notifications").fetchone()[0]
    ws.close()
    result = {"events": args.events, "rate": args.rate, "notified_events": len(latencies), "notifications": notes,
              "p50_ms": percentile(latencies, 50), "p90_ms": percentile(latencies, 90),
              "p99_ms": percentile(latencies, 99), "max_ms": max(latencies),
              "mean_ms": statistics.fmean(latencies), "events_per_s": len(latencies) / elapsed}
    print(f"{result['notified_events']}/{args.events} events notified ({notes} notifications), "
          f"write rate {args.rate or 'max'}/s")
    print(f"write → inbox latency: p50 {result['p50_ms']:.1f} ms, p90 {result['p90_ms']:.1f} ms, "
          f"p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.1f} ms; {result['events_per_s']:.0f} events/s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
