"""Several server processes on one SQLite workspace: `gridbase serve DIR --workers 2` on loopback.

One supervisor handing each connection to one of two request workers in turn, and a third process
running the automations. Checked, in one server's life (it is the one
real-server test of this module):

- a person signed in on one worker is signed in on all (sessions live in the database);
- an API token's rate limit is one limit across the workers, not one per process;
- API creates from several clients while one worker is killed with SIGKILL: every acknowledged
  create is stored once, the `created` automation (an update and a notification) ran exactly
  once per stored record, whichever process took the event (the outbox claim inside SQLite's
  one-writer transaction), and the supervisor started a new worker in the killed one's place;
- SIGHUP restarts every worker and the port keeps answering; SIGTERM stops them all.

And, without servers: two workspaces open on one file (two connections, as two processes
have) ticking the clock at once fire a schedule and a date trigger once.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from reliability_support import ENV, STAMPED_BASE, assert_each_stored_and_run_once

from automations import tick
from engine import Workspace
from engine import tokens as tokens_api
from gridbase.workers import Supervisor
from tests_support import ROOT, WORKSPACE_YAML, write_workspace

BASE = STAMPED_BASE
PASSWORD = "procs-pass-1234"
WORKSPACE = WORKSPACE_YAML.replace("email: admin@example.org}", f"email: admin@example.org, password: {PASSWORD}}}")
CLIENTS = 6
REQUESTS = 10  # per client, 5 records each
SH = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.sqlite_only("several processes on one SQLite file; PostgreSQL's are tests/reliability/test_processes_pg.py")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(sup: subprocess.Popen[str]) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{sup.pid}/task/{sup.pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def _automations(pid: int) -> bool:
    try:
        return b"--automations-worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False


def _workers(sup: subprocess.Popen[str]) -> list[int]:
    """The request workers (the supervisor's children but its automation process)."""
    return [pid for pid in _children(sup) if not _automations(pid)]


def _until(what: str, ready: Any, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = ready()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"waited {timeout} s for {what}")


def _call(url: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                 method="POST" if body is not None else "GET",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 (loopback test server)
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


def _up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as resp:  # noqa: S310
            return resp.status == 200
    except OSError:
        return False


def test_two_workers_on_one_sqlite_file(tmp_path: Path) -> None:  # noqa: PLR0915 - one server's life
    root = write_workspace(tmp_path / "ws", {"log": BASE}, WORKSPACE)
    db = root / "data" / "gridbase.db"
    ws = Workspace.open(root)
    ws.apply()
    secrets = [tokens_api.create(ws, "admin", name=f"t{i}")[0] for i in range(CLIENTS + 1)]
    ws.close()
    port = _port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w")
    sup = subprocess.Popen([sys.executable, "-m", "gridbase", "serve", str(root), "--port", str(port), "--workers", "2"],
                           cwd=ROOT, env=ENV, text=True, stdout=log, stderr=subprocess.STDOUT)
    try:
        _until("two workers answering", lambda: len(_workers(sup)) == 2 and _up(port))
        first = _workers(sup)
        automations = [pid for pid in _children(sup) if _automations(pid)]
        assert len(automations) == 1, _children(sup)  # the automations run in a process of their own

        # Sessions: signed in through one connection, signed in on every later one (each a new
        # connection, taken by whichever worker accepts it).
        jar = http.cookiejar.CookieJar()
        web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
        page = web.open(f"{url}/login").read().decode()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page) or re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert csrf
        form = urllib.parse.urlencode({"username": "admin", "password": PASSWORD, "next": "/", "csrf_token": csrf.group(1)})
        try:
            web.open(f"{url}/login", data=form.encode())
        except urllib.error.HTTPError as exc:
            assert exc.code == 303, exc.code
        for _ in range(9):
            with web.open(f"{url}/") as resp:
                assert resp.status == 200 and "/login" not in resp.url

        # One rate limit across the workers: one token, 40 requests from 8 threads at once (each
        # its own connection, so both workers take some). Per process, twice the burst would pass.
        codes: list[int] = []
        began = time.monotonic()
        hammer = [threading.Thread(target=lambda: codes.extend(
            _call(f"{url}/v0/log/entries?pageSize=1", secrets[-1])[0] for _ in range(5))) for _ in range(8)]
        for t in hammer:
            t.start()
        for t in hammer:
            t.join(60)
        allowed = 10 + 5 * (time.monotonic() - began) + 1  # burst 10, 5 a second
        assert set(codes) <= {200, 429} and len(codes) == 40, codes
        assert codes.count(200) <= allowed, (codes, allowed)
        if allowed < 40:
            assert codes.count(429) >= 40 - allowed, (codes, allowed)

        # Creates from several clients; one worker killed with SIGKILL partway.
        acknowledged: dict[str, str] = {}
        lock = threading.Lock()
        sent = [0]
        killed: list[int] = []

        def client(n: int) -> None:
            for i in range(REQUESTS):
                for attempt in range(60):
                    body = {"records": [{"fields": {"title": f"c{n}-r{i}-a{attempt}-{k}"}} for k in range(5)]}
                    try:
                        status, answer = _call(f"{url}/v0/log/entries", secrets[n], body)
                    except (OSError, http.client.HTTPException):
                        # the killed worker's connection (refused, reset, or an answer cut short:
                        # IncompleteRead): not acknowledged, sent again
                        status, answer = 0, None
                    if status == 200:
                        with lock:
                            for asked, rec in zip(body["records"], answer["records"], strict=True):
                                acknowledged[asked["fields"]["title"]] = rec["id"]
                            sent[0] += 1
                            if sent[0] == CLIENTS * REQUESTS // 3 and not killed:
                                killed.append(first[0])
                                subprocess.run(["kill", "-KILL", str(first[0])], check=True)
                        break
                    time.sleep(0.25)  # 429 (the token's rate) or the killed worker

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert killed, (tmp_path / "serve.log").read_text()[-3000:]
        assert len(acknowledged) == CLIENTS * REQUESTS * 5
        # The supervisor started a worker in the killed one's place.
        renewed = _until("a new worker", lambda: (w := _workers(sup)) and len(w) == 2 and killed[0] not in w and w)
        assert f"pid {killed[0]}) exited with SIGKILL" in (tmp_path / "serve.log").read_text()

        conn = sqlite3.connect(db)
        _until("every event processed",
               lambda: conn.execute("SELECT count(*) FROM _gb_outbox WHERE processed_at IS NULL").fetchone()[0] == 0)
        rows = conn.execute("SELECT _id, title, note FROM log__entries WHERE _deleted_at IS NULL").fetchall()
        runs = conn.execute("SELECT record, count(*) FROM _gb_runs GROUP BY record").fetchall()
        statuses = {s for (s,) in conn.execute("SELECT DISTINCT status FROM _gb_runs")}
        notified = conn.execute("SELECT title, count(*) FROM _gb_notifications GROUP BY title").fetchall()
        conn.close()

        # SIGHUP: every worker is started again, one at a time; the port answers throughout and after.
        sup.send_signal(signal.SIGHUP)
        _until("every worker restarted", lambda: (w := _workers(sup)) and len(w) == 2 and not set(w) & set(renewed))
        _until("the automation process restarted", lambda: (a := [p for p in _children(sup) if _automations(p)])
               and a[0] not in automations)
        _until("the restarted workers answering", lambda: _up(port))
    finally:
        sup.send_signal(signal.SIGTERM)
        try:
            code = sup.wait(40)
        except subprocess.TimeoutExpired:
            sup.kill()
            code = None
        log.close()
    assert code == 0, (tmp_path / "serve.log").read_text()[-3000:]
    assert not _children(sup)

    assert_each_stored_and_run_once(acknowledged, rows, runs, statuses, notified, CLIENTS)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


TIMED = BASE.replace("""automations:
""", """automations:
  daily:
    name: 每日
    when: {schedule: "0 9 * * *"}
    do: [{notify: {to: "person:admin", title: "每日"}}]
  reminder:
    name: 提醒
    when: {date: entries, field: due, offset: -1d, at: "09:00"}
    do: [{notify: {to: "person:admin", title: "提醒 {{ record.title }}"}}]
""")


def test_two_connections_ticking_at_once_fire_each_time_trigger_once(tmp_path: Path) -> None:
    """What two processes' schedulers do on one SQLite file: each check reads and sets its fired
    mark inside the one-writer transaction, so the second finds the first's mark."""
    root = write_workspace(tmp_path / "ws", {"log": TIMED})
    one = Workspace.open(root)
    one.apply()
    one.base("log").table("entries").create({"title": "复诊", "due": "2030-03-03"}, actor="admin")
    two = Workspace.open(root)
    try:
        tick(one, datetime(2030, 3, 2, 8, 0, tzinfo=SH))
        tick(two, datetime(2030, 3, 2, 8, 0, tzinfo=SH))
        start = threading.Barrier(2)
        runs: list[int] = []

        def at_nine(ws: Workspace) -> None:
            start.wait()
            runs.append(tick(ws, datetime(2030, 3, 2, 9, 0, 30, tzinfo=SH)))

        threads = [threading.Thread(target=at_nine, args=(ws,)) for ws in (one, two)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        titles = [r[0] for r in one.storage.conn.execute("SELECT title FROM _gb_notifications")]
    finally:
        one.close()
        two.close()
    assert sum(runs) == 2 and sorted(titles) == ["提醒 复诊", "每日"], (runs, titles)


def test_a_worker_that_cannot_start_is_started_again_after_growing_pauses(tmp_path: Path) -> None:
    """The supervisor of `serve --workers N` with a worker that exits at once: started again after
    1 s, then 2 s (not in a tight loop), each exit said with its code; stop ends the watch."""
    said: list[str] = []
    with socket.socket() as sock:
        sup = Supervisor([sys.executable, "-c", "raise SystemExit(3)"], 1, sock, say=said.append)
        watching = threading.Thread(target=sup.watch, kwargs={"tick": 0.05})
        began = time.monotonic()
        watching.start()
        try:
            _until("two quick exits", lambda: len(said) >= 2, timeout=30)
        finally:
            sup.stopping.set()
            watching.join(30)
            sup.stop()
    assert "exited with code 3; starting it again in 1 s" in said[0]
    assert "exited with code 3; starting it again in 2 s" in said[1]
    assert time.monotonic() - began >= 1.0
    assert not watching.is_alive()


def test_the_workers_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    """SIGKILL of the supervisor (nothing of its own runs then): its request workers and its
    automation process see their channels end and stop by themselves, leaving no server behind."""
    root = write_workspace(tmp_path / "ws", {"log": BASE}, WORKSPACE)
    port = _port()
    log = (tmp_path / "serve.log").open("w")
    sup = subprocess.Popen([sys.executable, "-m", "gridbase", "serve", str(root), "--port", str(port), "--workers", "2"],
                           cwd=ROOT, env=ENV, text=True, stdout=log, stderr=subprocess.STDOUT)
    children: list[int] = []
    try:
        _until("two workers answering", lambda: len(_workers(sup)) == 2 and _up(port))
        children += _children(sup)
        assert len(children) == 3, children
        sup.kill()
        sup.wait(10)

        def gone(pid: int) -> bool:
            try:
                return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"  # ended (a zombie of init's)
            except FileNotFoundError:
                return True

        _until("every worker stopped", lambda: all(gone(pid) for pid in children), timeout=60)
    finally:
        if sup.poll() is None:
            sup.kill()
        for pid in children:  # a worker left running (the test failed): not left behind
            subprocess.run(["kill", "-KILL", str(pid)], check=False, capture_output=True)
        log.close()
