"""`gridbase serve --workers N`: N server processes behind one listening port, and their supervisor.

One `gridbase serve` process runs Python on one core at a time (the GIL), so a machine with
more cores serves more with several processes on the same database. This module owns the
supervisor: it applies the schema once, binds the port once, and starts N workers, each a
`python -m gridbase serve DIR --worker-fd FD` subprocess that opens the workspace and serves
the connections the supervisor hands it (`serve_on_fd`).

The supervisor accepts every connection itself and hands it to the workers in turn (round
robin), as a file descriptor over a Unix socket each worker has with it (SCM_RIGHTS), as
Node's cluster module does. A listening socket shared by the workers would leave the choice to
the kernel, and an event loop takes every connection waiting at once: measured with 8 form
clients connecting together, one worker took all 8 in most runs and the other served nothing.
A worker takes connections only once it said it is ready, so a worker starting (or started
again) keeps nobody waiting; one that does not take a connection at once (its socket buffer
full, or gone) is passed over for the next.

The automations (the outbox worker, the scheduler, the mailboxes' poller) run in one more
process of their own (`--automations-worker`, `run_automations`), not in the request workers:
a write transaction holds the database's one write lock, and an automation's transaction run
beside request threads gets a share of its process's GIL, so it held the lock about three times
its CPU time (measured: 5.5 s of lock for 1.7 s of CPU in 10 s of form load) and kept the other
processes' writes waiting. A request worker tells the supervisor after each commit that
appended events (EVENTS on its channel), and the supervisor passes it on to the automation
process, which wakes at once (on PostgreSQL its LISTEN hears the commit too).

A worker that dies (a crash, SIGKILL, the out-of-memory killer) is started again; one that dies
within `QUICK_EXIT_SECONDS` of its start is started again after a growing pause (1, 2, 4 … 30 s),
so a worker that cannot start does not spin. SIGTERM or SIGINT stop every worker (each finishes
its requests, as one `serve` does); SIGHUP restarts them one at a time (after `gridbase apply` or
an upgrade): each is handed no new connection from the moment it is asked to stop, and the
others serve meanwhile. A worker whose supervisor is gone stops by itself.

What the processes share lives in the database (engine: sessions, rate limits, the outbox
that each process's automation worker and live-update hub read, fired marks of schedules):
docs/operations.md says what holds with several processes on SQLite and on PostgreSQL.
The daily backups (`--backup-dir`) run in the supervisor, once.
"""

from __future__ import annotations

import argparse
import asyncio
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from automations import worker as automation_worker
from gridbase.commands import err, out

QUICK_EXIT_SECONDS = 10.0
MAX_PAUSE_SECONDS = 30.0
STOP_SECONDS = 20.0


ACCEPT_TICK = 0.5  # how often the supervisor's accepting and relaying threads look whether it is stopping
READY = b"ready"  # what a worker says on its channel once it serves
EVENTS = b"e"  # what a request worker says after a commit that appended events: the automations look


def listening_socket(host: str, port: int) -> socket.socket:
    """The one listening socket, the supervisor's (the workers get its connections, not it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def worker_command(args: argparse.Namespace) -> list[str]:
    """The command line of one worker, without its `--worker-fd` (added when it starts): this
    `serve`, without the supervisor's jobs."""
    cmd = [sys.executable, "-m", "gridbase", "serve", str(args.dir), "--host", args.host, "--port", str(args.port)]
    if getattr(args, "db", None):
        cmd += ["--db", str(args.db)]
    return cmd


class Worker:
    """One worker process, its end of the channel, when it was started; `failures` counts quick
    exits in a row."""

    def __init__(self, number: int, *, requests: bool = True) -> None:
        self.number = number
        self.requests = requests  # False: the automation process (handed no connection)
        self.proc: subprocess.Popen[bytes] | None = None
        self.channel: socket.socket | None = None  # the supervisor's end: connections go out on it
        self.ready = False  # said READY: it serves, and is handed connections
        self.started = 0.0
        self.failures = 0
        self.due = 0.0  # when it may be started again after a quick exit


class Supervisor:
    """Starts `count` workers with `command`, hands them the connections `sock` accepts, starts
    again the ones that die, stops them all."""

    def __init__(self, command: list[str], count: int, sock: socket.socket, *, automations: list[str] | None = None,
                 say: Callable[[str], None] = err) -> None:
        self.command, self.sock, self.say, self.automations = command, sock, say, automations
        self.workers = [Worker(n) for n in range(count)]
        if automations is not None:
            self.workers.append(Worker(count, requests=False))
        self.stopping = threading.Event()
        self.reload = threading.Event()
        self._turn = 0  # the worker the next connection is offered to first
        self._channels = threading.Lock()  # a worker's channel is swapped by the watch, used by the accepting thread

    def start(self, worker: Worker) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            command = self.command if worker.requests or self.automations is None else self.automations
            worker.proc = subprocess.Popen([*command, "--worker-fd", str(theirs.fileno())], pass_fds=(theirs.fileno(),))
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        self._retire(worker, ours)
        worker.started = time.monotonic()

    def _retire(self, worker: Worker, channel: socket.socket | None = None) -> None:
        """Hand `worker` no more connections (its process is stopping or gone); `channel`: its new one."""
        with self._channels:
            old, worker.channel, worker.ready = worker.channel, channel, False
        if old is not None:
            old.close()

    def relay(self) -> None:
        """The relaying thread, until stopped: marks the workers that say READY, passes EVENTS on
        to the automation process."""
        while not self.stopping.is_set():
            with self._channels:
                channels = {w.channel: w for w in self.workers if w.channel is not None}
            try:
                readable, _, _ = select.select(list(channels), [], [], ACCEPT_TICK)
            except (OSError, ValueError):  # a channel closed meanwhile (a worker stopped): look again
                continue
            for channel in readable:
                self._heard(channels[channel], channel)

    def _heard(self, worker: Worker, channel: socket.socket) -> None:
        events = False
        while True:
            try:
                said = channel.recv(16)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                said = b""
            if not said:  # the worker is gone (or its channel was closed): the watch starts it again
                with self._channels:
                    if worker.channel is channel:
                        worker.channel, worker.ready = None, False
                        channel.close()
                break
            if said == READY:
                worker.ready = True
            elif said == EVENTS:
                events = True
        if events:
            self.tell_automations()

    def tell_automations(self) -> None:
        """Wake the automation process (a wake already waiting in its channel is as good)."""
        with self._channels:
            for worker in self.workers:
                if not worker.requests and worker.channel is not None:
                    try:
                        worker.channel.send(EVENTS, socket.MSG_DONTWAIT)
                    except OSError:
                        pass

    def hand(self, conn: socket.socket) -> bool:
        """Give an accepted connection to the next ready worker that takes it at once; False: none did."""
        with self._channels:
            count = len(self.workers)
            for step in range(count):
                worker = self.workers[(self._turn + step) % count]
                if worker.channel is None or not worker.ready or not worker.requests:
                    continue
                try:
                    socket.send_fds(worker.channel, [b"c"], [conn.fileno()], socket.MSG_DONTWAIT)
                except OSError:
                    continue  # its buffer is full (busy) or it is gone: the next one
                self._turn = (self._turn + step + 1) % count
                return True
        return False

    def accept(self) -> None:
        """The accepting thread: every new connection to the next worker, until stopped. While no
        request worker is ready (all starting), connections wait in the kernel's backlog."""
        self.sock.settimeout(ACCEPT_TICK)
        while not self.stopping.is_set():
            if not any(w.ready and w.requests for w in self.workers):
                time.sleep(0.02)
                continue
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                if self.stopping.is_set():
                    return
                time.sleep(0.01)  # out of descriptors, say: the connection waits in the backlog
                continue
            with conn:
                while not self.hand(conn) and not self.stopping.is_set():
                    time.sleep(0.005)  # every worker's channel full, or the one ready just stopped

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
                    self._retire(worker)
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
                self._retire(worker)  # no new connection from now on; it finishes the ones it has
                end(worker.proc)
            self.start(worker)
            worker.failures = 0
            if worker.requests:
                self._until_ready(worker)
        self.say(f"restarted {len(self.workers)} workers")

    def _until_ready(self, worker: Worker, timeout: float = 60.0) -> None:
        """Wait (at most `timeout`) for a restarted worker to serve before stopping the next one."""
        deadline = time.monotonic() + timeout
        while not worker.ready and time.monotonic() < deadline and not self.stopping.is_set():
            if worker.proc is not None and worker.proc.poll() is not None:
                return  # it died: the watch deals with it
            time.sleep(0.05)

    def stop(self) -> None:
        self.stopping.set()
        for worker in self.workers:
            self._retire(worker)
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
    sup = Supervisor(worker_command(args), args.workers, sock, automations=[*worker_command(args), "--automations-worker"])
    accepting = threading.Thread(target=sup.accept, name="gridbase-accept", daemon=True)
    relaying = threading.Thread(target=sup.relay, name="gridbase-relay", daemon=True)

    def on_stop(_signum: int, _frame: Any) -> None:
        sup.stopping.set()

    def on_hup(_signum: int, _frame: Any) -> None:
        sup.reload.set()

    previous = {s: signal.signal(s, on_stop) for s in (signal.SIGTERM, signal.SIGINT)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hup)
    out(f"{args.workers} worker processes and one for the automations on http://{args.host}:{args.port}/ (SIGHUP restarts them one at a time)")
    accepting.start()
    relaying.start()
    try:
        sup.watch()
    finally:
        sup.stop()
        accepting.join(ACCEPT_TICK * 4)
        relaying.join(ACCEPT_TICK * 4)
        sock.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


class HandedServer(uvicorn.Server):
    """uvicorn serving the connections its supervisor hands it over `channel` (no socket of its own)."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self.channel = channel

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])
        if self.should_exit:
            return
        loop = asyncio.get_running_loop()
        config = self.config

        def protocol() -> asyncio.Protocol:  # what uvicorn makes for each connection it accepts
            return config.http_protocol_class(config=config, server_state=self.server_state,  # type: ignore[call-arg]
                                              app_state=self.lifespan.state)

        self.channel.setblocking(False)
        loop.add_reader(self.channel.fileno(), self._take, loop, protocol)
        self.channel.send(READY)

    def _take(self, loop: asyncio.AbstractEventLoop, protocol: Callable[[], asyncio.Protocol]) -> None:
        while True:
            try:
                said, fds, _flags, _addr = socket.recv_fds(self.channel, 16, 8)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                said, fds = b"", []
            if not said and not fds:  # the supervisor is gone: stop, as SIGTERM would
                loop.remove_reader(self.channel.fileno())
                self.should_exit = True
                return
            for fd in fds:
                loop.create_task(self._connect(loop, protocol, socket.socket(fileno=fd)))

    @staticmethod
    async def _connect(loop: asyncio.AbstractEventLoop, protocol: Callable[[], asyncio.Protocol], conn: socket.socket) -> None:
        try:
            await loop.connect_accepted_socket(protocol, conn)
        except OSError:  # the client went away before it was taken
            conn.close()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        try:  # no new connection: the supervisor hands them to the others
            asyncio.get_running_loop().remove_reader(self.channel.fileno())
        except (ValueError, OSError):
            pass
        self.channel.close()
        await super().shutdown(sockets)


def worker_channel(fd: int) -> socket.socket:
    """A worker's end of its channel to the supervisor (the `--worker-fd`)."""
    return socket.socket(fileno=fd)


def say_events(channel: socket.socket) -> Callable[[int], None]:
    """An outbox listener (engine.outbox `listeners`) of a request worker: after each commit that
    appended events, tell the supervisor, which wakes the automation process."""

    def told(_event_id: int) -> None:
        try:
            channel.send(EVENTS, socket.MSG_DONTWAIT)
        except OSError:
            pass  # a full channel already carries a wake; a closed one: the worker is stopping

    return told


def serve_on_fd(app: Any, channel: socket.socket) -> None:
    """A request worker: serve `app` on the connections the supervisor hands over `channel`,
    until told to stop, or until the supervisor is gone."""
    HandedServer(uvicorn.Config(app, log_level="warning", ws="none"), channel).run()  # it stops at the channel's end


def run_automations(ws: Any, channel: socket.socket) -> None:
    """The automation process of `serve --workers N`: the outbox worker, the scheduler and the
    mailboxes' poller of `ws` (automations.worker), woken by EVENTS on `channel`, until SIGTERM
    or until the supervisor is gone."""
    stopping = threading.Event()
    previous = {s: signal.signal(s, lambda _n, _f: stopping.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    service = automation_worker.start(ws)

    def hear() -> None:
        while not stopping.is_set():
            try:
                said = channel.recv(16)
            except OSError:
                said = b""
            if not said:
                stopping.set()
                return
            service.wake()

    threading.Thread(target=hear, name="gridbase-wakes", daemon=True).start()
    try:
        while not stopping.wait(1.0):  # SIGTERM, or the channel's end: the supervisor is gone
            pass
    finally:
        automation_worker.stop(service)
        channel.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
