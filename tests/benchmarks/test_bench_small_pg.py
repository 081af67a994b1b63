"""The side-by-side benchmark runs end to end on PostgreSQL and prints every figure, two processes too.

Runs `benchmarks/run.py --db URL --rows 2000 --quick` in a subprocess against the session's
throwaway PostgreSQL server (skipped where PostgreSQL cannot be started), `--compare`d with a
SQLite run's JSON of two figures. Only the presence of each figure is checked, never a target.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from test_bench_small import MEASURES

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.stores  # needs PostgreSQL (the session's throwaway server)

# Datasette serves SQLite files only: on PostgreSQL the HTTP figures have hand-written SQL as peer.
SQLITE_ONLY = {"grid first page, HTTP API p50 vs DS _nocount", "bulk import CPU vs the same writes by hand"}


def test_run_small_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    out, sqlite_run = tmp_path / "bench.json", tmp_path / "sqlite.json"
    sqlite_run.write_text(json.dumps({"store": "sqlite", "rows": 2000, "results": [
        {"measure": "grid first page, in process p50", "value": 0.001, "unit": "ms"},
        {"measure": "form submissions/s (4 clients, automations on)", "value": 1e9, "unit": "req/s"}]}), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--db", pg_url, "--rows", "2000",
                           "--quick", "--form-seconds", "1", "--clients", "4", "--data", str(tmp_path / "run"), "--json", str(out),
                           "--compare", str(sqlite_run)],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["store"] == "postgresql" and data["rows"] == 2000
    found = {r["measure"]: r for r in data["results"]}
    for name in [m for m in MEASURES if m not in SQLITE_ONLY]:
        assert name in found, f"missing measure {name!r}"
        value = found[name]["value"]
        assert value is not None and math.isfinite(value) and value > 0, f"{name}: {value!r}"
        assert name in proc.stdout, f"{name!r} not printed"
    assert not any("DS" in name for name in found), "Datasette has no PostgreSQL meaning"
    one = next(r for name, r in found.items() if name.startswith("form submissions/s (4 clients"))
    two = next(r for name, r in found.items() if name.startswith("form submissions/s, 2 processes"))
    assert one["value"] > 0 and two["value"] > 0 and two["peer"] == one["value"]
    assert two["ratio"] == pytest.approx(two["value"] / one["value"], abs=0.01)
    assert "form submissions/s, 2 processes" in proc.stdout and "postgresql; rows 2,000" in proc.stdout
    # What the servers spent per submission, with one process and with two, and how busy the machine was.
    for name in ("server CPU per form submission", "server CPU per form submission, 2 processes",
                 "machine CPU busy during the form load", "machine CPU busy during the form load, 2 processes"):
        assert found[name]["value"] > 0, name
    # --compare prints the run beside SQLite's figures, measure by measure: how many times
    # SQLite's cost each is (for a rate, SQLite's rate over this one), and whether within 2x.
    compared = proc.stdout.split("2,000 rows (postgresql) beside 2,000 rows (sqlite)", 1)[1]
    lines = {line.split("|")[0].strip(): [cell.strip() for cell in line.split("|")[1:]]
             for line in compared.splitlines() if "|" in line}
    assert lines["grid first page, in process p50"][3] == "NO"  # SQLite's figure above was made 1 µs
    assert lines["form submissions/s (4 clients, automations on)"][3] == "NO"  # and its rate a billion a second
    assert not any(lines["form submissions/s, 2 processes (4 clients)"][1:])  # a PostgreSQL figure alone
    assert "0 of 2 measures both runs have are within 2x of sqlite's" in compared
