"""Load test: many people using a running `gridbase serve` at once, and nothing lost.

    .venv/bin/python benchmarks/load.py --users 50 --duration 120

The script copies examples/dalian_dental to a temporary folder, applies and seeds it small,
creates personal API tokens with `gridbase token create`, starts `gridbase serve` on a free
port of 127.0.0.1 and runs N simulated people for D seconds. Each person signs in and loops
over: a view page, a record page, an inline cell edit, a form submission, an API list, an
API update and an API create. Every write the server acknowledges is recorded (record id,
field, value). At the end it checks:

- no response had a 5xx status or a body containing "database is locked";
- every acknowledged write is in the database with its value (each person edits only its own
  records, so the last acknowledged value is the stored one);
- the audit log has an entry for every acknowledged write;
- `PRAGMA integrity_check` is ok.

It prints a summary (requests, p50/p99 latency, errors) and exits 1 when a check fails.
API rate-limit answers (429) are counted, not failures.

Open loop (what staff feel at the traffic a hospital makes, not a queue):

    .venv/bin/python benchmarks/load.py --rate 50 --duration 60
    .venv/bin/python benchmarks/load.py --capacity 50 --duration 20          # step search
    .venv/bin/python benchmarks/load.py --big --rate 50 --duration 60        # 1,000,000 rows
    .venv/bin/python benchmarks/load.py --rate 100 --duration 60 --py-spy benchmarks/load_profile.svg
    .venv/bin/python benchmarks/load.py --cost 20 --users 12 --live 0    # server CPU by kind, alone

`--cost N` first runs each kind of operation N times in a row as one person and prints the
server's CPU per operation by kind, then the same with a form submission (not counted) before
each one, as in the open loop, where others add records all the time: what each kind costs
when nothing it shows is kept from the last time.

`--rate R` runs `--users` signed-in people, each acting after a think time (exponential, mean
users / R seconds) counted from when their last action was due, not from its answer: together R
operations a second (Poisson arrivals, seeded), whether or not earlier ones have finished, so a
slow server makes requests pile up instead of slowing the arrivals and the latency is what a
person would see. An operation is one of (MIX): a grid page (the table or a view; at a
million rows the grid's …/count that follows its first screen is part of it), a kanban page, a
dashboard, a record page, a cell edit, a form (its page and its submission), an API list, an
API update, an API create, while `--live N` pages keep a live-update stream open (`/live`,
server-sent events) and count what reaches them; each operation's latency runs from the moment
it was due to its last answer (no coordinated omission). It prints p50, p95, p99 and errors per
kind, and the server's CPU time per operation at each rate (from /proc: comparable across runs on a
shared machine, where the latencies are not). `--rates R1,R2` runs several rates in turn on one server; `--capacity START` searches:
rates up by half from START until one is not served (p99 over all kinds above 500 ms, or an
error), then one step halfway back; the capacity is the highest rate served. `--big [DIR]`
loads the 1,000,000-row data set of bench_grid_page.py (run.py's visits base: a grid view, a
signed-in form and a dashboard, no kanban) instead of the dental demo. `--py-spy FILE` records
the server meanwhile (a flame graph for .svg; py-spy from PyPI, on PATH or beside python);
`--json FILE` keeps the figures; `--trace FILE` keeps every operation and request with its time
(whether slow answers come together, a stall of the server, or alone); `--workers N` serves with `gridbase serve --workers N`. The load generator shares the machine's cores with the
server: figures are for the pair.

This file sets the server up, runs the people and checks what they left; what the people do
over HTTP and the open loop are benchmarks/load_ops.py.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_engine import child_env, free_port  # noqa: E402  (shared with run.py)
from load_ops import (  # noqa: E402  (the traffic: requests, people, the open loop)
    BASE,
    CAPACITY_P99,
    DENTAL,
    TABLE,
    Stats,
    Target,
    big_target,
    dental_target,
    open_loop,
    open_session,
    operation,
    percentile,
    person,
    report,
    served,
    step_search,
    watch_live,
)
from run_forms import cpu_seconds, with_children  # noqa: E402  (the servers' CPU)
from run_forms import stop as stop_server  # noqa: E402


# -- setup -------------------------------------------------------------------------------------
def prepare(folder: Path, scale: float, min_records: int) -> Path:
    """Copy the dental example, apply it, seed a little sample data, and make sure the edited
    table has at least `min_records` records."""
    target = folder / "dalian_dental"
    shutil.copytree(DENTAL, target, ignore=shutil.ignore_patterns("data"))
    sys.path.insert(0, str(ROOT))
    from engine import Workspace

    ws = Workspace.open(target)
    try:
        ws.apply()
        spec = importlib.util.spec_from_file_location("gridbase_seed", target / "seed.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.seed(ws, rng=random.Random(2026), scale=scale)
        table = ws.base(BASE).table(TABLE)
        missing = min_records - table.count(actor="admin")
        if missing > 0:
            table.insert_many(({"title": f"load seed {i}"} for i in range(missing)), actor="admin")
        with ws.storage.transaction():  # sample data is history: no automations for it
            ws.storage.conn.execute("UPDATE _gb_outbox SET processed_at = ? WHERE processed_at IS NULL",
                                    (datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),))
    finally:
        ws.close()
    return target


async def make_tokens(folder: Path, count: int, target: Target) -> list[str]:
    """`gridbase token create` run `count` times, concurrently."""

    async def one(i: int) -> str:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gridbase", "token", str(folder), "--db", str(target.db), "create", target.person,
            "--name", f"load{i}",
            cwd=ROOT, env=child_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, errtext = await proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"gridbase token create failed: {errtext.decode()}")
        return out.decode().strip().splitlines()[-1]

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def start_server(target: Target, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    more = ["--workers", str(workers)] if workers > 1 else []
    return subprocess.Popen([sys.executable, "-m", "gridbase", "serve", str(target.ws_dir), "--db", str(target.db),
                             "--port", str(port), *more],
                            cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


async def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"gridbase serve exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            try:
                if (await client.get(url + "/login")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("gridbase serve did not answer in time")


# -- checks ------------------------------------------------------------------------------------
def verify(target: Target, stats: Stats, first_rowid: int) -> list[str]:
    """Every acknowledged write stored and audited; the database intact (a quick check past
    100,000 rows: the full integrity check of a million rows takes minutes)."""
    problems: list[str] = []
    conn = sqlite3.connect(target.db, timeout=30)
    base, table, edit = target.base, target.table, target.edit_field
    sql_table = f'"{base}__{table}"'
    try:
        big = first_rowid > 100_000
        integrity = conn.execute("PRAGMA quick_check" if big else "PRAGMA integrity_check").fetchone()[0]
        if integrity != "ok":
            problems.append(f"integrity_check: {integrity}")
        last: dict[str, str] = {}
        every: dict[str, set[str]] = {}
        for ack in stats.acks:
            if ack.kind in ("cell", "api_update") and ack.record:
                last[ack.record] = ack.value
                every.setdefault(ack.record, set()).add(ack.value)
        for rid, value in last.items():
            row = conn.execute(f'SELECT "{edit}" FROM {sql_table} WHERE _id = ?', (rid,)).fetchone()
            # In the open loop two edits of one record may be under way at once, and their answers
            # may come back in another order than their commits: the stored value must be one
            # that was acknowledged (and audited, below), not necessarily the last answered.
            if row is None or row[0] not in every[rid]:
                problems.append(f"{rid}.{edit}: acknowledged {value!r}, stored {row[0] if row else None!r}")
        created = {(rid, title) for rid, title in conn.execute(
            f"SELECT t._id, t.title FROM {sql_table} t JOIN _gb_audit a ON a.base = ? AND a.tbl = ? AND a.record = t._id "
            "AND a.action = 'create' WHERE t._rowid > ?", (base, table, first_rowid))}
        titles = {title for _, title in created}
        for ack in stats.acks:
            if ack.kind in ("cell", "api_update"):
                found = conn.execute("SELECT 1 FROM _gb_audit WHERE base = ? AND tbl = ? AND record = ? AND field = ? "
                                     "AND instr(new, ?) > 0", (base, table, ack.record, edit, ack.value)).fetchone()
            elif ack.kind == "api_create":
                found = (ack.record, ack.value) in created
            else:
                found = ack.value in titles
            if not found:
                problems.append(f"acknowledged {ack.kind} {ack.record or ''} {ack.value!r} is missing or not audited")
    finally:
        conn.close()
    return problems


def first_ids(target: Target, count: int) -> tuple[list[str], int]:
    """The ids of the first `count` records (each person edits only their own) and the highest
    row id now (rows past it are this run's)."""
    conn = sqlite3.connect(target.db)
    try:
        sql_table = f'"{target.base}__{target.table}"'
        ids = [r[0] for r in conn.execute(f"SELECT _id FROM {sql_table} WHERE _deleted_at IS NULL ORDER BY _rowid LIMIT ?",
                                          (count,))]
        return ids, int(conn.execute(f"SELECT coalesce(max(_rowid), 0) FROM {sql_table}").fetchone()[0])
    finally:
        conn.close()


def server_cpu(pid: int) -> float:
    """CPU seconds the server has used so far: the process and its children (the workers of
    `--workers N`), from Linux's /proc (0 elsewhere)."""
    return cpu_seconds(with_children(pid))


async def kind_costs(who: Any, target: Target, n: int, pid: int, stats: Stats) -> dict[str, dict[str, float]]:
    """Each kind of operation `n` times in a row, alone: the server's CPU per operation and the
    median wall time (where the open loop's CPU goes, kind by kind); then each again with a cell
    submission (not counted) before every one, as in the open loop, where others add records all the time."""
    rng = random.Random(7)
    out: dict[str, dict[str, float]] = {}
    print(f"{'kind':<12} {'server CPU ms/op':>17} {'wall p50 ms':>12} {'after a write: CPU':>19} {'wall p50':>9}"
          f"  ({n} each, one after another)")
    for kind in target.kinds():
        figures = []
        for written in (False, True):
            walls, spent = [], 0.0
            for _ in range(n):
                if written:
                    await operation("form", who, target, rng, stats)  # a new record, as forms and API creates make
                cpu, began = server_cpu(pid), time.perf_counter()
                await operation(kind, who, target, rng, stats)
                walls.append(time.perf_counter() - began)
                spent += server_cpu(pid) - cpu
            figures += [spent * 1000 / n, statistics.median(walls) * 1000]
        out[kind] = dict(zip(("cpu_ms", "p50_ms", "cpu_ms_after_write", "p50_ms_after_write"),
                             (round(x, 2) for x in figures), strict=True))
        print(f"{kind:<12} {figures[0]:>17.2f} {figures[1]:>12.2f} {figures[2]:>19.2f} {figures[3]:>9.2f}", flush=True)
    return out


def start_spy(pid: int, out: Path, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy recording the server for `seconds`, its workers too (`--workers N`: the supervisor
    serves no request itself) (.svg: a flame graph; else collapsed stacks)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen([spy, "record", "-o", str(out), "--pid", str(pid), "--duration", str(int(seconds)),
                             "--rate", "50", "--nonblocking", "--subprocesses",
                             "--format", "flamegraph" if out.suffix == ".svg" else "raw"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def run(users: int, duration: float, scale: float, keep: bool, rates: list[float] | None = None,
              live: int = 0, big: Path | None = None, capacity: float | None = None, spy: Path | None = None,
              json_out: Path | None = None, workers: int = 1, cost: int = 0, trace: Path | None = None) -> int:
    folder = Path(tempfile.mkdtemp(prefix="gridbase-load-"))
    server: subprocess.Popen[bytes] | None = None
    open_loop_mode = bool(rates or capacity or cost)
    try:
        if big is not None:
            target = big_target(big)
        else:
            ws_dir = prepare(folder, scale, users * 3)
            target = dental_target(ws_dir)
        tokens = await make_tokens(target.ws_dir, min(users, 10), target)
        ids, first_rowid = first_ids(target, users * 20)
        if len(ids) < users:
            raise SystemExit(f"only {len(ids)} records to edit for {users} users; raise --scale")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(target, port, workers)
        await wait_ready(url, server)
        stats = Stats()
        started = time.monotonic()
        until = started + duration
        share = len(ids) // users
        figures: list[dict[str, Any]] = []
        found = None
        print(f"{target.name}: {users} people, open loop {'on' if open_loop_mode else 'off'}", flush=True)
        if open_loop_mode:
            sessions = [s for s in await asyncio.gather(*(
                open_session(n, url, tokens[n % len(tokens)], ids[n * share:(n + 1) * share][:20], target, stats)
                for n in range(users))) if s is not None]
            if not sessions:
                raise SystemExit("no one could sign in: " + "; ".join(stats.failures[:3]))
            stats.failures.clear()  # sign-in problems were said above; the run's own are what count
            # Warm-up, not timed: each kind once (a dashboard draws its charts on its first view
            # after start, seconds of work that would otherwise be charged to the first rate).
            warm = random.Random(1)
            for kind in target.kinds():
                await operation(kind, sessions[0], target, warm, stats)
            if cost:
                figures_cost = await kind_costs(sessions[0], target, cost, server.pid, stats)
                if json_out and not (rates or capacity):
                    json_out.write_text(json.dumps({"target": target.name, "cost": figures_cost}, indent=1))
            started = time.monotonic()
            traced: list[dict[str, Any]] = []
            if trace:
                stats.trace = []
            stop, heard = asyncio.Event(), Counter[str]()
            watchers = [asyncio.create_task(watch_live(s, target, stop, heard, stats)) for s in sessions[:live]]
            # The streams are open before the first operation is due, as they are throughout: opened
            # with it, their clients' start (httpx, ~30 ms of this process's CPU each) held the first
            # operations back 0.7 s in this process, charged to the server.
            deadline = time.monotonic() + 15
            while heard["hello"] < len(watchers) and time.monotonic() < deadline and not all(w.done() for w in watchers):
                await asyncio.sleep(0.05)
            planned = duration * (len(rates or []) + (6 if capacity else 0))
            spying = start_spy(server.pid, spy, planned) if spy else None
            for i, rate in enumerate(rates or []):
                began, cpu = time.monotonic(), server_cpu(server.pid)
                result = await open_loop(sessions, target, rate, duration, stats, seed=2026 + i)
                figures.append(report(rate, result, time.monotonic() - began))
                traced.append({"rate": rate, "operations": [(round(due - started, 4), round(took, 4), kind)
                                                             for due, took, kind in result.operations]})
                spent = server_cpu(server.pid) - cpu
                done = sum(len(v) for v in result.latencies.values())
                figures[-1].update(server_cpu_s=round(spent, 2), server_cpu_ms_per_op=round(1000 * spent / max(done, 1), 1))
                print(f"server CPU: {spent:.1f} s for {done} operations ({1000 * spent / max(done, 1):.1f} ms each; "
                      "what a page costs whatever else the machine runs)", flush=True)
            if trace:
                trace.write_text(json.dumps({"rates": traced, "requests": [
                    (round(at - started, 4), round(took, 4), *rest) for at, took, *rest in stats.trace or []]}))
                print(f"trace: {trace}")
            if capacity:
                found = await step_search(sessions, target, capacity, duration, stats, figures)
            if spying is not None:
                spying.send_signal(signal.SIGINT)
                spying.wait(timeout=60)
                print(f"py-spy: {spy} ({'written' if spy and spy.exists() else 'NOT written'})")
            stop.set()
            await asyncio.gather(*watchers)
            if watchers:
                print(f"live streams: {len(watchers)} open throughout; events heard: "
                      + (", ".join(f"{k}×{v}" for k, v in sorted(heard.items())) or "none"))
            for session in sessions:
                await session.web.aclose()
                await session.api.aclose()
        else:
            if big is not None:
                raise SystemExit("the closed loop runs on the dental demo only; give --rate, --rates or --capacity")
            await asyncio.gather(*(person(n, url, tokens[n % len(tokens)], ids[n * share:(n + 1) * share][:20],
                                          target.views, until, stats) for n in range(users)))
        elapsed = time.monotonic() - started
        stop_server(server)
        problems = stats.failures + verify(target, stats, first_rowid)
        writes = Counter(a.kind for a in stats.acks)
        print(f"\nusers {users}, {elapsed:.1f} s, {len(stats.latencies)} requests ({len(stats.latencies) / elapsed:.1f}/s)")
        print(f"latency p50 {percentile(stats.latencies, 50) * 1000:.0f} ms, p99 {percentile(stats.latencies, 99) * 1000:.0f} ms, "
              f"max {max(stats.latencies, default=0) * 1000:.0f} ms, mean {statistics.fmean(stats.latencies or [0]) * 1000:.0f} ms")
        print("statuses: " + ", ".join(f"{k}×{v}" for k, v in sorted(stats.statuses.items())))
        print("requests: " + ", ".join(f"{k}×{v}" for k, v in sorted(stats.by_kind.items())))
        print(f"GETs retried after a closed keep-alive connection: {stats.reconnects}")
        print("acknowledged writes: " + (", ".join(f"{k}×{v}" for k, v in sorted(writes.items())) or "none"))
        print(json.dumps({"requests": len(stats.latencies), "acknowledged": len(stats.acks), "errors": len(problems)}))
        if figures:
            best = found if found is not None else max((f["rate"] for f in figures if served(f)), default=0)
            print(f"capacity: {best:g} operations/s with p99 <= {CAPACITY_P99 * 1000:.0f} ms and no errors "
                  f"({target.name}, {users} people, think time {users / max(f['rate'] for f in figures):.2f}"
                  f"–{users / min(f['rate'] for f in figures):.2f} s)")
            summary = {"target": target.name, "users": users, "duration": duration, "capacity": best,
                       "load_average": list(os.getloadavg()), "open_loop": figures}
            if json_out:
                json_out.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
            print(json.dumps(summary, ensure_ascii=False))
        if not stats.acks:
            problems.append("no write was acknowledged")
        if problems:
            print(f"FAILED: {len(problems)} problem(s)")
            for line in problems[:30]:
                print("  " + line)
            return 1
        print("ok: no 5xx, no 'database is locked', every acknowledged write stored and audited, integrity ok")
        return 0
    finally:
        if server is not None and server.poll() is None:
            server.kill()
            server.wait()
        if keep:
            print(f"workspace kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=50, help="concurrent simulated people (default 50)")
    parser.add_argument("--duration", type=float, default=120, help="seconds of load (default 120; per rate)")
    parser.add_argument("--scale", type=float, default=0.05, help="sample data size as a fraction of the full seed")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace for inspection")
    parser.add_argument("--rate", type=float, help="open loop: operations started per second, for --duration seconds")
    parser.add_argument("--rates", help="open loop at each of these rates in turn (comma-separated)")
    parser.add_argument("--capacity", type=float, metavar="START",
                        help="open loop: step search for the capacity from START operations/s (up by half a step)")
    parser.add_argument("--live", type=int, default=20,
                        help="open loop: pages holding a live-update stream open meanwhile (default 20, at most 30)")
    parser.add_argument("--big", type=Path, nargs="?", const=ROOT / "benchmarks" / "data" / "grid-1000000",
                        help="load a data set of bench_grid_page.py (default benchmarks/data/grid-1000000) "
                             "instead of the dental demo; it is written to (rows added, titles edited)")
    parser.add_argument("--py-spy", type=Path, metavar="FILE", help="record the server with py-spy (.svg: flame graph)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the open-loop figures as JSON")
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="serve with `gridbase serve --workers N`")
    parser.add_argument("--trace", type=Path, metavar="FILE",
                        help="write every operation (due, seconds, kind) and request (start, seconds, kind, method, "
                             "path, status, connections opened for it) of the rates as JSON, times from the start")
    parser.add_argument("--cost", type=int, default=0, metavar="N",
                        help="first run each kind of operation N times in a row, alone (then each after a form "
                             "submission), and print the server's CPU per operation by kind (with no --rate: only that)")
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",")] if args.rates else ([args.rate] if args.rate else None)
    return asyncio.run(run(args.users, args.duration, args.scale, args.keep, rates, min(args.live, 30), args.big,
                           args.capacity, args.py_spy, args.json, args.workers, args.cost, args.trace))


if __name__ == "__main__":
    sys.exit(main())

