"""A short run of benchmarks/load.py (10 people × 6 s) against a real `gridbase serve`."""

from __future__ import annotations

import subprocess
import sys

from tests_support import ROOT


def test_short_load_run_loses_nothing() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "load.py"), "--users", "10", "--duration", "6",
                             "--scale", "0.01"], cwd=ROOT, text=True, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "ok: no 5xx" in result.stdout
    assert '"errors": 0' in result.stdout
