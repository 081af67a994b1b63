"""The supervisor of `gridbase serve --workers N` (gridbase.workers): it hands each connection to
its request workers in turn, never to the automation process, passes a request worker's word
that it committed events on to the automation process, and keeps serving while a worker is
killed. The workers here are small Python processes speaking the supervisor's protocol (READY,
then one connection per message), so what is checked is the supervisor's part alone; the real
server's workers are tests/reliability/test_processes_sqlite.py.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gridbase.workers import EVENTS, READY, Supervisor

# A request worker: says READY, then answers every connection it is handed with its pid, and
# tells the supervisor it committed events (as a real one does after each write).
REQUESTS = r"""
import os, socket, sys
channel = socket.socket(fileno=int(sys.argv[sys.argv.index("--worker-fd") + 1]))
channel.send(READY)
while True:
    said, fds, _, _ = socket.recv_fds(channel, 16, 8)
    if not said and not fds:
        break
    for fd in fds:
        with socket.socket(fileno=fd) as conn:
            conn.sendall(str(os.getpid()).encode())
        channel.send(EVENTS)
"""

# The automation process: writes a line into a file for each wake it hears.
AUTOMATIONS = r"""
import socket, sys
channel = socket.socket(fileno=int(sys.argv[sys.argv.index("--worker-fd") + 1]))
while True:
    said = channel.recv(16)
    if not said:
        break
    with open(sys.argv[1], "a") as out:
        out.write("woken\n")
"""


def _script(body: str, *args: str) -> list[str]:
    return [sys.executable, "-c", f"READY = {READY!r}\nEVENTS = {EVENTS!r}\n" + body, *args]


def _until(what: str, ready: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError(f"waited {timeout} s for {what}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Supervisor, int, Path]]:
    woken = tmp_path / "woken.txt"
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    said: list[str] = []
    sup = Supervisor(_script(REQUESTS), 2, sock, automations=_script(AUTOMATIONS, str(woken)), say=said.append)
    threads = [threading.Thread(target=sup.watch, kwargs={"tick": 0.05}), threading.Thread(target=sup.accept),
               threading.Thread(target=sup.relay)]
    for t in threads:
        t.start()
    try:
        yield sup, sock.getsockname()[1], woken
    finally:
        sup.stopping.set()
        for t in threads:
            t.join(10)
        sup.stop()
        sock.close()


def _served_by(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        return int(conn.recv(32))


def test_connections_go_to_the_request_workers_in_turn_and_wake_the_automations(served: tuple[Supervisor, int, Path]) -> None:
    sup, port, woken = served
    _until("both request workers ready", lambda: all(w.ready for w in sup.workers if w.requests))
    automations = next(w.proc.pid for w in sup.workers if not w.requests and w.proc)
    pids = [_served_by(port) for _ in range(6)]
    assert len(set(pids)) == 2 and automations not in pids, pids
    assert pids[0::2] == [pids[0]] * 3 and pids[1::2] == [pids[1]] * 3, pids  # in turn, not whoever wakes first
    # Each served connection said EVENTS; the supervisor passed them on to the automation process.
    _until("the automation process woken", lambda: woken.exists() and woken.read_text().count("woken") >= 1)


def test_a_killed_worker_is_passed_over_and_started_again(served: tuple[Supervisor, int, Path]) -> None:
    sup, port, _ = served
    _until("both request workers ready", lambda: all(w.ready for w in sup.workers if w.requests))
    first = sup.workers[0].proc
    assert first is not None
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    # Every connection is still answered meanwhile, by the other worker or by the new one.
    pids = [_served_by(port) for _ in range(6)]
    assert first.pid not in pids, pids
    _until("the killed worker started again", lambda: (p := sup.workers[0].proc) is not None and p.pid != first.pid
           and sup.workers[0].ready)
    again = {_served_by(port) for _ in range(4)}
    assert len(again) == 2 and first.pid not in again, again
