"""Three `gridbase serve` processes on one PostgreSQL database, one killed with SIGKILL under load.

API creates are spread over the three processes by several clients; partway through, one
process is killed. Afterwards every acknowledged create is stored exactly once, and the
automation on `created` (an update and a notification) ran exactly once for every stored
record — the survivors took over the killed process's pending events, and no event was run
by two processes.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psycopg
import pytest
from reliability_support import ENV, STAMPED_BASE, assert_each_stored_and_run_once, gridbase

from tests_support import ROOT, write_workspace

pytestmark = pytest.mark.stores  # PostgreSQL only: it needs a database several processes share

BASE = STAMPED_BASE

CLIENTS = 6
REQUESTS = 12  # per client, 5 records each


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _schema_url(pg_url: str, name: str) -> str:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')  # type: ignore[arg-type]  # a fixed test name
    return f"{pg_url}?options=-csearch_path%3D{name}"


def _post(port: int, token: str, body: dict[str, Any]) -> tuple[int, Any]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v0/log/entries", data=json.dumps(body).encode(),
                                 method="POST", headers={"Authorization": f"Bearer {token}",
                                                         "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 (loopback test server)
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


def _wait_up(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, "server exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"server on port {port} did not start")


def test_three_processes_one_killed_nothing_lost_nothing_twice(pg_url: str, tmp_path: Path) -> None:
    url = _schema_url(pg_url, "procs_" + os.urandom(3).hex())
    root = write_workspace(tmp_path / "ws", {"log": BASE})
    done = gridbase("apply", str(root), "--db", url)
    assert done.returncode == 0, done.stderr
    made = gridbase("token", str(root), "create", "admin", "--db", url)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    ports = [_port() for _ in range(3)]
    logs = [(tmp_path / f"serve{n}.log").open("w") for n in range(3)]
    procs = [subprocess.Popen([sys.executable, "-m", "gridbase", "serve", str(root), "--db", url, "--port", str(p)],
                              cwd=ROOT, env=ENV, text=True, stdout=subprocess.DEVNULL, stderr=log)
             for p, log in zip(ports, logs, strict=True)]
    try:
        for port, proc in zip(ports, procs, strict=True):
            _wait_up(port, proc)
        acknowledged: dict[str, str] = {}  # title -> record id the API answered
        lock = threading.Lock()
        sent = [0]
        refused: list[int] = []
        killed = threading.Event()

        def client(n: int) -> None:
            for i in range(REQUESTS):
                for attempt in range(40):
                    # a resend has titles of its own: the killed process may have committed the
                    # batch it never answered, and that batch must not be mistaken for this one
                    body = {"records": [{"fields": {"title": f"c{n}-r{i}-a{attempt}-{k}"}} for k in range(5)]}
                    port = ports[(n + i + attempt) % 3]
                    try:
                        status, answer = _post(port, token, body)
                    except (OSError, http.client.HTTPException):  # an answer cut short too (IncompleteRead)
                        status, answer = 0, None  # the killed process: not acknowledged, sent again elsewhere
                    if status == 200:
                        with lock:
                            for asked, rec in zip(body["records"], answer["records"], strict=True):
                                acknowledged[asked["fields"]["title"]] = rec["id"]
                            sent[0] += 1
                            if sent[0] == CLIENTS * REQUESTS // 3 and not killed.is_set():
                                killed.set()
                                procs[0].send_signal(signal.SIGKILL)
                        break
                    refused.append(status)
                    time.sleep(0.3)  # 429 (the per-token rate limit, shared by the processes) or the killed process

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert killed.is_set(), (refused[:20], [(tmp_path / f"serve{n}.log").read_text()[-2000:] for n in range(3)])
        assert procs[0].wait(10) == -signal.SIGKILL
        assert len(acknowledged) == CLIENTS * REQUESTS * 5

        with psycopg.connect(url, autocommit=True) as conn:
            deadline = time.monotonic() + 60
            while conn.execute("SELECT count(*) FROM _gb_outbox WHERE processed_at IS NULL").fetchone()[0]:
                assert time.monotonic() < deadline, "the surviving processes did not process every event"
                time.sleep(0.5)
            rows = conn.execute("SELECT _id, title, note FROM log__entries WHERE _deleted_at IS NULL").fetchall()
            runs = conn.execute("SELECT record, count(*) FROM _gb_runs GROUP BY record").fetchall()
            statuses = {s for (s,) in conn.execute("SELECT DISTINCT status FROM _gb_runs")}
            notified = conn.execute("SELECT title, count(*) FROM _gb_notifications GROUP BY title").fetchall()
            events = conn.execute("SELECT count(*) FROM _gb_outbox WHERE event = 'created'").fetchone()[0]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()

    assert_each_stored_and_run_once(acknowledged, rows, runs, statuses, notified, CLIENTS)
    # The automation ran exactly once per stored record, in whichever process took the event.
    assert events == len(rows)
