"""bench_ab.py --summary: saved runs of two checkouts become one table of medians and ratios.

Measures nothing (a real A/B run takes minutes at 1,000,000 rows): two saved rounds are
summarised in a subprocess, as a person reprints the figures of earlier runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(tree: str, rnd: int, hwm: int, inbox_p50: float, rate: float, cpu_ms: float) -> dict[str, object]:
    return {"tree": tree, "round": rnd, "mem_forms": {"VmHWM": hwm, "VmRSS": hwm - 50, "threads": 20},
            "inbox_p50": inbox_p50, "form_rate": rate, "form_cpu_ms": cpu_ms}


def test_summary_of_saved_runs(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps([run("old", 1, 270, 50.0, 100.0, 5.0), run("new", 1, 268, 60.0, 80.0, 5.0)]))
    second.write_text(json.dumps([run("old", 1, 272, 40.0, 100.0, 5.0), run("new", 1, 266, 40.0, 100.0, 5.0)]))
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_ab.py"), "--summary", str(first), str(second),
                           "--markdown"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split(" | ")[0].lstrip("| "): line for line in proc.stdout.splitlines() if line.startswith("| ")}
    # VmHWM: the medians of both files (271 and 267 MB), the ratio of medians and of each round.
    assert rows["server peak RSS (VmHWM) after the form load, run.py's figure (MB)"].endswith(
        "| 271 (270 – 272) | 267 (266 – 268) | 0.99, 0.99 |")
    # Latency scaled to the share of a core the server got (rate x CPU per submission):
    # round 1 old 50 ms x 0.5 core = 25, new 60 x 0.4 = 24; round 2 20 and 20.
    assert "| 22.5 (20.0 – 25.0) | 22.0 (20.0 – 24.0) |" in rows["write -> inbox p50 x that share (ms)"]


def test_no_tree_is_a_clear_error() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_ab.py")], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and "--tree NAME=PATH" in proc.stderr
