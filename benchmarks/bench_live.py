"""What open live-update streams cost a real server, and how fast a change reaches them all.

    .venv/bin/python benchmarks/bench_live.py [--clients 200] [--people 20]

Makes a small workspace in a temporary folder (one table, `--people` people, a session for
each client made through engine.sessions, an API token), starts `gridbase serve` as a
subprocess on 127.0.0.1, warms it up (a page, a stream opened and closed), reads its VmRSS
from /proc, then opens `--clients` event streams (`GET /live?base=…&table=…`) on raw sockets
and reads each one's first event, waits for the server to settle and reads VmRSS again: the
difference is what the open streams cost. Then it changes a record through the REST API
(`--changes` times) and times, for each change, how long until every stream has its
`changes` event (p50 and max over the streams, and the slowest stream of each change).
Last, it stops the server with SIGTERM while every stream is still open and times uvicorn's
graceful shutdown. The goal of issue 18: 200 streams ≤ 50 MB, a change seen within 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORKSPACE = """\
workspace: livebench
name: Live bench
timezone: Asia/Shanghai
locale: zh-CN
roles:
  admin: {name: Admin, admin: true}
  nurse: {name: Nurse}
people:
  admin: {name: 管理员, roles: [admin]}
"""
BASE = """\
base: ward
name: Ward
tables:
  patients:
    name: Patients
    primary: name
    fields:
      name: {type: text, name: 姓名}
      status: {type: single_select, name: 状态, options: [在院, 出院]}
      note: {type: text, name: 备注}
      nurse: {type: person, name: 责任护士}
roles:
  nurse:
    patients: {access: edit, rows: {nurse: $me}}
"""


ADMINS = 10


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit("no VmRSS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def open_stream(port: int, cookie: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall((f"GET /live?base=ward&table=patients HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  f"Accept: text/event-stream\r\nCookie: gb_session={cookie}\r\n\r\n").encode())
    return sock


def read_until(socks: list[socket.socket], marker: bytes, timeout: float,
               start: float | None = None) -> dict[socket.socket, float]:
    """Read every socket until `marker` arrives on it: socket → seconds after `start` (now)."""
    sel = selectors.DefaultSelector()
    buffers: dict[socket.socket, bytes] = {}
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        buffers[s] = b""
    start = time.monotonic() if start is None else start
    done: dict[socket.socket, float] = {}
    while len(done) < len(socks) and time.monotonic() - start < timeout:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            assert isinstance(s, socket.socket)
            chunk = s.recv(65536)
            if not chunk:
                sel.unregister(s)
                continue
            buffers[s] += chunk
            if marker in buffers[s] and s not in done:
                done[s] = time.monotonic() - start
                sel.unregister(s)
    sel.close()
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--changes", type=int, default=10)
    args = parser.parse_args()

    from engine import Workspace, sessions, tokens
    from views.pages.web import signer

    folder = Path(tempfile.mkdtemp(prefix="bench-live-"))
    (folder / "ws" / "bases").mkdir(parents=True)
    people = "".join(f"  n{i}: {{name: 护士{i}, roles: [nurse]}}\n" for i in range(args.people))
    people += "".join(f"  a{i}: {{name: 主任{i}, roles: [admin]}}\n" for i in range(ADMINS))
    (folder / "ws" / "workspace.yaml").write_text(WORKSPACE + people, encoding="utf-8")
    (folder / "ws" / "bases" / "ward.yaml").write_text(BASE, encoding="utf-8")
    db = folder / "live.db"
    ws = Workspace.open(folder / "ws", db=db)
    ws.apply()
    table = ws.base("ward").table("patients")
    rec = table.create({"name": "病人", "status": "在院"}, actor="admin")  # no nurse's: only admins read it
    for i in range(args.people):
        table.create({"name": f"病人{i}", "nurse": f"n{i}"}, actor="admin")
    sign = signer(ws)
    # A quarter of the streams are admins' (they read every record), the rest nurses' (their own rows).
    cookies = [sign.sign(sessions.start(ws, f"n{i % args.people}" if i % 4 else f"a{(i // 4) % ADMINS}")).decode()
               for i in range(args.clients + 1)]
    secret, _ = tokens.create(ws, "admin")
    ws.close()

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "gridbase", "serve", str(folder / "ws"), "--db", str(db),
                               "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/login", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.2)
        # Warm up: a page and one stream, so what is measured is the streams, not imports.
        httpx.get(url + "/", cookies={"gb_session": cookies[-1]}, timeout=10)
        warm = open_stream(port, cookies[-1])
        read_until([warm], b"event: hello", 10)
        warm.close()
        time.sleep(2)
        before = rss_kib(server.pid)

        socks = [open_stream(port, c) for c in cookies[:args.clients]]
        opened = read_until(socks, b"event: hello", 60)
        if len(opened) != len(socks):
            raise SystemExit(f"only {len(opened)} of {len(socks)} streams opened")
        time.sleep(3)
        after = rss_kib(server.pid)
        print(f"{args.clients} open streams: server RSS {before / 1024:.1f} MB → {after / 1024:.1f} MB, "
              f"+{(after - before) / 1024:.1f} MB ({(after - before) / args.clients:.0f} KiB a stream)")

        api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret}"}, timeout=10)
        worst, every = [], []
        for i in range(args.changes):
            sent = time.monotonic()
            answer = api.patch(f"/v0/ward/patients/{rec['id']}", json={"fields": {"备注": f"第{i}次"}})
            assert answer.status_code == 200, answer.text
            # The admins' streams read the record; the nurses' ones are told nothing of it.
            readers = [s for j, s in enumerate(socks) if j % 4 == 0]
            got = read_until(readers, b"event: changes", 10, start=sent)
            delays = list(got.values())
            every += delays
            worst.append(max(delays) if delays else float("inf"))
            if len(got) != len(readers):
                print(f"change {i}: only {len(got)} of {len(readers)} streams heard of it")
            time.sleep(0.3)
        api.close()
        others = [s for j, s in enumerate(socks) if j % 4]
        told = read_until(others, b"event: changes", 1.0)
        print(f"streams of people who may not read the record that heard of it: {len(told)} of {len(others)}")
        every.sort()
        print(f"a change through the API seen by {len(readers)} watching streams: p50 "
              f"{statistics.median(every) * 1000:.0f} ms, max {max(worst) * 1000:.0f} ms "
              f"(from sending the API request; {args.changes} changes)")
        after_changes = rss_kib(server.pid)
        print(f"server RSS after the changes: {after_changes / 1024:.1f} MB")

        began = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        print(f"graceful shutdown with {args.clients} streams open: {time.monotonic() - began:.2f} s")
        for s in socks:
            s.close()
        print(json.dumps({"clients": args.clients, "rss_before_kib": before, "rss_after_kib": after,
                          "rss_added_mb": round((after - before) / 1024, 1),
                          "change_p50_ms": round(statistics.median(every) * 1000),
                          "change_max_ms": round(max(worst) * 1000)}))
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
