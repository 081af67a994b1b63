"""Live updates (issue 18 item 5) against a real uvicorn server on 127.0.0.1, reading the raw
event stream: a change by the API, by an automation and by an import reaches a watching page
within a second; a nurse with a masked field, a hidden field and a row rule never receives
the masked value, the hidden field's name or value, or a word about a record she may not
read; presence goes only to readers; a save over someone's save tells them; the inbox count
is live; streams end on sign-out and do not hold up the server's shutdown.
"""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from engine import Workspace, inbox
from engine import live as engine_live
from engine import tokens as engine_tokens
from engine.ids import utcnow_text
from engine.outbox import created_text
from gridbase.app import create_app
from tests_support import csrf_of, free_port, sign_in, write_workspace
from views.pages.live import QUEUE_SIZE, _Pipe

PASSWORD = "correct horse battery"
WORKSPACE = f"""\
workspace: livetest
name: Live Test
timezone: Asia/Shanghai
locale: en
roles:
  admin: {{name: Admin, admin: true}}
  nurse: {{name: Nurse}}
people:
  admin: {{name: 管理员, roles: [admin], password: "{PASSWORD}"}}
  zhang: {{name: 张三, roles: [admin], password: "{PASSWORD}"}}
  nurse: {{name: 护士甲, roles: [nurse], password: "{PASSWORD}"}}
  other: {{name: 护士乙, roles: [nurse], password: "{PASSWORD}"}}
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
      status: {type: single_select, name: 状态, options: [在院, 出院, 转科]}
      phone: {type: phone, name: 电话}
      diagnosis: {type: text, name: 诊断机密}
      nurse: {type: person, name: 责任护士}
      note: {type: text, name: 备注}
    views:
      inward: {type: grid, name: 在院, filter: {status: 在院}}
roles:
  nurse:
    patients:
      access: edit
      rows: {nurse: $me}
      fields:
        diagnosis: none
        phone: {access: read, mask: phone}
      other_fields: edit
automations:
  discharged:
    name: 出院登记
    when: {updated: patients, fields: [status]}
    if: {status: 出院}
    do: [{update: {note: 已出院}}]
"""
SECRET_PHONE = "13912345678"
SECRET_TEXT = "机密诊断内容"


class Stream:
    """A raw SSE reader on its own thread: every event (kind, data text) into a queue."""

    def __init__(self, url: str, cookies: httpx.Cookies, path: str) -> None:
        self.events: queue.Queue[tuple[str, str]] = queue.Queue()
        self.raw: list[str] = []
        self.client = httpx.Client(base_url=url, cookies=cookies, timeout=httpx.Timeout(10, read=None))
        self.status = 0
        self.done = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(path,), daemon=True)
        self.thread.start()
        assert self.ready.wait(5), "the stream did not open"

    def _read(self, path: str) -> None:
        try:
            with self.client.stream("GET", path) as response:
                self.status = response.status_code
                self.ready.set()
                kind, data = "", ""
                for line in response.iter_lines():
                    self.raw.append(line)
                    if line.startswith("event:"):
                        kind = line[6:].strip()
                    elif line.startswith("data:"):
                        data = line[5:].strip()
                    elif line == "" and kind:
                        self.events.put((kind, data))
                        kind, data = "", ""
        except httpx.HTTPError:
            pass
        finally:
            self.ready.set()
            self.done.set()

    def next(self, kind: str, timeout: float = 1.0) -> str:
        """The data of the next event of `kind` within `timeout` seconds (others skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind!r} event within {timeout} s; got {self.raw[-20:]}")
            try:
                got, data = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if got == kind:
                return data

    def text(self) -> str:
        return "\n".join(self.raw)

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def live(tmp_path: Any, database: Any) -> Iterator[dict[str, Any]]:
    root = write_workspace(tmp_path / "ws", {"ward": BASE}, WORKSPACE)
    ws = Workspace.open(root, db=database())  # a SQLite file, or a PostgreSQL schema (tests/conftest.py)
    ws.apply()
    table = ws.base("ward").table("patients")
    mine = table.create({"name": "病人一", "status": "在院", "phone": SECRET_PHONE, "diagnosis": SECRET_TEXT,
                         "nurse": "nurse"}, actor="admin")
    theirs = table.create({"name": "病人二", "status": "在院", "nurse": "other"}, actor="admin")
    app = create_app(ws, automations=True, sweep=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    env = {"ws": ws, "url": f"http://127.0.0.1:{port}", "table": table, "mine": mine["id"], "theirs": theirs["id"],
           "server": server, "thread": thread, "streams": [], "clients": [], "hub": app.state.live}
    yield env
    for s in env["streams"]:
        s.close()
    for c in env["clients"]:
        c.close()
    server.should_exit = True
    thread.join(timeout=10)
    ws.close()


def signed_in(env: dict[str, Any], person: str) -> httpx.Client:
    client = httpx.Client(base_url=env["url"], timeout=10)
    env["clients"].append(client)
    assert sign_in(client, person, PASSWORD).status_code == 303
    return client


def watch(env: dict[str, Any], client: httpx.Client, path: str = "/live?base=ward&table=patients") -> Stream:
    stream = Stream(env["url"], client.cookies, path)
    env["streams"].append(stream)
    assert stream.status == 200
    stream.next("hello")
    return stream


def api(env: dict[str, Any], person: str = "admin") -> httpx.Client:
    secret, _ = engine_tokens.create(env["ws"], person)
    client = httpx.Client(base_url=env["url"], headers={"Authorization": f"Bearer {secret}"}, timeout=10)
    env["clients"].append(client)
    return client


def test_an_api_change_reaches_a_watching_page_within_a_second(live):
    stream = watch(live, signed_in(live, "zhang"))
    began = time.monotonic()
    answer = api(live).patch(f"/v0/ward/patients/{live['mine']}", json={"fields": {"备注": "换药"}})
    assert answer.status_code == 200, answer.text
    data = stream.next("changes")
    assert time.monotonic() - began < 1.0
    assert f'"id":"{live["mine"]}"' in data and '"note"' in data and '"by":"管理员"' in data
    assert "换药" not in data  # ids and field keys only: the page fetches the cells as its viewer


def test_an_automation_change_and_an_import_reach_the_page(live):
    stream = watch(live, signed_in(live, "zhang"))
    live["table"].update(live["mine"], {"status": "出院"}, actor="admin")
    first = stream.next("changes")
    assert '"status"' in first
    began = time.monotonic()
    # The automation's write may come in its own event or, when the worker is quick enough to
    # write before the hub sends, folded into the first (one entry per record, the last writer).
    by_automation = first if '"by":"出院登记"' in first else stream.next("changes", timeout=3)
    assert '"note"' in by_automation and '"by":"出院登记"' in by_automation
    assert time.monotonic() - began < 1.0
    began = time.monotonic()
    live["table"].import_rows([{"name": f"导入{i}", "nurse": "nurse"} for i in range(5)], actor="admin")
    imported = stream.next("changes")
    assert time.monotonic() - began < 1.0
    assert imported.count('"rec') >= 5


def test_a_nurse_never_hears_of_masked_hidden_or_unreadable_things(live):
    nurse = watch(live, signed_in(live, "nurse"))
    admin = watch(live, signed_in(live, "zhang"))
    table = live["table"]
    table.update(live["theirs"], {"note": "别人的病人", "status": "转科"}, actor="admin")
    table.update(live["mine"], {"diagnosis": "新的" + SECRET_TEXT}, actor="admin")  # hidden from her only
    table.update(live["mine"], {"phone": "13700000000", "note": "可见"}, actor="admin")
    table.delete(live["theirs"], actor="admin")
    hidden = table.create({"name": "看不见的病人", "nurse": "other"}, actor="admin")
    admin_saw = [admin.next("changes") for _ in range(2)]
    assert any(live["theirs"] in text for text in admin_saw)
    seen = nurse.next("changes")
    time.sleep(0.8)  # anything else on its way arrives meanwhile
    raw = nurse.text()
    assert live["mine"] in seen and '"phone"' in seen and '"note"' in seen
    for leak in (live["theirs"], hidden["id"], "diagnosis", "诊断", SECRET_TEXT, SECRET_PHONE, "13700000000",
                 "别人的病人", "看不见的病人"):
        assert leak not in raw, leak
    # What she may read she fetches as herself: the mask still holds there.
    cells = signed_in(live, "nurse").get(f"/b/ward/t/patients/r/{live['mine']}/cells").text
    assert "13700000000" not in cells and "可见" in cells


def test_a_record_page_stream_is_refused_for_a_record_she_cannot_read(live):
    nurse = signed_in(live, "nurse")
    answer = nurse.get(f"/live?base=ward&table=patients&record={live['theirs']}")
    assert answer.status_code == 404
    assert httpx.get(live["url"] + "/live?base=ward&table=patients").status_code == 401


def test_presence_goes_only_to_readers(live):
    zhang = signed_in(live, "zhang")
    nurse_stream = watch(live, signed_in(live, "nurse"))
    other_stream = watch(live, signed_in(live, "other"))
    token = csrf_of(zhang.get("/").text)
    answer = zhang.post("/live/editing", data={"base": "ward", "table": "patients", "record": live["mine"],
                                               "field": "note", "on": "1", "csrf_token": token})
    assert answer.status_code == 204
    data = nurse_stream.next("presence")
    assert '"who":"张三"' in data and '"on":true' in data and '"field":"note"' in data
    zhang.post("/live/editing", data={"base": "ward", "table": "patients", "record": live["mine"],
                                      "field": "diagnosis", "on": "1", "csrf_token": token})
    zhang.post("/live/editing", data={"base": "ward", "table": "patients", "record": live["mine"],
                                      "field": "note", "on": "0", "csrf_token": token})
    assert '"on":false' in nurse_stream.next("presence")
    time.sleep(0.5)
    assert live["mine"] not in other_stream.text() and "张三" not in other_stream.text()
    assert "diagnosis" not in nurse_stream.text()
    # A cell she may not read cannot be claimed either.
    nurse = signed_in(live, "nurse")
    refused = nurse.post("/live/editing", data={"base": "ward", "table": "patients", "record": live["theirs"],
                                                "field": "note", "on": "1", "csrf_token": csrf_of(nurse.get("/").text)})
    assert refused.status_code == 404


def test_a_save_over_someone_elses_save_tells_them(live):
    nurse_client = signed_in(live, "nurse")
    nurse_stream = watch(live, nurse_client)
    token = csrf_of(nurse_client.get("/").text)
    saved = nurse_client.post(f"/b/ward/t/patients/r/{live['mine']}/cell/note", data={"value": "我写的", "csrf_token": token})
    assert saved.status_code == 200, saved.text
    nurse_stream.next("changes")
    live["table"].update(live["mine"], {"note": "张三改的"}, actor="zhang")
    notice = nurse_stream.next("notice")
    assert '"by":"张三"' in notice and '"field_name":"备注"' in notice and "张三改的" not in notice


def test_the_inbox_count_is_live(live):
    stream = watch(live, signed_in(live, "nurse"), "/live")
    assert '"unread":0' in stream.next("inbox")
    ws = live["ws"]
    with ws.storage.transaction() as conn:
        inbox.add(conn, person="nurse", at=ws.now(), title="新任务", body="", link="/", base=None, table=None,
                  record=None, key="live-test-1")
    began = time.monotonic()
    assert '"unread":1' in stream.next("inbox")
    assert time.monotonic() - began < 1.0
    inbox.mark_read(ws.storage, "nurse", None, ws.now())
    assert '"unread":0' in stream.next("inbox")


def test_signing_out_ends_the_stream(live):
    client = signed_in(live, "nurse")
    stream = watch(live, client)
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})
    live["table"].update(live["mine"], {"note": "登出之后"}, actor="admin")
    assert stream.done.wait(3), "the stream outlived its session"
    assert "登出之后" not in stream.text() and live["mine"] not in stream.text()


def test_a_slow_page_is_told_to_resync_and_holds_nobody_up(live):
    slow = socket.create_connection(("127.0.0.1", live["server"].config.port))
    client = signed_in(live, "zhang")
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.sendall(f"GET /live?base=ward&table=patients HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode())
    fast = watch(live, client)
    table = live["table"]
    for i in range(150):  # never read by the slow page
        table.update(live["mine"], {"note": "x" * 2000 + str(i)}, actor="admin")
    began = time.monotonic()
    table.update(live["mine"], {"name": "最后一次"}, actor="admin")
    while '"name"' not in fast.next("changes", timeout=2):
        pass
    assert time.monotonic() - began < 1.0
    slow.close()


def test_shutdown_is_not_held_up_by_open_streams(live):
    watch(live, signed_in(live, "zhang"))
    watch(live, signed_in(live, "nurse"))
    began = time.monotonic()
    live["server"].should_exit = True
    live["thread"].join(timeout=10)
    assert not live["thread"].is_alive()
    assert time.monotonic() - began < 3


def test_a_full_queue_is_dropped_for_one_resync():
    loop = asyncio.new_event_loop()
    try:
        pipe = _Pipe(loop)
        for i in range(QUEUE_SIZE * 3):
            pipe.send("changes", {"n": i})
        pipe.end()
        loop.run_until_complete(asyncio.sleep(0.05))
        kinds = []
        while not pipe.queue.empty():
            kinds.append(pipe.queue.get_nowait()[0])
    finally:
        loop.close()
    assert len(kinds) <= QUEUE_SIZE and "resync" in kinds and kinds[-1] == "end"
    assert pipe.dropped > 0


def test_import_events_released_after_later_writes_still_reach_the_page(live):
    """An import's held events may have ids below what the hub has already read (others wrote
    meanwhile): its release is told separately, and its records still reach the page."""
    stream = watch(live, signed_in(live, "nurse"))
    ws, table = live["ws"], live["table"]
    new = table.create({"name": "导入的病人", "nurse": "nurse"}, actor="admin")
    stream.next("changes")
    hidden = table.create({"name": "别人的导入", "nurse": "other"}, actor="admin")
    with ws.storage.transaction():  # what engine.imports holds back until the whole file is in
        ws.outbox.append_created([(utcnow_text(ws.now()), new["id"], "admin", created_text("{}")),
                                  (utcnow_text(ws.now()), hidden["id"], "admin", created_text("{}"))],
                                 base="ward", table="patients", held="impTEST")
    table.update(live["mine"], {"note": "之后的写入"}, actor="admin")  # read by the hub past the held ids
    assert '"note"' in stream.next("changes")
    with ws.storage.transaction():
        assert ws.outbox.release("impTEST") == 2
    began = time.monotonic()
    data = stream.next("changes")
    assert time.monotonic() - began < 1.0
    assert f'"created":["{new["id"]}"]' in data and hidden["id"] not in stream.text()


def test_new_records_are_counted_for_a_view_only_if_it_shows_them(live):
    stream = watch(live, signed_in(live, "nurse"), "/live?base=ward&table=patients&view=inward")
    table = live["table"]
    out = table.create({"name": "已出院", "status": "出院", "nurse": "nurse"}, actor="admin")
    inside = table.create({"name": "新入院", "status": "在院", "nurse": "nurse"}, actor="admin")
    data = stream.next("changes")
    assert f'"created":["{inside["id"]}"]' in data
    assert f'"created":["{out["id"]}"]' not in stream.text()


def test_presence_ends_by_itself_without_a_heartbeat(live, monkeypatch):
    monkeypatch.setattr(engine_live, "PRESENCE_SECONDS", 0.6)
    zhang = signed_in(live, "zhang")
    stream = watch(live, signed_in(live, "nurse"))
    zhang.post("/live/editing", data={"base": "ward", "table": "patients", "record": live["mine"], "field": "note",
                                      "on": "1", "csrf_token": csrf_of(zhang.get("/").text)})
    assert '"on":true' in stream.next("presence")
    # The page that claimed it went silent: within a few seconds the claim ends (a repeat of the
    # claim on the way, as a busy hub may send, is no failure).
    deadline = time.monotonic() + 3.0
    while '"on":false' not in stream.next("presence", timeout=max(0.1, deadline - time.monotonic())):
        pass


def test_an_expired_session_ends_the_stream_before_anything_more_is_sent(live):
    stream = watch(live, signed_in(live, "nurse"))
    with live["ws"].storage.transaction() as conn:
        conn.execute("UPDATE _gb_sessions SET expires_at = '2000-01-01T00:00:00Z' WHERE person = 'nurse'")
    live["table"].update(live["mine"], {"note": "过期之后"}, actor="admin")
    assert stream.done.wait(3), "the stream outlived its session"
    assert live["mine"] not in stream.text()


def test_a_page_that_goes_leaves_nothing_behind(live):
    client = signed_in(live, "nurse")
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    pages = []
    for _ in range(3):
        page = socket.create_connection(("127.0.0.1", live["server"].config.port))
        page.sendall(f"GET /live?base=ward&table=patients HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode())
        page.settimeout(5)
        got = b""
        while b"event: hello" not in got:
            got += page.recv(4096)
        pages.append(page)
    assert live["hub"].count("nurse") == 3
    for page in pages:
        page.close()
    deadline = time.monotonic() + 3
    while live["hub"].count("nurse") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live["hub"].count("nurse") == 0
