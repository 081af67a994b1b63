"""Old code against new code under the same harness: run.py's server figures, A B A B, one data set.

    git worktree add --detach /tmp/old ffd2861
    flock /tmp/gb-bench.lock .venv/bin/python benchmarks/bench_ab.py --tree old=/tmp/old --tree new=. \
        [--runs 3] [--data benchmarks/data/run-1000000] [--rate 50] [--gdb] [--json FILE]
    .venv/bin/python benchmarks/bench_ab.py --summary FILE [FILE ...] [--markdown]

Each `--tree NAME=PATH` is a checkout of Gridbase (e.g. a detached `git worktree` of an older
commit). Runs go round the trees in turn (old new old new …), so other people's load on a shared
machine hits each alike. Every run:

1. copies the built workspace of run.py (`--data`: ws/ and gridbase.db, read only) into a fresh
   folder under /tmp, opens it with the tree's own engine (a subprocess with the tree on
   PYTHONPATH), applies the workspace (`ws.apply()`, what `gridbase serve` does first: an older
   tree migrates the newer file to its own schema here, e.g. ffd2861 rebuilds one dashboard
   index, which costs ~100 MB of peak RSS once and is not what its own run.py's server did) and
   makes run.py's API tokens (as run.py makes them in its own process);
2. starts `python -m gridbase serve` from the tree (cwd and PYTHONPATH the tree's; this
   harness, its clients and its clock are the same for every tree);
3. sends the requests run.py sends its server, in run.py's order and pacing (run.py's own
   functions: Tokens, timed, form_load, InboxWatcher): the API grid page, the same through the
   view, the filterByFormula page (40 timed + 3 warm-up each), then `--clients` signed-in form
   clients flat out for `--form-seconds`, write → inbox timed by InboxWatcher;
4. reads the server's VmHWM there (the figure run.py prints; with `--gdb` also SQLite's own
   heap and its high-water mark, `sqlite3_memory_used()`, asked through gdb), then posts the
   form at a fixed rate (`--rate` a second for `--rate-seconds`, open loop: a request leaves on
   schedule whether or not the last has answered) and times write → inbox again. Flat out, the
   worker thread that sends the notification competes for Python's lock with handlers keeping
   the process at 100 % of a core, and every latency follows the share of a core the machine
   gives the server; so the flat-out figures are also given scaled to that share (`derive`).

It prints one row per run and a table per figure (each run's value per tree; new ÷ old of the
medians and the median of each round's new ÷ old), and writes every run's figures with `--json`;
`--summary` prints the table again from saved files (`--markdown`: medians and ranges).
Findings: benchmarks/README.md, "Issue 16 item 11".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_engine import free_port, percentile, timed  # noqa: E402
from run import FORMULA, GRID_FORMULA, Tokens  # noqa: E402
from run_data import PASSWORD  # noqa: E402
from run_forms import CSRF, InboxWatcher, cpu_seconds, form_load, proc_status, stop, wait_http  # noqa: E402

TOKENS = """
import json, sys
from engine import Workspace
from engine import tokens
ws = Workspace.open(sys.argv[1], db=sys.argv[2])
ws.apply()
print(json.dumps([tokens.create(ws, "admin", name=f"bench{i}")[0] for i in range(int(sys.argv[3]))]))
ws.close()
"""


def tree_env(tree: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, **(extra or {}), "PYTHONPATH": str(tree)}


def sqlite_memory(pid: int) -> dict[str, float]:
    """SQLite's own heap in a running process (MB): `sqlite3_memory_used()` and its high-water
    mark, asked through gdb (the process stops for the moment gdb is attached); {} without gdb."""
    gdb = shutil.which("gdb")
    if gdb is None:
        return {}
    done = subprocess.run([gdb, "-p", str(pid), "-batch", "-ex", "call (long long) sqlite3_memory_used()",
                           "-ex", "call (long long) sqlite3_memory_highwater(0)"], capture_output=True, text=True,
                          timeout=60)
    values = [int(line.split("=", 1)[1]) for line in done.stdout.splitlines() if line.startswith("$")]
    return {"used": values[0] / 2**20, "highwater": values[1] / 2**20} if len(values) == 2 else {}


def rss_by_kind(pid: int) -> dict[str, float]:
    """The process's resident memory (MB) by kind of mapping, from /proc/PID/smaps: the brk heap
    (the main thread's malloc), anonymous mappings starting on a 64 MB boundary (glibc's malloc
    arenas of the other threads: each reserves 64 MB so aligned and makes what it uses
    writable from its start), other anonymous mappings (Python's object arenas, large
    allocations, thread stacks), files."""
    out = {"heap": 0.0, "arenas 64 MB": 0.0, "other anonymous": 0.0, "files": 0.0}
    kind = "files"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and not head[0].endswith(":"):
            start = int(head[0].split("-")[0], 16)
            name = head[5] if len(head) > 5 else ""
            kind = "heap" if name == "[heap]" else "files" if name.startswith("/") else \
                "arenas 64 MB" if start % (64 * 2**20) == 0 else "other anonymous"
        elif head[0] == "Rss:":
            out[kind] += int(head[1]) / 1024
    return out


def memory(pid: int) -> dict[str, int]:
    """VmHWM, VmRSS (MB) and the thread count of a process."""
    out = proc_status(pid)
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            out["threads"] = int(line.split()[1])
    return out


async def fixed_rate(url: str, rate: float, seconds: float, watcher: InboxWatcher, cpu: Callable[[], float],
                     sessions: int = 8) -> dict[str, Any]:
    """Open loop: one form POST every 1/rate s for `seconds`, each on its own task, over `sessions`
    signed-in clients in turn; latencies of the POST and of write → inbox, and the server's CPU
    seconds (`cpu()`) from after the sign-ins to when the notifications are in."""
    webs = [httpx.AsyncClient(base_url=url, timeout=60, follow_redirects=False) for _ in range(sessions)]
    latencies: list[float] = []
    started: dict[str, float] = {}
    statuses: dict[int, int] = {}

    async def sign_in(web: httpx.AsyncClient) -> str:
        match = CSRF.search((await web.get("/login")).text)
        token = (match.group(1) or match.group(2)) if match else ""
        r = await web.post("/login", data={"username": "admin", "password": PASSWORD, "next": "/", "csrf_token": token})
        if r.status_code != 303:
            raise SystemExit(f"sign-in answered {r.status_code}")
        match = CSRF.search((await web.get("/f/clinic/intake")).text)
        return (match.group(1) or match.group(2)) if match else ""

    async def post(web: httpx.AsyncClient, csrf: str, title: str) -> None:
        t0 = time.perf_counter()
        started[title] = t0
        try:
            r = await web.post("/f/clinic/intake", data={"title": title, "amount": "123.45", "status": "open",
                                                          "center": "A", "visit_date": "2026-06-15", "csrf_token": csrf})
            status = r.status_code
        except httpx.TransportError:  # counted, not fatal: an overloaded server may drop a connection
            status = 0
        latencies.append((time.perf_counter() - t0) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        if status != 200:
            started.pop(title, None)

    try:
        csrfs = await asyncio.gather(*(sign_in(web) for web in webs))
        tasks = []
        cpu_began = cpu()
        began = time.perf_counter()
        n = int(rate * seconds)
        for i in range(n):
            due = began + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(post(webs[i % sessions], csrfs[i % sessions], f"rate #{i} {time.perf_counter_ns()}")))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
    finally:
        for web in webs:
            await web.aclose()
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline and any(t not in watcher.seen for t in started):
        await asyncio.sleep(0.05)
    inbox = [(watcher.seen[t] - t0) * 1000 for t, t0 in started.items() if t in watcher.seen]
    return {"ok": statuses.get(200, 0), "elapsed_s": elapsed, "latencies": latencies, "inbox": inbox,
            "cpu_s": cpu() - cpu_began,
            "statuses": statuses, "missing": len(started) - len(inbox)}


def one_run(name: str, tree: Path, args: argparse.Namespace, extra: dict[str, str] | None = None) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"gb-ab-{name}-", dir=args.tmp))
    try:
        shutil.copytree(args.data / "ws", folder / "ws")
        if (args.data / "attachments").is_dir():
            shutil.copytree(args.data / "attachments", folder / "attachments")
        db = folder / "gridbase.db"
        subprocess.run(["cp", "--reflink=auto", str(args.data / "gridbase.db"), str(db)], check=True)
        made = subprocess.run([sys.executable, "-c", TOKENS, str(folder / "ws"), str(db), "8"], cwd=tree,
                              env=tree_env(tree), check=True, capture_output=True, text=True)
        secrets = json.loads(made.stdout.strip().splitlines()[-1])
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "gridbase", "serve", str(folder / "ws"), "--db", str(db),
                                   "--port", str(port)], cwd=tree, env=tree_env(tree, extra), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, start_new_session=True)
        watcher = None
        try:
            wait_http(url + "/login", server)
            out: dict[str, Any] = {"tree": name, "load_before": os.getloadavg()[0], "mem_start": memory(server.pid)}
            tokens = Tokens(secrets)
            api = httpx.Client(base_url=url, timeout=60)

            def api_get(params: dict[str, str]) -> None:
                r = api.get("/v0/clinic/visits", params=params, headers={"Authorization": f"Bearer {tokens.current()}"})
                if r.status_code != 200 or len(r.json()["records"]) != 50:
                    raise SystemExit(f"{name}: API answered {r.status_code}: {r.text[:300]}")

            grid = {"filterByFormula": GRID_FORMULA, "sort[0][field]": "visit_date", "sort[0][direction]": "desc",
                    "pageSize": "50"}
            out["api_grid_p50"] = statistics.median(timed(lambda: api_get(grid), 40, 3, tokens.pace))
            out["api_view_p50"] = statistics.median(timed(lambda: api_get({"view": "open_recent", "pageSize": "50"}), 40, 3,
                                                          tokens.pace))
            out["api_formula_p50"] = statistics.median(timed(lambda: api_get({"filterByFormula": FORMULA, "pageSize": "50"}),
                                                             40, 3, tokens.pace))
            api.close()
            out["mem_api"] = memory(server.pid)
            watcher = InboxWatcher(db)
            watcher.start()
            load = asyncio.run(form_load([url], args.clients, args.form_seconds, watcher,
                                         lambda: {"gridbase": cpu_seconds([server.pid])}))
            out["form_statuses"] = load["statuses"]
            out["mem_forms"] = memory(server.pid)  # run.py's "server peak RSS (VmHWM)"
            if args.gdb:
                out["sqlite_forms"] = sqlite_memory(server.pid)
                out["rss_kinds"] = rss_by_kind(server.pid)
            out["form_rate"] = load["ok"] / load["elapsed_s"]
            out["form_p50"] = statistics.median(load["latencies"])
            out["form_p99"] = percentile(load["latencies"], 99)
            out["form_cpu_ms"] = load["cpu_s"]["gridbase"] / max(load["ok"], 1) * 1000
            out["inbox_p50"] = statistics.median(load["inbox"]) if load["inbox"] else None
            out["inbox_p99"] = percentile(load["inbox"], 99) if load["inbox"] else None
            out["inbox_missing"] = load["missing_notifications"]
            derive(out)
            if args.rate:
                fixed = asyncio.run(fixed_rate(url, args.rate, args.rate_seconds, watcher, lambda: cpu_seconds([server.pid])))
                out["rate_cpu_ms"] = fixed["cpu_s"] / max(fixed["ok"], 1) * 1000
                out["rate_statuses"] = fixed["statuses"]
                out["rate_achieved"] = fixed["ok"] / fixed["elapsed_s"]
                out["rate_form_p50"] = statistics.median(fixed["latencies"])
                out["rate_form_p99"] = percentile(fixed["latencies"], 99)
                out["rate_inbox_p50"] = statistics.median(fixed["inbox"]) if fixed["inbox"] else None
                out["rate_inbox_p99"] = percentile(fixed["inbox"], 99) if fixed["inbox"] else None
                out["rate_missing"] = fixed["missing"]
                out["mem_end"] = memory(server.pid)
            out["load_after"] = os.getloadavg()[0]
            return out
        finally:
            if watcher is not None:
                watcher.halt.set()
            stop(server)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def derive(run: dict[str, Any]) -> None:
    """Figures of the flat-out load scaled to the CPU the server got. Eight clients back to back
    on a process bound by Python's lock wait about 8 × (CPU per submission) ÷ (the share of a core
    the machine gave the server); on a shared machine that share moves from 0.4 to 0.95 between
    runs. Latency × share is the latency at one whole core: what the code costs, less the load."""
    if run.get("form_rate") and run.get("form_cpu_ms"):
        run["cores"] = run["form_rate"] * run["form_cpu_ms"] / 1000
        for key in ("form_p50", "form_p99", "inbox_p50", "inbox_p99"):
            if run.get(key) is not None:
                run[f"{key}_core"] = run[key] * run["cores"]


FIGURES = [("mem_start", "VmHWM after start", "MB"), ("mem_api", "VmHWM after the API requests", "MB"),
           ("mem_forms", "server peak RSS (VmHWM) after the form load, run.py's figure", "MB"),
           ("sqlite_forms", "of which SQLite's heap at its high-water mark (--gdb)", "MB"),
           ("mem_end", "VmHWM after the fixed-rate load too", "MB"),
           ("api_grid_p50", "grid first page, HTTP API p50", "ms"), ("api_view_p50", "the same through the view, p50", "ms"),
           ("api_formula_p50", "filterByFormula first page, HTTP API p50", "ms"),
           ("form_rate", "form submissions/s (flat out)", "/s"), ("form_p50", "form submission p50", "ms"),
           ("form_p99", "form submission p99", "ms"), ("form_cpu_ms", "server CPU per submission", "ms"),
           ("inbox_p50", "write -> inbox p50 (flat out)", "ms"), ("inbox_p99", "write -> inbox p99 (flat out)", "ms"),
           ("cores", "share of a core the server got (flat out)", "cores"),
           ("form_p50_core", "form p50 x that share (at one core)", "ms"), ("form_p99_core", "form p99 x that share", "ms"),
           ("inbox_p50_core", "write -> inbox p50 x that share", "ms"), ("inbox_p99_core", "write -> inbox p99 x that share", "ms"),
           ("rate_achieved", "fixed rate achieved", "/s"),
           ("rate_cpu_ms", "server CPU per submission at the fixed rate", "ms"), ("rate_form_p50", "form p50 at the fixed rate", "ms"),
           ("rate_form_p99", "form p99 at the fixed rate", "ms"),
           ("rate_inbox_p50", "write -> inbox p50 at the fixed rate", "ms"),
           ("rate_inbox_p99", "write -> inbox p99 at the fixed rate", "ms")]


def value(run: dict[str, Any], key: str) -> float | None:
    v = run.get(key)
    return v.get("highwater" if key.startswith("sqlite") else "VmHWM") if isinstance(v, dict) else v


def paired(runs: list[dict[str, Any]], key: str, a: str, b: str) -> float:
    """The median over rounds of b's figure ÷ a's in the same round (a round runs every tree
    once, back to back, so the machine's load of the moment divides out)."""
    ratios = []
    for n in sorted({r["round"] for r in runs}):
        x = [v for r in runs if r["round"] == n and r["tree"] == a and (v := value(r, key))]
        y = [v for r in runs if r["round"] == n and r["tree"] == b and (v := value(r, key))]
        if x and y:
            ratios.append(y[0] / x[0])
    return statistics.median(ratios) if ratios else float("nan")


def fmt(values: list[float], unit: str) -> str:
    digits = {"MB": 0, "cores": 2}.get(unit, 1)
    return ", ".join(f"{v:.{digits}f}" for v in values)


def markdown(runs: list[dict[str, Any]], names: list[str]) -> None:
    """The same as `summary`, as a Markdown table: median (range) per tree, then the ratios."""
    a, b = names[0], names[-1]
    print(f"| figure | {a} | {b} | {b} ÷ {a}: medians, rounds |\n|---|---|---|---|")
    for key, label, unit in FIGURES:
        per: dict[str, list[float]] = {n: [v for r in runs if r["tree"] == n and (v := value(r, key)) is not None]
                                       for n in names}
        if not per[a] or not per[b]:
            continue
        cells = [f"{fmt([statistics.median(per[n])], unit)} ({fmt([min(per[n])], unit)} – {fmt([max(per[n])], unit)})"
                 for n in (a, b)]
        ratio = statistics.median(per[b]) / statistics.median(per[a])
        print(f"| {label} ({unit}) | {cells[0]} | {cells[1]} | {ratio:.2f}, {paired(runs, key, a, b):.2f} |")


def summary(runs: list[dict[str, Any]], names: list[str]) -> None:
    print(f"\n{'figure':<62} | " + " | ".join(f"{n + ' (each run)':>30}" for n in names)
          + (f" | {names[-1]} / {names[0]}: of the medians, median of each round's" if len(names) > 1 else ""))
    for key, label, unit in FIGURES:
        per: dict[str, list[float]] = {n: [v for r in runs if r["tree"] == n and (v := value(r, key)) is not None]
                                       for n in names}
        if not any(per.values()):
            continue
        cells = [fmt(per[n], unit) for n in names]
        ratio = ""
        if len(names) > 1 and per[names[0]] and per[names[-1]]:
            ratio = (f"{statistics.median(per[names[-1]]) / statistics.median(per[names[0]]):.2f}, "
                     f"{paired(runs, key, names[0], names[-1]):.2f}")
        print(f"{label + ' (' + unit + ')':<62} | " + " | ".join(f"{c:>30}" for c in cells) + f" | {ratio}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tree", action="append", default=[], metavar="NAME=PATH", help="a checkout to serve from")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VAR=VALUE",
                        help="an environment variable for the server of tree NAME only (e.g. MALLOC_ARENA_MAX)")
    parser.add_argument("--runs", type=int, default=3, help="runs per tree (default 3)")
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "data" / "run-1000000",
                        help="run.py's built folder (ws/ and gridbase.db), copied for every run, never written")
    parser.add_argument("--tmp", type=Path, default=Path("/tmp"), help="where each run's copy goes")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--form-seconds", type=float, default=15.0)
    parser.add_argument("--rate", type=float, default=50.0, help="fixed form rate a second (0: skip)")
    parser.add_argument("--rate-seconds", type=float, default=15.0)
    parser.add_argument("--gdb", action="store_true",
                        help="after the form load, also ask the server (gdb) how much of its heap is SQLite's")
    parser.add_argument("--json", type=Path, metavar="FILE")
    parser.add_argument("--summary", type=Path, nargs="+", metavar="FILE",
                        help="measure nothing: print the table of these --json files (rounds numbered on across files)")
    parser.add_argument("--markdown", action="store_true", help="with --summary: a Markdown table of medians and ratios")
    args = parser.parse_args(argv)
    if args.summary:
        saved: list[dict[str, Any]] = []
        for path in args.summary:
            more = json.loads(path.read_text(encoding="utf-8"))
            offset = max((r["round"] for r in saved), default=0)
            for run in more:
                run["round"] += offset
                derive(run)
            saved += more
        (markdown if args.markdown else summary)(saved, list(dict.fromkeys(r["tree"] for r in saved)))
        return 0
    if not args.tree:
        parser.error("give --tree NAME=PATH (twice or more), or --summary FILE")
    trees = [(spec.split("=", 1)[0], Path(spec.split("=", 1)[1]).resolve()) for spec in args.tree]
    extra: dict[str, dict[str, str]] = {}
    for spec in args.server_env:
        name, var, val = spec.split("=", 2)
        extra.setdefault(name, {})[var] = val
    runs: list[dict[str, Any]] = []
    for i in range(args.runs):
        for name, tree in trees:
            began = time.perf_counter()
            run = one_run(name, tree, args, extra.get(name))
            run["round"] = i + 1
            runs.append(run)
            print(f"[{time.strftime('%H:%M:%S')}] {name} round {i + 1} ({time.perf_counter() - began:.0f} s): "
                  + ", ".join(f"{k} {value(run, k):.1f}" for k, _, _ in FIGURES if value(run, k) is not None)
                  + (f"; RSS by kind {run['rss_kinds']}" if run.get("rss_kinds") else ""), flush=True)
            if args.json:
                args.json.write_text(json.dumps(runs, indent=1), encoding="utf-8")
    summary(runs, [name for name, _ in trees])
    return 0


if __name__ == "__main__":
    sys.exit(main())
