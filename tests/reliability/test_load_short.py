"""A short open-loop run of benchmarks/load.py (10 people, 15 operations/s for 5 s, two live
streams) against a real `gridbase serve`: every kind of operation answered, nothing lost."""

from __future__ import annotations

import json
import subprocess
import sys

from tests_support import ROOT


def test_short_open_loop_run_loses_nothing() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "load.py"), "--users", "10", "--rate", "15",
                             "--duration", "5", "--live", "2", "--scale", "0.01"],
                            cwd=ROOT, text=True, capture_output=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "ok: no 5xx" in result.stdout
    summary = json.loads(next(line for line in result.stdout.splitlines() if line.startswith('{"target"')))
    (figures,) = summary["open_loop"]
    assert figures["errors"] == 0
    assert figures["by_kind"]["all"]["count"] == figures["operations"] > 0
