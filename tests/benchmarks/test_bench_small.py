"""The side-by-side benchmark runs end to end on a small table and reports every measure.

Runs `benchmarks/run.py --rows 10000 --quick` in a subprocess (it starts `gridbase serve` and
`datasette serve` itself). Only the presence of each figure is checked, never a target: CI
machines are too noisy for that.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

MEASURES = [
    "bulk import (import_rows)",
    "bulk import vs the same writes by hand",
    "bulk import CPU vs the same writes by hand",
    "grid first page, in process p50",
    "grid first page, in process p99",
    "grid first page + row count, in process p50",
    "dashboard sum(amount) by center p50",
    "dashboard weekly trend (count) p50",
    "filterByFormula count, in process p50",
    "filterByFormula first page, in process p50",
    "search, rare term, first page, in process p50",
    "grid first page, HTTP API p50",
    "grid first page, HTTP API p99",
    "grid first page, HTTP API p50 vs DS _nocount",
    "grid first page, HTTP API (view=) p50",
    "filterByFormula first page, HTTP API p50",
    "filterByFormula first page, HTTP API p99",
    "form submission p50",
    "form submission p99",
    "write -> inbox p50 (under form load)",
    "write -> inbox p99 (under form load)",
    "server peak RSS (VmHWM)",
]


def test_run_small(tmp_path: Path) -> None:
    pytest.importorskip("datasette")
    out = tmp_path / "bench.json"
    # SQLite's run: a GRIDBASE_DATABASE_URL in the environment would make it PostgreSQL's. One server
    # process (--workers N has its own test, tests/reliability/test_processes_sqlite.py).
    env = {k: v for k, v in os.environ.items() if k != "GRIDBASE_DATABASE_URL"}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--rows", "10000", "--quick",
                           "--processes", "1", "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["rows"] == 10000 and data["quick"] is True
    found = {r["measure"]: r for r in data["results"]}
    for name in MEASURES:
        assert name in found, f"missing measure {name!r}"
        value = found[name]["value"]
        assert value is not None and math.isfinite(value) and value > 0, f"{name}: {value!r}"
    assert any(name.startswith("form submissions/s") for name in found)
    # The printed table has a header and one line per measure.
    assert "measure" in proc.stdout and "Gridbase" in proc.stdout and "target" in proc.stdout


def test_import_benchmark_small(tmp_path: Path) -> None:
    out = tmp_path / "import.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_import.py"), "--rows", "3000", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "imported 3000 row(s), rejected 0" in proc.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["rows"] == 3000 and data["seconds"] > 0 and data["rows_per_s"] > 0
