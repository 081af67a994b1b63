"""The form load of benchmarks/run.py: signed-in people posting a form, with 1 and 2 server processes.

This module owns run.py's servers (`Servers`: `gridbase serve` subprocesses, their CPU time,
PostgreSQL's with --pg-temp, the machine's), the form load itself (`form_load`: clients
posting back to back, each to one of the servers' URLs), the watcher of the inbox that times
write -> notification (`InboxWatcher`, polling `_gb_notifications` from a connection of its
own, `Hand`), and the rows the form part adds to the report (`measure_forms`): submissions/s,
p50/p99, server CPU per submission and write -> inbox latency, once with one `gridbase serve`
process and once with `--processes 2` (`gridbase serve --workers 2`: two processes sharing one
port, the clients' connections spread over them by the kernel).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))  # pg_server: one throwaway PostgreSQL for tests and benchmarks

import pg_server  # noqa: E402  (the --pg-temp server's processes)
from bench_engine import child_env, free_port, percentile  # noqa: E402
from lean_http import LeanClient  # noqa: E402
from run_data import PASSWORD  # noqa: E402

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"|name="csrf-token" content="([^"]+)"')


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url}: the server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(url, timeout=5).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer in {timeout} s")


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (/proc/PID/stat)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def with_children(pid: int) -> list[int]:
    """`pid` and its descendants (a `gridbase serve --workers N` supervisor's workers, each
    serving process's chart drawing process), whichever of their threads started them."""
    found, todo = [], [pid]
    while todo:
        each = todo.pop()
        found.append(each)
        try:
            for task in Path(f"/proc/{each}/task").iterdir():
                todo.extend(int(x) for x in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def proc_status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmHWM", "VmRSS")):
            name, value = line.split(":", 1)
            out[name] = int(value.split()[0]) // 1024  # MB
    return out


class Hand:
    """Hand-written SQL on the benchmark's database, from a connection of its own: sqlite3 on the
    SQLite file, psycopg (autocommit, the benchmark's schema) on PostgreSQL. SQL is written with
    `?` placeholders; PostgreSQL gets `%s`."""

    def __init__(self, db: Path | str) -> None:
        self.store = "postgresql" if isinstance(db, str) else "sqlite"
        self.conn: Any = psycopg.connect(db, autocommit=True) if isinstance(db, str) else sqlite3.connect(db, check_same_thread=False)

    def all(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[Any]:
        return self.conn.execute(self.spelled(sql), params).fetchall()  # type: ignore[no-any-return]

    def one(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        return self.conn.execute(self.spelled(sql), params).fetchone()

    def spelled(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.store == "postgresql" else sql

    def close(self) -> None:
        self.conn.close()



class Servers:
    """The `gridbase serve` subprocesses of one run (each maybe a supervisor of `--workers N`)."""

    def __init__(self, ws: Path, db: Path | str, pg_data: Path | None = None) -> None:
        self.ws, self.db, self.pg_data = ws, db, pg_data
        self.procs: list[subprocess.Popen[bytes]] = []

    def serve(self, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
        more = ["--workers", str(workers)] if workers > 1 else []
        proc = subprocess.Popen([sys.executable, "-m", "gridbase", "serve", str(self.ws), "--db", str(self.db),
                                 "--port", str(port), *more], cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True)
        self.procs.append(proc)
        return proc

    def pids(self) -> list[int]:
        """The servers' processes and their children (the workers of a `--workers N` supervisor)."""
        return [pid for proc in self.procs for pid in with_children(proc.pid)]

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far: the gridbase serve processes, this process (the clients and the inbox
        watcher), PostgreSQL's (--pg-temp), the machine's."""
        out = {"gridbase": cpu_seconds(self.pids()), "client": time.process_time()}
        if self.pg_data is not None:
            out["postgresql"] = cpu_seconds(pg_server.server_pids(self.pg_data))
        jiffies = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        out["machine busy"] = (sum(jiffies) - jiffies[3] - jiffies[4]) / os.sysconf("SC_CLK_TCK")  # all but idle, iowait
        out["machine"] = sum(jiffies) / os.sysconf("SC_CLK_TCK")
        return out

    def stop(self) -> None:
        for proc in self.procs:
            stop(proc)

class InboxWatcher(threading.Thread):
    """Polls _gb_notifications every 2 ms from its own connection; first time each title is seen."""

    def __init__(self, db: Path | str) -> None:
        super().__init__(daemon=True)
        self.conn = Hand(db)
        self.last = self.conn.one("SELECT COALESCE(max(id), 0) FROM _gb_notifications")[0]
        self.seen: dict[str, float] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            rows = self.conn.all("SELECT id, title FROM _gb_notifications WHERE id > ? ORDER BY id", (self.last,))
            now = time.perf_counter()
            for rid, title in rows:
                self.seen.setdefault(title, now)
                self.last = rid
            time.sleep(0.002)
        self.conn.close()


async def form_load(urls: list[str], clients: int, duration: float, watcher: InboxWatcher,
                    cpu: Callable[[], dict[str, float]] = dict) -> dict[str, Any]:
    """`clients` signed-in people posting the form back to back for `duration` seconds, client n
    to server n % len(urls) (several `gridbase serve` processes on one database). `cpu()`: CPU
    seconds of the servers so far by name, read when the clock starts (after sign-in) and when
    the automations have caught up; their difference is in the result's `cpu_s`."""
    latencies: list[float] = []
    started: dict[str, float] = {}
    statuses: dict[int, int] = {}
    errors: list[str] = []

    async def sign_in(n: int, web: LeanClient) -> str | None:
        page = await web.get("/login")
        match = CSRF.search(page.text)
        login = await web.post("/login", data={"username": "admin", "password": PASSWORD, "next": "/",
                                               "csrf_token": (match.group(1) or match.group(2)) if match else ""})
        if login.status_code != 303:
            errors.append(f"client {n}: sign-in answered {login.status_code}")
            return None
        form = await web.get("/f/clinic/intake")
        match = CSRF.search(form.text)
        return (match.group(1) or match.group(2)) if match else ""

    async def post_until(n: int, web: LeanClient, csrf: str, until: float) -> None:
        i = 0
        # Every client posts at least once, so a slow machine still yields a figure.
        while i == 0 or time.perf_counter() < until:
            i += 1
            title = f"form c{n} #{i} {time.perf_counter_ns()}"
            t0 = time.perf_counter()
            started[title] = t0
            r = await web.post("/f/clinic/intake", data={"title": title, "amount": "123.45", "status": "open",
                                                          "center": "A", "visit_date": "2026-06-15", "csrf_token": csrf})
            latencies.append((time.perf_counter() - t0) * 1000)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            if r.status_code != 200:
                started.pop(title, None)
                if len(errors) < 5:
                    errors.append(f"form POST answered {r.status_code}: {r.text[:200]}")

    # The lean client (benchmarks/lean_http.py), not httpx: the clients share the server's cores.
    webs = [LeanClient(urls[n % len(urls)], max_connections=1) for n in range(clients)]
    try:
        # Sign everyone in first (password hashing is slow on purpose); the clock starts after.
        csrfs = await asyncio.gather(*(sign_in(n, web) for n, web in enumerate(webs)))
        began = time.perf_counter()
        cpu_began = cpu()
        await asyncio.gather(*(post_until(n, web, csrf, began + duration)
                               for n, (web, csrf) in enumerate(zip(webs, csrfs, strict=True)) if csrf is not None))
    finally:
        for web in webs:
            await web.aclose()
    elapsed = time.perf_counter() - began
    # Let the worker catch up (bounded), then compute write -> inbox latencies.
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline and any(t not in watcher.seen for t in started):
        await asyncio.sleep(0.05)
    inbox = [(watcher.seen[t] - t0) * 1000 for t, t0 in started.items() if t in watcher.seen]
    cpu_s = {name: seconds - cpu_began.get(name, 0.0) for name, seconds in cpu().items()}
    return {"ok": statuses.get(200, 0), "elapsed_s": elapsed, "cpu_s": cpu_s, "latencies": latencies, "statuses": statuses,
            "errors": errors, "inbox": inbox, "missing_notifications": len(started) - len(inbox)}



def add_cpu(rep: Any, load: dict[str, Any], suffix: str = "", before: dict[str, float] | None = None) -> dict[str, float]:
    """Rows of server CPU per submission (and the machine's busy share) for one form load."""
    ok = max(load["ok"], 1)
    cpu = load["cpu_s"]
    per = {name: cpu[name] / ok * 1000 for name in ("gridbase", "postgresql") if name in cpu}
    prior = before or {}
    rep.add(f"server CPU per form submission{suffix}", per["gridbase"], "ms CPU", "", None, prior.get("gridbase"),
            "1 process" if before else "", note="gridbase serve processes, automations included")
    if "client" in cpu:
        rep.add(f"load generator CPU per form submission{suffix}", cpu["client"] / ok * 1000, "ms CPU", "", None,
                note="this process: the clients (benchmarks/lean_http.py) and the inbox watcher (a query every 2 ms)")
    if "postgresql" in per:
        rep.add(f"PostgreSQL CPU per form submission{suffix}", per["postgresql"], "ms CPU", "", None,
                prior.get("postgresql"), "1 process" if before else "", note="the --pg-temp server's processes")
    if cpu.get("machine"):
        busy = 100 * cpu["machine busy"] / cpu["machine"]
        rep.add(f"machine CPU busy during the form load{suffix}", busy, "%", "", None,
                note=f"{os.cpu_count()} CPUs, everyone's work (the load generator's too)")
    return per


def measure_forms(rep: Any, servers: Servers, server: subprocess.Popen[bytes], url: str, *, clients: int,
                  seconds: float, processes: int, py_spy: Path | None, log: Callable[[str], None]) -> None:
    """The form rows of the report: one `gridbase serve` process (`server` at `url`), then, with
    `processes` > 1, the same clients on `gridbase serve --workers N` (one port), beside it; and
    the first server's peak RSS."""
    watcher = InboxWatcher(servers.db)
    watcher.start()
    try:
        spy = None
        if py_spy:
            spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "-o", str(py_spy),
                                    "--pid", str(server.pid), "--duration", str(int(seconds) + 1), "--threads",
                                    "--format", "flamegraph" if py_spy.suffix == ".svg" else "raw"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        load = asyncio.run(form_load([url], clients, seconds, watcher, servers.cpu))
        if spy is not None:
            spy.wait(timeout=60)
        rate, lat = _form_rows(rep, load, f"form submissions/s ({clients} clients, automations on)", "")
        per_one = add_cpu(rep, load)
        log("forms and automations done")
        mem = proc_status(server.pid)
        if processes > 1:
            # The same clients on N processes sharing one port (`gridbase serve --workers N`), beside
            # the one process above; the one process is stopped first, so only N serve.
            stop(server)
            port = free_port()
            many = servers.serve(port, workers=processes)
            wait_http(f"http://127.0.0.1:{port}/login", many)
            log(f"{processes} server processes up")
            load2 = asyncio.run(form_load([f"http://127.0.0.1:{port}"], clients, seconds, watcher, servers.cpu))
            suffix = f", {processes} processes"
            rate2, lat2 = _form_rows(rep, load2, f"form submissions/s, {processes} processes ({clients} clients)", suffix,
                                     rate, lat)
            add_cpu(rep, load2, suffix, per_one)
            log(f"forms on {processes} processes done")
    finally:
        watcher.halt.set()
    rep.add("server peak RSS (VmHWM)", mem["VmHWM"], "MB", "<= 300", mem["VmHWM"] <= 300,
            note=f"VmRSS now {mem['VmRSS']} MB; 1 process")


def _form_rows(rep: Any, load: dict[str, Any], title: str, suffix: str, one_rate: float | None = None,
               one_lat: list[float] | None = None) -> tuple[float, list[float]]:
    """Rate, p50, p99 and write -> inbox rows of one form load; beside the one process's when given."""
    if load["errors"]:
        print(f"form load{suffix} problems: " + "; ".join(load["errors"]))
    rate = load["ok"] / load["elapsed_s"]
    lat = load["latencies"] or [float("nan")]
    miss = f"{load['missing_notifications']} not notified within 30 s" if load["missing_notifications"] else ""
    beside = "1 process" if one_rate is not None else ""
    if one_rate is None:
        rep.add(title, rate, "req/s", ">= 300", rate >= 300,
                note=f"{load['ok']} ok in {load['elapsed_s']:.1f} s, statuses {load['statuses']}")
    else:
        rep.add(title, rate, "req/s", ">= 1.5x 1 process", rate >= 1.5 * one_rate, one_rate, "the same clients on 1 process",
                note=f"{load['ok']} ok in {load['elapsed_s']:.1f} s, statuses {load['statuses']}" + (f"; {miss}" if miss else ""))
    rep.add(f"form submission p50{suffix}", statistics.median(lat), "ms", "", None,
            statistics.median(one_lat) if one_lat else None, beside)
    rep.add(f"form submission p99{suffix}", percentile(lat, 99), "ms", "<= 100", percentile(lat, 99) <= 100,
            percentile(one_lat, 99) if one_lat else None, beside)
    inbox = load["inbox"] or [float("nan")]
    rep.add(f"write -> inbox p50 (under form load){suffix}", statistics.median(inbox), "ms", "", None, note=miss)
    rep.add(f"write -> inbox p99 (under form load){suffix}", percentile(inbox, 99), "ms", "<= 200",
            percentile(inbox, 99) <= 200, note=miss)
    return rate, lat

