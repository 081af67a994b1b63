"""Several processes writing one SQLite file: how long a write waits for the others' turn.

    .venv/bin/python benchmarks/bench_processes.py [--processes 2] [--writes 400] [--work-ms 1.0]

Starts N processes on one fresh database (engine.storage.Storage, as `gridbase serve
--workers N` opens it), each making `--writes` write transactions (an INSERT and its commit,
`synchronous = FULL`) with `--work-ms` of CPU between them (a request's own work), all at once;
once with SQLite's busy handler deciding who writes next (it sleeps 1, 2, 5 … 100 ms between
looks) and once with `several_processes` on (engine.storage `_in_turn`: an exclusive flock
the kernel hands on at once), in alternating rounds. Prints per mode the wait for a
transaction (from asking to holding the lock) p50/p99 in ms, the wall time of the whole and
the CPU seconds of the processes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_engine import percentile  # noqa: E402

from engine.storage import Storage  # noqa: E402


def writer(path: str, turns: bool, writes: int, work_ms: float, start: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    storage = Storage(path)
    storage.several_processes = turns
    waits = []
    while time.time() < start:
        time.sleep(0.001)
    c0 = time.process_time()
    for i in range(writes):
        spin = time.perf_counter() + work_ms / 1000
        while time.perf_counter() < spin:
            pass
        t0 = time.perf_counter()
        with storage.transaction() as conn:
            waits.append((time.perf_counter() - t0) * 1000)
            conn.execute("INSERT INTO t (pid, i) VALUES (?, ?)", (os.getpid(), i))
    out.put((waits, time.process_time() - c0))
    storage.close()


def round_(folder: Path, processes: int, turns: bool, writes: int, work_ms: float) -> tuple[list[float], float, float]:
    path = folder / f"r{time.monotonic_ns()}.db"
    setup = Storage(path)
    with setup.transaction() as conn:
        conn.execute("CREATE TABLE t (pid INTEGER, i INTEGER)")
    setup.close()
    out: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    start = time.time() + 0.5
    procs = [multiprocessing.Process(target=writer, args=(str(path), turns, writes, work_ms, start, out))
             for _ in range(processes)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    wall = time.time() - start
    for p in procs:
        p.join()
    return [w for waits, _ in results for w in waits], wall, sum(cpu for _, cpu in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--writes", type=int, default=400, help="write transactions per process")
    parser.add_argument("--work-ms", type=float, default=1.0, help="CPU between two writes of a process")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each mode, alternating")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="gb-procs-"))
    figures: dict[str, list[tuple[list[float], float, float]]] = {"busy handler": [], "flock turns": []}
    for _ in range(args.rounds):
        for name, turns in (("busy handler", False), ("flock turns", True)):
            figures[name].append(round_(folder, args.processes, turns, args.writes, args.work_ms))
    print(f"{args.processes} processes x {args.writes} writes, {args.work_ms} ms of work between writes, "
          f"{args.rounds} rounds each; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    for name, rounds in figures.items():
        waits = [w for r in rounds for w in r[0]]
        print(f"{name:>13}: wait p50 {statistics.median(waits):6.2f} ms, p99 {percentile(waits, 99):7.2f} ms, "
              f"max {max(waits):7.1f} ms; wall {statistics.median(r[1] for r in rounds):5.2f} s; "
              f"CPU {statistics.median(r[2] for r in rounds):5.2f} s (medians of rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
