"""`gridbase serve --workers N`: N server processes sharing one listening port, and their supervisor.

One `gridbase serve` process runs Python on one core at a time (the GIL), so a machine with
more cores serves more with several processes on the same database. This module owns the
supervisor: it applies the schema once, binds the port once (the socket is inherited by every
worker, so the kernel hands each new connection to whichever worker accepts it first), and
starts N workers, each a `python -m gridbase serve DIR --worker-fd FD` subprocess that opens the
workspace and serves on that socket (`serve_on_fd`). A worker that dies (a crash, SIGKILL, the
out-of-memory killer) is started again; one that dies within `QUICK_EXIT_SECONDS` of its start
is started again after a growing pause (1, 2, 4 … 30 s), so a worker that cannot start does not
spin. SIGTERM or SIGINT stop every worker (each finishes its requests, as one `serve` does);
SIGHUP restarts them one at a time (after `gridbase apply` or an upgrade): the others serve
meanwhile. A worker whose supervisor is gone stops by itself.

What the processes share lives in the database (engine: sessions, rate limits, the outbox
that each process's automation worker and live-update hub read, fired marks of schedules):
docs/operations.md says what holds with several processes on SQLite and on PostgreSQL.
The daily backups (`--backup-dir`) run in the supervisor, once.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from gridbase.commands import err, out

QUICK_EXIT_SECONDS = 10.0
MAX_PAUSE_SECONDS = 30.0
STOP_SECONDS = 20.0


def listening_socket(host: str, port: int) -> socket.socket:
    """The one socket every worker accepts on, inheritable by the workers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def worker_command(args: argparse.Namespace, fd: int) -> list[str]:
    """The command line of one worker: this `serve`, on the inherited socket, without the supervisor's jobs."""
    cmd = [sys.executable, "-m", "gridbase", "serve", str(args.dir), "--host", args.host, "--port", str(args.port),
           "--worker-fd", str(fd)]
    if getattr(args, "db", None):
        cmd += ["--db", str(args.db)]
    return cmd


class Worker:
    """One worker process and when it was started; `failures` counts quick exits in a row."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.failures = 0
        self.due = 0.0  # when it may be started again after a quick exit


class Supervisor:
    """Starts `count` workers with `command`, starts again the ones that die, stops them all."""

    def __init__(self, command: list[str], count: int, fd: int, *, say: Callable[[str], None] = err) -> None:
        self.command, self.fd, self.say = command, fd, say
        self.workers = [Worker(n) for n in range(count)]
        self.stopping = threading.Event()
        self.reload = threading.Event()

    def start(self, worker: Worker) -> None:
        worker.proc = subprocess.Popen(self.command, pass_fds=(self.fd,))
        worker.started = time.monotonic()

    def pids(self) -> list[int]:
        return [w.proc.pid for w in self.workers if w.proc is not None and w.proc.poll() is None]

    def watch(self, tick: float = 0.2) -> None:
        """Until stopped: start workers that are not running, again after a pause if they died quickly."""
        for worker in self.workers:
            self.start(worker)
        while not self.stopping.is_set():
            if self.reload.is_set():
                self.reload.clear()
                self.restart_each()
            now = time.monotonic()
            for worker in self.workers:
                code = worker.proc.poll() if worker.proc is not None else 0
                if code is None or now < worker.due:
                    continue
                if worker.proc is not None:
                    quick = now - worker.started < QUICK_EXIT_SECONDS
                    worker.failures = worker.failures + 1 if quick else 0
                    pause = min(MAX_PAUSE_SECONDS, 2.0 ** (worker.failures - 1)) if quick else 0.0
                    self.say(f"worker {worker.number} (pid {worker.proc.pid}) exited with {describe(code)}; "
                             + (f"starting it again in {pause:.0f} s" if pause else "starting it again"))
                    worker.proc = None
                    worker.due = now + pause
                    if pause:
                        continue
                if not self.stopping.is_set():
                    self.start(worker)
            self.stopping.wait(tick)

    def restart_each(self) -> None:
        """SIGHUP: stop and start the workers one at a time; the others serve meanwhile."""
        for worker in self.workers:
            if self.stopping.is_set():
                return
            if worker.proc is not None:
                end(worker.proc)
            self.start(worker)
            worker.failures = 0
        self.say(f"restarted {len(self.workers)} workers")

    def stop(self) -> None:
        self.stopping.set()
        procs = [w.proc for w in self.workers if w.proc is not None]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            end(proc, ask=False)


def end(proc: subprocess.Popen[bytes], *, ask: bool = True) -> None:
    """Ask a worker to stop (SIGTERM: it finishes its requests); kill it if it has not in STOP_SECONDS."""
    if ask and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def describe(code: int) -> str:
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


def supervise(args: argparse.Namespace) -> int:
    """`gridbase serve DIR --workers N` once the schema is applied: bind, start the workers, watch them."""
    sock = listening_socket(args.host, args.port)
    sup = Supervisor(worker_command(args, sock.fileno()), args.workers, sock.fileno())

    def on_stop(_signum: int, _frame: Any) -> None:
        sup.stopping.set()

    def on_hup(_signum: int, _frame: Any) -> None:
        sup.reload.set()

    previous = {s: signal.signal(s, on_stop) for s in (signal.SIGTERM, signal.SIGINT)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hup)
    out(f"{args.workers} worker processes on http://{args.host}:{args.port}/ (SIGHUP restarts them one at a time)")
    try:
        sup.watch()
    finally:
        sup.stop()
        sock.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def serve_on_fd(app: Any, fd: int) -> None:
    """A worker: serve `app` on the supervisor's socket until told to stop, or until the supervisor is gone."""
    sock = socket.socket(fileno=fd)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none"))
    parent = os.getppid()

    def orphaned() -> None:
        while not server.should_exit:
            if os.getppid() != parent:
                server.should_exit = True
                return
            time.sleep(1)

    threading.Thread(target=orphaned, name="gridbase-orphan-check", daemon=True).start()
    server.run(sockets=[sock])
