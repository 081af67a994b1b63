"""The traffic of benchmarks/load.py: what each simulated person does over HTTP, and the open loop.

This module owns the requests and how they are measured: a person's closed loop (`person`: a
view, a record, a cell edit, a form, API list/update/create, each acknowledged write kept as an
`Ack`), the workspace a run loads (`Target`: the dental demo or the 1,000,000-row base), the
open loop's operations (`MIX`, `operation`, `open_loop`: arrivals at a fixed rate whether or
not earlier ones finished, latency from when an operation was due), live-update streams
(`watch_live`), the per-kind report and the capacity step search. benchmarks/load.py sets the
server up, runs these and checks that nothing was lost.
"""

from __future__ import annotations

import asyncio
import gc
import html
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from lean_http import LeanClient, LeanError  # noqa: E402

Client = httpx.AsyncClient | LeanClient


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
    # every request when tracing (load.py --trace): (start, seconds, kind, method, path, status,
    # connections the client opened for it) — start is time.perf_counter()
    trace: list[tuple[float, float, str, str, str, int, int]] | None = None


# -- one person --------------------------------------------------------------------------------
def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    if not match:
        raise RuntimeError("no CSRF token in the page")
    return match.group(1) or match.group(2)


async def request(client: Client, stats: Stats, kind: str, method: str, url: str, **kw: Any) -> Any:
    started = time.perf_counter()
    opened = getattr(client, "opened", 0)
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
    except (httpx.HTTPError, LeanError, TimeoutError) as exc:
        stats.failures.append(f"{kind} {method} {url}: {type(exc).__name__}: {exc}")
        return None
    took = time.perf_counter() - started
    stats.latencies.append(took)
    if stats.trace is not None:
        stats.trace.append((started, took, kind, method, url.split("?")[0], response.status_code,
                            getattr(client, "opened", 0) - opened))
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
    """One signed-in person of the open loop: a web client, an API client, their records (the
    lean client, benchmarks/lean_http.py: the load generator shares the server's two cores)."""

    web: LeanClient
    api: LeanClient
    csrf: str
    mine: list[str]
    url: str


@dataclass
class OpenStats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    late: int = 0  # operations started more than 100 ms after they were due (the generator fell behind)
    operations: list[tuple[float, float, str]] = field(default_factory=list)  # (due, seconds, kind)


async def open_session(n: int, url: str, token: str, mine: list[str], target: Target, stats: Stats) -> Session | None:
    # Idle connections are dropped by the client before uvicorn's 5 s keep-alive closes them
    # (lean_http.KEEP_ALIVE): a longer think time would race a request against the server's close.
    web = LeanClient(url)
    api = LeanClient(url, headers={"Authorization": f"Bearer {token}"})
    page = await request(web, stats, "login_page", "GET", "/login")
    login = page and await request(web, stats, "login", "POST", "/login", data={
        "username": target.person, "password": target.password, "csrf_token": csrf_of(page.text), "next": "/"})
    first = login and login.status_code == 303 and await request(web, stats, "grid", "GET", f"/b/{target.base}/t/{target.table}")
    if not first or first.status_code != 200:
        stats.failures.append(f"user {n}: sign-in failed")
        await web.aclose()
        await api.aclose()
        return None
    return Session(web, api, csrf_of(first.text), mine, url)


COUNT_URL = re.compile(r'data-total=""[^>]*data-count-url="([^"]+)"')


async def operation(kind: str, who: Session, target: Target, rng: random.Random, stats: Stats) -> bool:
    """Do one operation of `kind` as `who`; True when every answer was a success."""
    table_url = f"/b/{target.base}/t/{target.table}"
    value = f"open {rng.random():.9f}"
    rid = rng.choice(who.mine) if who.mine else None
    ok = (200, 201, 303)

    def good(r: Any) -> bool:
        return r is not None and r.status_code in ok

    if kind == "grid":
        view = rng.choice(target.views) if target.views and rng.random() < 0.5 else None
        r = await request(who.web, stats, kind, "GET", table_url + (f"/v/{view}" if view else ""))
        counted = COUNT_URL.search(r.text) if good(r) and r is not None else None
        if counted:  # a big view's first screen comes without its count: the grid asks for it next
            r = await request(who.web, stats, kind, "GET", html.unescape(counted.group(1)),
                              headers={"Accept": "application/json"})
        return good(r)
    if kind == "kanban":  # the board itself: …/v/KEY only redirects to …/kanban/KEY (a 303 of 0.5 ms)
        return good(await request(who.web, stats, kind, "GET", f"{table_url}/kanban/{target.kanban}"))
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
        took = loop.time() - due
        result.latencies.setdefault(kind, []).append(took)
        result.operations.append((due, took, kind))
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
    # No cycle collection in this process meanwhile: a full one took 70 – 110 ms here (the load
    # generator's heap), charged to every request in flight. Collected and frozen first.
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        await asyncio.gather(*(person_acts(who, random.Random(seeds.random())) for who in sessions))
        await asyncio.gather(*tasks)
    finally:
        gc.enable()
    return result


async def watch_live(who: Session, target: Target, stop: asyncio.Event, heard: Counter[str], stats: Stats) -> None:
    """Hold one page's live stream open until `stop`; count the events that reach it by kind
    (httpx, which streams; signed in with the person's cookies)."""
    try:
        async with httpx.AsyncClient(base_url=who.url, cookies=who.web.cookies) as web, web.stream("GET", "/live", params={"base": target.base, "table": target.table},
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



def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]
