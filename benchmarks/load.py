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
kind. `--rates R1,R2` runs several rates in turn on one server; `--capacity START` searches:
rates up by half from START until one is not served (p99 over all kinds above 500 ms, or an
error), then one step halfway back; the capacity is the highest rate served. `--big [DIR]`
loads the 1,000,000-row data set of bench_grid_page.py (run.py's visits base: a grid view, a
signed-in form and a dashboard, no kanban) instead of the dental demo. `--py-spy FILE` records
the server meanwhile (a flame graph for .svg; py-spy from PyPI, on PATH or beside python);
`--json FILE` keeps the figures. The load generator shares the machine's cores with the
server: figures are for the pair.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import importlib.util
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_engine import child_env, free_port  # noqa: E402  (shared with run.py)

DENTAL = ROOT / "examples" / "dalian_dental"
BASE, TABLE, EDIT_FIELD = "complaints", "complaints", "result"
FORM = "report"
PERSON, PASSWORD = "admin", "demo1234"
BIG_PASSWORD = "bench-pass-1234"  # bench_grid_page.py's admin
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"|name="csrf-token" content="([^"]+)"')


@dataclass
class Ack:
    """One write the server acknowledged."""

    kind: str  # cell | api_update | api_create | form
    record: str | None
    value: str


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)
    reconnects: int = 0


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


def start_server(target: Target, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "gridbase", "serve", str(target.ws_dir), "--db", str(target.db),
                             "--port", str(port)],
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


# -- one person --------------------------------------------------------------------------------
def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    if not match:
        raise RuntimeError("no CSRF token in the page")
    return match.group(1) or match.group(2)


async def request(client: httpx.AsyncClient, stats: Stats, kind: str, method: str, url: str, **kw: Any) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        try:
            response = await client.request(method, url, **kw)
        except httpx.RemoteProtocolError:
            if method != "GET":
                raise
            # The server closed an idle keep-alive connection as this request went out: a
            # known HTTP/1.1 race, not a server fault. A read is retried once, and counted.
            stats.reconnects += 1
            response = await client.request(method, url, **kw)
    except httpx.HTTPError as exc:
        stats.failures.append(f"{kind} {method} {url}: {type(exc).__name__}: {exc}")
        return None
    stats.latencies.append(time.perf_counter() - started)
    stats.statuses[response.status_code] += 1
    stats.by_kind[kind] += 1
    if response.status_code >= 500:
        stats.failures.append(f"{kind} {method} {url}: HTTP {response.status_code}: {response.text[:200]}")
    if "database is locked" in response.text:
        stats.failures.append(f"{kind} {method} {url}: 'database is locked' in the response")
    return response


async def person(n: int, url: str, token: str, mine: list[str], views: list[str], until: float, stats: Stats) -> None:
    rng = random.Random(n)
    limits = httpx.Limits(max_connections=2)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits, follow_redirects=False) as web, \
            httpx.AsyncClient(base_url=url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as api:
        page = await request(web, stats, "login_page", "GET", "/login")
        if page is None:
            return
        login = await request(web, stats, "login", "POST", "/login", data={
            "username": PERSON, "password": PASSWORD, "csrf_token": csrf_of(page.text), "next": "/"})
        if login is None or login.status_code != 303:
            stats.failures.append(f"user {n}: sign-in failed ({login.status_code if login else 'no answer'})")
            return
        table_url = f"/b/{BASE}/t/{TABLE}"
        first = await request(web, stats, "view", "GET", table_url)
        csrf = csrf_of(first.text) if first is not None and first.status_code == 200 else ""
        i = 0
        while time.monotonic() < until:
            i += 1
            value = f"load u{n} w{i} {rng.random():.6f}"
            step = i % 6
            rid = mine[i % len(mine)] if mine else None
            if step == 0:
                view = rng.choice(views) if views else None
                await request(web, stats, "view", "GET", table_url + (f"/v/{view}" if view else ""))
            elif step == 1 and rid:
                await request(web, stats, "record", "GET", f"{table_url}/r/{rid}")
            elif step == 2 and rid:
                r = await request(web, stats, "cell", "POST", f"{table_url}/r/{rid}/cell/{EDIT_FIELD}",
                                  data={"value": value, "csrf_token": csrf}, headers={"HX-Request": "true"})
                if r is not None and r.status_code == 200:
                    stats.acks.append(Ack("cell", rid, value))
            elif step == 3:
                form = await request(web, stats, "form_page", "GET", f"/f/{BASE}/{FORM}")
                if form is not None and form.status_code == 200:
                    r = await request(web, stats, "form", "POST", f"/f/{BASE}/{FORM}", data={
                        "title": value[:90], "category": "其他", "description": "load test " + value,
                        "csrf_token": csrf_of(form.text)})
                    if r is not None and r.status_code == 200:
                        stats.acks.append(Ack("form", None, value[:90]))
            elif step == 4:
                await request(api, stats, "api_list", "GET", f"/v0/{BASE}/{TABLE}", params={"pageSize": 20})
                if rid:
                    r = await request(api, stats, "api_update", "PATCH", f"/v0/{BASE}/{TABLE}/{rid}",
                                      json={"fields": {EDIT_FIELD: value}})
                    if r is not None and r.status_code == 200:
                        stats.acks.append(Ack("api_update", rid, value))
            elif step == 5:
                r = await request(api, stats, "api_create", "POST", f"/v0/{BASE}/{TABLE}",
                                  json={"fields": {"title": value[:90]}})
                if r is not None and r.status_code == 200:
                    created = r.json().get("id")
                    stats.acks.append(Ack("api_create", created, value[:90]))
            await asyncio.sleep(rng.uniform(0.0, 0.05))


# -- open loop ---------------------------------------------------------------------------------
#: Share of each operation kind in the open-loop mix (weights). A kind the workspace has no
#: page for (the 1,000,000-row base has no kanban) is left out and the others keep their shares.
MIX = {"grid": 22, "kanban": 6, "dashboard": 4, "record": 18, "cell": 14, "form": 10, "api_list": 10,
       "api_update": 10, "api_create": 6}
CAPACITY_P99 = 0.5  # seconds: the p99 under which a rate counts as served


@dataclass
class Target:
    """The workspace a run loads: where it is and what its people open, edit and submit."""

    name: str
    ws_dir: Path
    db: Path
    base: str
    table: str
    edit_field: str
    form: str
    person: str
    password: str
    views: list[str]
    kanban: str | None
    dashboard: str | None
    form_fields: dict[str, str]  # the form's other fields; "title" is the operation's value
    api_fields: dict[str, str] = field(default_factory=dict)

    def kinds(self) -> dict[str, int]:
        return {k: w for k, w in MIX.items() if not (k == "kanban" and not self.kanban)
                and not (k == "dashboard" and not self.dashboard)}


def dental_target(ws_dir: Path) -> Target:
    from engine.loader import load_workspace

    tdef = load_workspace(ws_dir).bases[BASE].tables[TABLE]
    kanban = next((k for k, v in tdef.views.items() if v.type == "kanban"), None)
    return Target("dental demo", ws_dir, ws_dir / "data" / "gridbase.db", BASE, TABLE, EDIT_FIELD, FORM, PERSON, PASSWORD,
                  [k for k, v in tdef.views.items() if v.type == "grid"], kanban, "overview",
                  {"category": "其他", "description": "open loop"})


def big_target(folder: Path) -> Target:
    """A data set of bench_grid_page.py (run.py's base: visits, a view, a signed-in form)."""
    if not (folder / "gridbase.db").exists():
        raise SystemExit(f"no data in {folder}: make it with benchmarks/bench_grid_page.py --build 1000000")
    return Target(f"{folder.name} (run.py's visits)", folder / "ws", folder / "gridbase.db", "clinic", "visits", "title",
                  "intake", "admin", BIG_PASSWORD, ["open_recent"], None, "overview",
                  {"amount": "12.5", "status": "open", "center": "A", "visit_date": "2026-07-01"})


@dataclass
class Session:
    """One signed-in person of the open loop: a web client, an API client, their records."""

    web: httpx.AsyncClient
    api: httpx.AsyncClient
    csrf: str
    mine: list[str]


@dataclass
class OpenStats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    late: int = 0  # operations started more than 100 ms after they were due (the generator fell behind)


async def open_session(n: int, url: str, token: str, mine: list[str], target: Target, stats: Stats) -> Session | None:
    # Idle connections are dropped by the client before uvicorn's 5 s keep-alive closes them: a
    # think time longer than that would otherwise race a request against the server's close.
    limits = httpx.Limits(max_connections=8, keepalive_expiry=4)
    web = httpx.AsyncClient(base_url=url, timeout=60, limits=limits, follow_redirects=False)
    api = httpx.AsyncClient(base_url=url, timeout=60, limits=limits, headers={"Authorization": f"Bearer {token}"})
    page = await request(web, stats, "login_page", "GET", "/login")
    login = page and await request(web, stats, "login", "POST", "/login", data={
        "username": target.person, "password": target.password, "csrf_token": csrf_of(page.text), "next": "/"})
    first = login and login.status_code == 303 and await request(web, stats, "grid", "GET", f"/b/{target.base}/t/{target.table}")
    if not first or first.status_code != 200:
        stats.failures.append(f"user {n}: sign-in failed")
        await web.aclose()
        await api.aclose()
        return None
    return Session(web, api, csrf_of(first.text), mine)


COUNT_URL = re.compile(r'data-total=""[^>]*data-count-url="([^"]+)"')


async def operation(kind: str, who: Session, target: Target, rng: random.Random, stats: Stats) -> bool:
    """Do one operation of `kind` as `who`; True when every answer was a success."""
    table_url = f"/b/{target.base}/t/{target.table}"
    value = f"open {rng.random():.9f}"
    rid = rng.choice(who.mine) if who.mine else None
    ok = (200, 201, 303)

    def good(r: httpx.Response | None) -> bool:
        return r is not None and r.status_code in ok

    if kind == "grid":
        view = rng.choice(target.views) if target.views and rng.random() < 0.5 else None
        r = await request(who.web, stats, kind, "GET", table_url + (f"/v/{view}" if view else ""))
        counted = COUNT_URL.search(r.text) if good(r) and r is not None else None
        if counted:  # a big view's first screen comes without its count: the grid asks for it next
            r = await request(who.web, stats, kind, "GET", html.unescape(counted.group(1)),
                              headers={"Accept": "application/json"})
        return good(r)
    if kind == "kanban":
        return good(await request(who.web, stats, kind, "GET", f"{table_url}/v/{target.kanban}"))
    if kind == "dashboard":
        return good(await request(who.web, stats, kind, "GET", f"/b/{target.base}/d/{target.dashboard}"))
    if kind == "record" and rid:
        return good(await request(who.web, stats, kind, "GET", f"{table_url}/r/{rid}"))
    if kind == "cell" and rid:
        r = await request(who.web, stats, kind, "POST", f"{table_url}/r/{rid}/cell/{target.edit_field}",
                          data={"value": value, "csrf_token": who.csrf}, headers={"HX-Request": "true"})
        if r is not None and r.status_code == 200:
            stats.acks.append(Ack("cell", rid, value))
        return good(r)
    if kind == "form":
        form = await request(who.web, stats, "form_page", "GET", f"/f/{target.base}/{target.form}")
        if form is None or form.status_code != 200:
            return False
        r = await request(who.web, stats, kind, "POST", f"/f/{target.base}/{target.form}", data={
            "title": value, **target.form_fields, "csrf_token": csrf_of(form.text)})
        if r is not None and r.status_code == 200:
            stats.acks.append(Ack("form", None, value))
        return good(r)
    if kind == "api_list":
        return good(await request(who.api, stats, kind, "GET", f"/v0/{target.base}/{target.table}", params={"pageSize": 20}))
    if kind == "api_update" and rid:
        r = await request(who.api, stats, kind, "PATCH", f"/v0/{target.base}/{target.table}/{rid}",
                          json={"fields": {target.edit_field: value}})
        if r is not None and r.status_code == 200:
            stats.acks.append(Ack("api_update", rid, value))
        return good(r)
    if kind == "api_create":
        r = await request(who.api, stats, kind, "POST", f"/v0/{target.base}/{target.table}", json={"fields": {"title": value}})
        if r is not None and r.status_code == 200:
            stats.acks.append(Ack("api_create", r.json().get("id"), value))
        return good(r)
    return True


async def open_loop(sessions: list[Session], target: Target, rate: float, duration: float, stats: Stats,
                    seed: int) -> OpenStats:
    """Each person acts after a think time (exponential, mean len(sessions) / rate seconds)
    counted from when their last action was *due*, not from its answer: together `rate`
    operations a second (Poisson arrivals), however slow the server. Waits for them all."""
    mix = target.kinds()
    kinds, weights = list(mix), list(mix.values())
    result = OpenStats()
    tasks: list[asyncio.Task[None]] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    each = rate / len(sessions)

    async def one(kind: str, due: float, who: Session, op_rng: random.Random) -> None:
        if loop.time() - due > 0.1:
            result.late += 1
        success = await operation(kind, who, target, op_rng, stats)
        result.latencies.setdefault(kind, []).append(loop.time() - due)
        if not success:
            result.errors[kind] += 1

    async def person_acts(who: Session, rng: random.Random) -> None:
        due = start + rng.expovariate(each)
        while due - start <= duration:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            kind = rng.choices(kinds, weights)[0]
            tasks.append(asyncio.create_task(one(kind, due, who, random.Random(rng.random()))))
            due += rng.expovariate(each)

    seeds = random.Random(seed)
    await asyncio.gather(*(person_acts(who, random.Random(seeds.random())) for who in sessions))
    await asyncio.gather(*tasks)
    return result


async def watch_live(who: Session, target: Target, stop: asyncio.Event, heard: Counter[str], stats: Stats) -> None:
    """Hold one page's live stream open until `stop`; count the events that reach it by kind."""
    try:
        async with who.web.stream("GET", "/live", params={"base": target.base, "table": target.table},
                                  headers={"Accept": "text/event-stream"}, timeout=None) as answer:
            if answer.status_code != 200:
                stats.failures.append(f"live stream: HTTP {answer.status_code}")
                return
            lines = answer.aiter_lines()
            while not stop.is_set():
                try:
                    line = await asyncio.wait_for(lines.__anext__(), timeout=0.5)
                except TimeoutError:
                    continue
                except StopAsyncIteration:
                    return
                if line.startswith("event:"):
                    heard[line[6:].strip()] += 1
    except httpx.HTTPError as exc:
        if not stop.is_set():
            stats.failures.append(f"live stream: {type(exc).__name__}: {exc}")


def report(rate: float, result: OpenStats, elapsed: float) -> dict[str, Any]:
    """Print one rate's table (per kind and overall) and return its figures."""
    every = [x for values in result.latencies.values() for x in values]
    done = len(every)
    print(f"\nrate {rate:g}/s for {elapsed:.0f} s: {done} operations ({done / elapsed:.1f}/s), "
          f"{sum(result.errors.values())} errors, {result.late} started late", flush=True)
    print(f"{'kind':<12} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    kinds: dict[str, Any] = {}
    for kind in [*MIX, "all"]:
        values = every if kind == "all" else result.latencies.get(kind, [])
        if not values:
            continue
        errors = sum(result.errors.values()) if kind == "all" else result.errors[kind]
        figures = {"count": len(values), "p50_ms": round(percentile(values, 50) * 1000, 1),
                   "p95_ms": round(percentile(values, 95) * 1000, 1), "p99_ms": round(percentile(values, 99) * 1000, 1),
                   "errors": errors}
        kinds[kind] = figures
        print(f"{kind:<12} {len(values):>6} {figures['p50_ms']:>8.0f} {figures['p95_ms']:>8.0f} "
              f"{figures['p99_ms']:>8.0f} {errors:>7}", flush=True)
    return {"rate": rate, "operations": done, "errors": sum(result.errors.values()), "late": result.late,
            "p50_ms": kinds.get("all", {}).get("p50_ms", 0.0), "p95_ms": kinds.get("all", {}).get("p95_ms", 0.0),
            "p99_ms": kinds.get("all", {}).get("p99_ms", 0.0), "by_kind": kinds}


def served(figures: dict[str, Any]) -> bool:
    return figures["p99_ms"] <= CAPACITY_P99 * 1000 and not figures["errors"]


async def step_search(sessions: list[Session], target: Target, start: float, duration: float, stats: Stats,
                      figures: list[dict[str, Any]], most: float = 2000) -> float:
    """The capacity by a short step search: rates up by half each step from `start` until one is
    not served (p99 over 500 ms or an error), then one step halfway back between the last served
    rate and it. Returns the highest served rate (0 if even `start` is not)."""
    rate, good, bad = start, 0.0, None
    while rate <= most:
        began = time.monotonic()
        figures.append(report(rate, await open_loop(sessions, target, rate, duration, stats, seed=int(rate)),
                              time.monotonic() - began))
        if not served(figures[-1]):
            bad = rate
            break
        good, rate = rate, round(rate * 1.5)
    if bad is not None and good and bad - good > 10:
        middle = round((good + bad) / 2)
        began = time.monotonic()
        figures.append(report(middle, await open_loop(sessions, target, middle, duration, stats, seed=int(middle)),
                              time.monotonic() - began))
        if served(figures[-1]):
            good = middle
    return good


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


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


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


def start_spy(pid: int, out: Path, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy recording the server for `seconds` (.svg: a flame graph; else collapsed stacks)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen([spy, "record", "-o", str(out), "--pid", str(pid), "--duration", str(int(seconds)),
                             "--rate", "50", "--nonblocking", "--format", "flamegraph" if out.suffix == ".svg" else "raw"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def run(users: int, duration: float, scale: float, keep: bool, rates: list[float] | None = None,
              live: int = 0, big: Path | None = None, capacity: float | None = None, spy: Path | None = None,
              json_out: Path | None = None) -> int:
    folder = Path(tempfile.mkdtemp(prefix="gridbase-load-"))
    server: subprocess.Popen[bytes] | None = None
    open_loop_mode = bool(rates or capacity)
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
        server = start_server(target, port)
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
            started = time.monotonic()
            stop, heard = asyncio.Event(), Counter[str]()
            watchers = [asyncio.create_task(watch_live(s, target, stop, heard, stats)) for s in sessions[:live]]
            planned = duration * (len(rates or []) + (6 if capacity else 0))
            spying = start_spy(server.pid, spy, planned) if spy else None
            for i, rate in enumerate(rates or []):
                began = time.monotonic()
                result = await open_loop(sessions, target, rate, duration, stats, seed=2026 + i)
                figures.append(report(rate, result, time.monotonic() - began))
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
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
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
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",")] if args.rates else ([args.rate] if args.rate else None)
    return asyncio.run(run(args.users, args.duration, args.scale, args.keep, rates, min(args.live, 30), args.big,
                           args.capacity, args.py_spy, args.json))


if __name__ == "__main__":
    sys.exit(main())
