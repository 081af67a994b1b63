"""HL7 v2 from the HIS over MLLP: real TCP traffic over loopback to a listener (in a thread, or
`gridbase hl7 listen` in a subprocess), with the dental example's sample messages and mappings.

What a HIS would notice: every message is answered; AA only once its write is in the database;
a refused message gets AE/AR with the reason and is kept for an admin to retry; a message sent
twice is taken once; framing survives split and joined reads and dropped connections; hostile
bytes get a NAK, never a dead listener; a SIGKILL during a burst loses nothing that was ACKed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml

from engine import Workspace, hl7intake
from gridbase.app import create_app
from gridbase.cli import main as cli
from plugins.hl7_listener import END, START, Listener, frame
from tests_support import DENTAL

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = DENTAL / "hl7"

WORKSPACE = """\
workspace: his
name: HIS
timezone: Asia/Shanghai
roles:
  admin: {name: Admin, admin: true}
  his: {name: HIS}
  reader: {name: Reader}
people:
  admin: {name: Admin, roles: [admin]}
  his_bot: {name: HIS 接口, roles: [his]}
  reader_bot: {name: 只读, roles: [reader]}
"""

BASE = """\
base: patients
name: 患者
tables:
  patients:
    name: 患者档案
    primary: name
    fields:
      name: {type: text, name: 姓名, required: true}
      gender: {type: single_select, name: 性别, options: [男, 女]}
      birth_date: {type: date, name: 出生日期}
      phone: {type: phone, name: 手机号}
      his_id: {type: text, name: HIS 患者号}
  visits:
    name: 就诊记录
    primary: visit_no
    fields:
      visit_no: {type: text, name: HIS 就诊号}
      patient: {type: link, name: 患者, table: patients, multiple: false, inverse: visits, required: true}
      visit_date: {type: date, name: 就诊日期}
      complaint: {type: long_text, name: 主诉}
  appointments:
    name: 预约
    primary: appointment_id
    fields:
      appointment_id: {type: text, name: 预约号, required: true}
      patient: {type: link, name: 患者, table: patients, multiple: false, inverse: appointments}
      start: {type: datetime, name: 预约时间}
      minutes: {type: number, name: 时长}
      doctor_name: {type: text, name: 预约医生}
      reason: {type: text, name: 预约事由}
roles:
  his:
    patients: {access: manage}
    visits: {access: edit, create: true}
    appointments: {access: edit, create: true}
  reader:
    patients: {access: read}
    visits: {access: read}
    appointments: {access: read}
"""


def example_mappings() -> dict[str, Any]:
    """The `hl7:` block of the dental example, as shipped."""
    return yaml.safe_load((DENTAL / "bases" / "patients.yaml").read_text(encoding="utf-8"))["hl7"]


def make_workspace(root: Path, actor: str = "his_bot", db: str | Path | None = None) -> Path:
    (root / "bases").mkdir(parents=True)
    (root / "workspace.yaml").write_text(WORKSPACE, encoding="utf-8")
    mappings = example_mappings()
    for m in mappings.values():
        m["actor"] = actor
    base = BASE + yaml.safe_dump({"hl7": mappings}, allow_unicode=True, sort_keys=False)
    (root / "bases" / "patients.yaml").write_text(base, encoding="utf-8")
    ws = Workspace.open(root, db=db)
    ws.apply()
    ws.close()
    return root


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def with_control(text: str, control: str) -> str:
    """The message with another control id (MSH-10)."""
    lines = text.strip().split("\n")
    parts = lines[0].split("|")
    parts[9] = control
    return "\n".join(["|".join(parts), *lines[1:]])


def adt(pid: str, name: str, control: str) -> str:
    return (f"MSH|^~\\&|HIS|DLKQ|GRIDBASE|DLKQ|20261207083000||ADT^A04^ADT_A01|{control}|P|2.5\r"
            f"EVN|A04|20261207083000\rPID|1||{pid}^^^HIS^PI||{name}||19900315|F\r"
            f"PV1|1|O|||||||||||||||||V{pid}")


class ThreadListener:
    """A Listener on its own event loop in a thread."""

    def __init__(self, ws: Workspace, **kw: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.listener = Listener(ws, "127.0.0.1", 0, **kw)
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.listener.start())
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(30)
        self.port = self.listener.port

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.listener.close(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


def read_ack(sock: socket.socket) -> str:
    data = b""
    while END not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before an answer; got {data!r}")
        data += chunk
    return data[data.index(START) + 1:data.index(END)].decode("utf-8")


def msa(ack: str) -> list[str]:
    return next(line for line in ack.split("\r") if line.startswith("MSA|")).split("|")


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=60)


def send(port: int, *texts: str) -> list[str]:
    with connect(port) as sock:
        out = []
        for text in texts:
            sock.sendall(frame(text.replace("\n", "\r")))
            out.append(read_ack(sock))
        return out


@pytest.fixture
def his(tmp_path: Path, database: Callable[[], str | Path]) -> Iterator[tuple[Workspace, int]]:
    """A workspace on the store under test with an HL7 listener on a thread: (workspace, port)."""
    db = database()
    root = make_workspace(tmp_path / "ws", db=db)
    ws = Workspace.open(root, db=db)
    server = ThreadListener(ws)
    try:
        yield ws, server.port
    finally:
        server.stop()
        ws.close()


def records(ws: Workspace, table: str) -> list[dict[str, Any]]:
    return [r["fields"] | {"id": r["id"]} for r in
            ws.base("patients").table(table).query(actor="admin", limit=1000, with_total=False).records]


def by(ws: Workspace, table: str, key: str) -> dict[str, Any]:
    return {r[key]: r for r in records(ws, table)}


# -- the sample messages of the example --------------------------------------------------------
def test_sample_messages_upsert_merge_and_book(his: tuple[Workspace, int]) -> None:
    ws, port = his
    names = sorted(p.name for p in SAMPLES.glob("*.hl7"))
    acks = send(port, *(sample(n) for n in names))
    assert [msa(a)[1] for a in acks] == ["AA"] * len(names), acks
    assert [msa(a)[2] for a in acks] == [f"HIS000{i}" for i in range(1, 7)]
    patients = by(ws, "patients", "his_id")
    assert set(patients) == {"P10001", "P10002"}  # P10009 was merged into P10001 (A40) and is gone
    wang = patients["P10001"]
    assert (wang["name"], wang["gender"], wang["birth_date"]) == ("王小明", "男", "1990-03-15")
    assert wang["phone"] == "13840900011"  # A08 changed it
    visits = by(ws, "visits", "visit_no")
    assert set(visits) == {"V20001", "V20002", "V20009"}
    assert visits["V20009"]["patient"] == [wang["id"]]  # the merged patient's visit moved to the survivor
    assert visits["V20001"]["complaint"].endswith("已拍 CBCT")
    assert visits["V20002"]["patient"] == [patients["P10002"]["id"]]
    (appointment,) = records(ws, "appointments")
    assert appointment["patient"] == [patients["P10002"]["id"]]
    assert appointment["start"] == "2026-12-14T06:30:00.000Z"  # 14:30 in Asia/Shanghai
    assert (appointment["minutes"], appointment["doctor_name"], appointment["reason"]) == (45, "周涛", "根管治疗第二次")
    history = ws.base("patients").table("patients").history(wang["id"], actor="admin")
    assert history and {h["actor"] for h in history} == {"his_bot"}


def test_the_sender_script_sends_the_samples(his: tuple[Workspace, int]) -> None:
    ws, port = his
    done = subprocess.run([sys.executable, str(SAMPLES / "send.py"), "--port", str(port), "01_adt_a04_wang.hl7"],
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "01_adt_a04_wang.hl7: MSA|AA|HIS0001"
    assert set(by(ws, "patients", "his_id")) == {"P10001"}


def test_a_message_sent_again_is_taken_once(his: tuple[Workspace, int]) -> None:
    ws, port = his
    first, again = send(port, sample("01_adt_a04_wang.hl7"), sample("01_adt_a04_wang.hl7"))
    assert msa(first)[1:3] == msa(again)[1:3] == ["AA", "HIS0001"]
    assert len(records(ws, "patients")) == 1 and len(records(ws, "visits")) == 1
    row = hl7intake.kept(ws, "HIS0001")
    assert row is not None and (row.status, row.attempts, row.type) == ("done", 1, "ADT^A04")


# -- framing -----------------------------------------------------------------------------------
def test_split_frames_and_two_messages_in_one_read(his: tuple[Workspace, int]) -> None:
    ws, port = his
    one, two = frame(adt("P1", "赵一", "F1")), frame(adt("P2", "钱二", "F2"))
    with connect(port) as sock:
        for i in range(0, len(one), 7):  # a frame in many small pieces
            sock.sendall(one[i:i + 7])
            time.sleep(0.001)
        assert msa(read_ack(sock))[1:3] == ["AA", "F1"]
        sock.sendall(b"noise before a frame" + two + frame(adt("P3", "孙三", "F3")))  # two frames in one write
        assert msa(read_ack(sock))[1:3] == ["AA", "F2"]
        assert msa(read_ack(sock))[1:3] == ["AA", "F3"]
    assert set(by(ws, "patients", "his_id")) == {"P1", "P2", "P3"}


def test_a_connection_dropped_mid_message_writes_nothing(his: tuple[Workspace, int]) -> None:
    ws, port = his
    whole = frame(adt("P7", "周七", "D7"))
    with connect(port) as sock:
        sock.sendall(whole[: len(whole) // 2])
    time.sleep(0.2)
    assert records(ws, "patients") == [] and hl7intake.kept(ws, "D7") is None
    (ack,) = send(port, adt("P7", "周七", "D7"))  # the HIS sends it again on a new connection
    assert msa(ack)[1] == "AA"
    assert [p["his_id"] for p in records(ws, "patients")] == ["P7"]


# -- hostile input -----------------------------------------------------------------------------
def test_hostile_input_gets_a_nak_and_the_listener_goes_on(his: tuple[Workspace, int]) -> None:
    ws, port = his
    wrong = adt("P8", "吴八", "H1").replace("MSH|^~\\&|", "MSH|#~\\&|", 1)
    acks = send(port, wrong, "hello, not HL7", "MSH|^~\\&|HIS||||||ADT^A04||P|2.5\rPID|1||P9")
    assert [msa(a)[1] for a in acks] == ["AR", "AR", "AR"]
    assert "encoding characters" in msa(acks[0])[3]
    assert "MSH" in msa(acks[1])[3]
    assert "control id" in msa(acks[2])[3]
    assert any(line.startswith("ERR|") for line in acks[0].split("\r"))
    # a Latin-1 / GB18030 byte soup is read, not crashed on
    with connect(port) as sock:
        sock.sendall(START + adt("P8", "吴八", "H2").encode("gb18030") + END)
        assert msa(read_ack(sock))[1] == "AA"
    assert by(ws, "patients", "his_id")["P8"]["name"] == "吴八"


def test_an_oversize_frame_is_refused(tmp_path: Path, database: Callable[[], str | Path]) -> None:
    db = database()
    root = make_workspace(tmp_path / "ws", db=db)
    ws = Workspace.open(root, db=db)
    server = ThreadListener(ws, max_frame=10_000)
    try:
        with connect(server.port) as sock:
            sock.sendall(START + adt("P1", "赵一", "BIG").encode() + b"\rNTE|1||" + b"x" * 20_000)
            ack = read_ack(sock)
            assert msa(ack)[1] == "AR" and "longer than" in msa(ack)[3]
            assert sock.recv(10) == b""  # then the connection is closed: what follows cannot be told apart
        assert msa(send(server.port, adt("P1", "赵一", "OK1"))[0])[1] == "AA"  # the listener goes on
    finally:
        server.stop()
        ws.close()


# -- refused messages are kept and retried ------------------------------------------------------
def test_a_refused_message_is_kept_listed_and_retried(his: tuple[Workspace, int], capsys: pytest.CaptureFixture[str]) -> None:
    ws, port = his
    (ack,) = send(port, sample("06_siu_s12_li.hl7"))  # the appointment of a patient the HIS never sent
    assert msa(ack)[1:3] == ["AE", "HIS0006"]
    assert "P10002" in msa(ack)[3]
    assert records(ws, "appointments") == []
    root, db = ws.config.root, str(ws.storage.database)
    assert cli(["hl7", root, "failed", "--db", db]) == 0
    listed = capsys.readouterr().out
    assert "HIS0006  SIU^S12" in listed and "P10002" in listed
    assert cli(["hl7", root, "retry", "HIS0006", "--db", db]) == 1  # still refused: nothing changed
    assert "still not applied" in capsys.readouterr().out
    send(port, sample("02_adt_a01_li.hl7"))
    assert cli(["hl7", root, "retry", "HIS0006", "--db", db]) == 0
    assert "HIS0006: applied" in capsys.readouterr().out
    assert len(records(ws, "appointments")) == 1
    assert cli(["hl7", "failed", root, "--db", db]) == 0  # the action may also come first
    assert "no message is waiting" in capsys.readouterr().out
    assert msa(send(port, sample("06_siu_s12_li.hl7"))[0])[1] == "AA"  # the HIS resending it: taken once
    assert len(records(ws, "appointments")) == 1


def test_unmapped_types_are_refused_and_kept(his: tuple[Workspace, int]) -> None:
    ws, port = his
    (ack,) = send(port, adt("P1", "赵一", "U1").replace("ADT^A04^ADT_A01", "ORU^R01"))
    assert msa(ack)[1] == "AR" and "ORU\\S\\R01" in msa(ack)[3]  # ^ is written in HL7 escapes
    kept = hl7intake.kept(ws, "U1")
    assert kept is not None and kept.status == "failed"


def test_the_actor_permissions_hold(tmp_path: Path, database: Callable[[], str | Path]) -> None:
    db = database()
    root = make_workspace(tmp_path / "ws", actor="reader_bot", db=db)
    ws = Workspace.open(root, db=db)
    server = ThreadListener(ws)
    try:
        (ack,) = send(server.port, sample("01_adt_a04_wang.hl7"))
        assert msa(ack)[1] == "AE"
        assert records(ws, "patients") == []
        kept = hl7intake.kept(ws, "HIS0001")
        assert kept is not None and kept.status == "failed" and kept.error
    finally:
        server.stop()
        ws.close()


def test_bad_mappings_are_reported_at_their_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_workspace(tmp_path / "ws")
    base = root / "bases" / "patients.yaml"
    text = base.read_text(encoding="utf-8").replace("his_id: PID-3.1", "his_idd: PID-3.1", 1)
    base.write_text(text.replace("link_by: his_id", "link_by: hisid", 1), encoding="utf-8")
    assert cli(["validate", str(root)]) == 1
    err = capsys.readouterr().err
    assert "unknown field 'his_idd' in table 'patients'" in err
    assert "unknown field 'hisid' in table 'patients'" in err


# -- nothing ACKed is lost ---------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_listener(root: Path, port: int, db: str | Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "gridbase", "hl7", "listen", str(root), "--host", "127.0.0.1",
                             "--port", str(port), "--db", str(db)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("the listener did not start")


def test_sigkill_during_a_burst_loses_nothing_acked(tmp_path: Path, database: Callable[[], str | Path]) -> None:
    db = database()
    root = make_workspace(tmp_path / "ws", db=db)
    port = free_port()
    proc = start_listener(root, port, db)
    acked: list[str] = []
    total = 200
    try:
        with connect(port) as sock:
            for i in range(total):
                sock.sendall(frame(adt(f"K{i}", f"患者{i}", f"K{i}")))
                if i == 30:
                    os.kill(proc.pid, signal.SIGKILL)  # mid-burst: some sent, some answered
                try:
                    ack = read_ack(sock)
                except (ConnectionError, OSError):
                    break
                assert msa(ack)[1] == "AA"
                acked.append(msa(ack)[2])
    except OSError:
        pass
    finally:
        proc.kill()
        proc.wait(30)
    assert 0 < len(acked) < total
    ws = Workspace.open(root, db=db)
    try:
        for control in acked:
            kept = hl7intake.kept(ws, control)
            assert kept is not None and kept.status == "done", control
        patients = [p["his_id"] for p in records(ws, "patients")]
        assert len(patients) == len(set(patients))  # each at most once
        assert set(acked) <= set(patients)
    finally:
        ws.close()
    # the HIS sends again everything not ACKed (and, to be safe, everything): each is stored once
    proc = start_listener(root, port, db)
    try:
        acks = send(port, *(adt(f"K{i}", f"患者{i}", f"K{i}") for i in range(total)))
        assert all(msa(a)[1] == "AA" for a in acks)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    ws = Workspace.open(root, db=db)
    try:
        patients = [p["his_id"] for p in records(ws, "patients")]
        assert sorted(patients) == sorted(f"K{i}" for i in range(total))
    finally:
        ws.close()


def test_serve_takes_hl7_beside_the_web_app(tmp_path: Path, database: Callable[[], str | Path]) -> None:
    """`gridbase serve --hl7-port`: the listener runs on the web app's loop, started and stopped with it."""
    db = database()
    root = make_workspace(tmp_path / "ws", db=db)
    ws = Workspace.open(root, db=db)
    hl7_port = free_port()
    app = create_app(ws, automations=False, hl7=("127.0.0.1", hl7_port))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        (ack,) = send(hl7_port, sample("01_adt_a04_wang.hl7"))
        assert msa(ack)[1:3] == ["AA", "HIS0001"]
        assert set(by(ws, "patients", "his_id")) == {"P10001"}
    finally:
        server.should_exit = True
        thread.join(60)
        ws.close()
    with pytest.raises(OSError):
        connect(hl7_port).close()  # stopped with the app


@pytest.mark.stores  # also on PostgreSQL (tests/conftest.py)
def test_messages_apply_on_every_store(tmp_path: Path, database: Any) -> None:
    """engine.hl7intake without the wire: the samples, a resend, a refusal kept and retried."""
    root = tmp_path / "ws"
    (root / "bases").mkdir(parents=True)
    (root / "workspace.yaml").write_text(WORKSPACE, encoding="utf-8")
    base = BASE + yaml.safe_dump({"hl7": example_mappings()}, allow_unicode=True, sort_keys=False)
    (root / "bases" / "patients.yaml").write_text(base, encoding="utf-8")
    ws = Workspace.open(root, db=database())
    try:
        ws.apply()
        refused = hl7intake.receive(ws, sample("06_siu_s12_li.hl7"))
        assert (refused.code, refused.control_id) == ("AE", "HIS0006") and "P10002" in refused.text
        names = sorted(p.name for p in SAMPLES.glob("*.hl7"))[:5]
        assert [hl7intake.receive(ws, sample(n)).code for n in names] == ["AA"] * 5
        assert hl7intake.receive(ws, sample(names[0])).duplicate
        assert [k.control_id for k in hl7intake.failed(ws)] == ["HIS0006"]
        assert hl7intake.retry(ws, "HIS0006").code == "AA"
        assert hl7intake.failed(ws) == []
        assert set(by(ws, "patients", "his_id")) == {"P10001", "P10002"}
        assert len(records(ws, "visits")) == 3 and len(records(ws, "appointments")) == 1
    finally:
        ws.close()
