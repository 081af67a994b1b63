"""`gridbase import` of a big CSV, timed from the command line, as an admin would run it.

    .venv/bin/python benchmarks/bench_import.py --rows 1000000

Makes a fresh workspace under benchmarks/data/import-ROWS/ with the base and people of
bench_engine.py and 2,000 patients, writes a CSV of ROWS visits (display names as headers:
text, number, two selects, date, person and a link by record id; same generator and seed
as the other benchmarks), then runs `gridbase import DIR clinic.visits FILE` in a
subprocess and prints the seconds and rows/s. Writing the CSV is not timed.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_engine  # noqa: E402

from engine import Workspace  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--json", type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    folder = ROOT / "benchmarks" / "data" / f"import-{args.rows}"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "ws" / "bases").mkdir(parents=True)
    people = "\n".join(f"  {d}: {{name: Doctor {d}, roles: [doctor]}}" for d in bench_engine.DOCTORS)
    (folder / "ws" / "workspace.yaml").write_text(bench_engine.WORKSPACE % people, encoding="utf-8")
    (folder / "ws" / "bases" / "clinic.yaml").write_text(bench_engine.BASE, encoding="utf-8")
    ws = Workspace.open(folder / "ws")
    ws.apply()
    patients = ws.base("clinic").table("patients").insert_many(({"name": f"p{i}"} for i in range(2000)), actor="system")
    ws.close()
    rng = random.Random(1)
    start = date(2026, 1, 1)
    path = folder / "visits.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Title", "Amount", "Status", "Center", "Visit date", "Doctor", "Patient"])
        for i in range(args.rows):
            writer.writerow([f"visit {i}", round(rng.uniform(0, 2000), 2), rng.choice(["open", "closed", "waiting"]),
                             rng.choice("ABCDEF"), (start + timedelta(days=rng.randrange(330))).isoformat(),
                             rng.choice(bench_engine.DOCTORS), rng.choice(patients)])
    size_mb = path.stat().st_size / 1e6
    began = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "gridbase", "import", str(folder / "ws"), "clinic.visits", str(path)],
                          cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if proc.returncode != 0:
        print(proc.stdout + proc.stderr)
        return 1
    rate = args.rows / seconds
    print(proc.stdout.strip())
    print(f"gridbase import: {args.rows:,} rows ({size_mb:.0f} MB CSV) in {seconds:.1f} s = {rate:,.0f} rows/s "
          f"(target for 1,000,000 rows: under 60 s)")
    if args.json:
        args.json.write_text(json.dumps({"rows": args.rows, "seconds": round(seconds, 2), "rows_per_s": round(rate),
                                         "csv_mb": round(size_mb, 1)}), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
