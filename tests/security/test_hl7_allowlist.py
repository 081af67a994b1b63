"""Only the HIS may send HL7: the MLLP listener's allow-list of source addresses (engine.allowlist).

Over real loopback TCP: with `hl7_listener: allow_from: [127.0.0.1]`, a connection from
127.0.0.2 (another loopback source address) is closed before anything is read, nothing is
written, the refusal is logged with the address and counted, and 127.0.0.1 is still answered.
Left out, only loopback is admitted; a wrong entry is a clear error at its line in workspace.yaml.
"""

from __future__ import annotations

import socket
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import Workspace, allowlist, hl7intake
from engine.errors import ConfigError
from engine.loader import load_workspace
from gridbase.app import create_app
from plugins.hl7_listener import frame
from tests.plugins.test_hl7_listener import WORKSPACE, ThreadListener, adt, make_workspace, read_ack
from tests_support import sign_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def allowing(root: Path, block: str) -> None:
    (root / "workspace.yaml").write_text(WORKSPACE + block, encoding="utf-8")


def send_from(source: str, port: int, text: str) -> bytes:
    """Send one frame from `source` and read what comes back (b"" when the listener closed without a word)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
        try:
            sock.sendall(frame(text))
            return sock.recv(65536)
        except ConnectionError:
            return b""


def test_a_sender_outside_the_allow_list_is_refused_logged_and_counted(tmp_path: Path, database: Callable[[], Any],
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    root = make_workspace(tmp_path / "ws")
    allowing(root, "hl7_listener:\n  allow_from: [127.0.0.1/32]\n")
    ws = Workspace.open(root, db=database())
    ws.apply()
    server = ThreadListener(ws)
    try:
        with caplog.at_level("WARNING", logger="gridbase.hl7"):
            assert send_from("127.0.0.2", server.port, adt("P1", "王芳", "C-OUT")) == b""
        assert server.listener.refused == 1
        assert "127.0.0.2" in caplog.text and "refused" in caplog.text
        assert hl7intake.failed(ws) == [] and ws.storage.conn.execute(
            "SELECT COUNT(*) FROM _gb_hl7_messages").fetchone()[0] == 0
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(frame(adt("P2", "李四", "C-IN")))
            assert "|AA|" in read_ack(sock)
        assert server.listener.refused == 1
    finally:
        server.stop()
        ws.close()


def test_loopback_is_the_default_and_a_wrong_entry_is_a_clear_error(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "bases").mkdir(parents=True)
    allowing(root, "")
    nets = allowlist.hl7_networks(load_workspace(root))
    assert allowlist.admits(nets, "127.0.0.1") and allowlist.admits(nets, "::1")
    assert not allowlist.admits(nets, "10.20.3.7") and not allowlist.admits(nets, "not an address")
    hospital = allowlist.networks(["10.20.0.0/16"])
    assert allowlist.admits(hospital, "::ffff:10.20.3.7") and not allowlist.admits(hospital, "10.21.0.1")
    assert not allowlist.admits(allowlist.networks([]), "127.0.0.1")  # an empty list admits nobody

    allowing(root, "hl7_listener:\n  allow_from: [10.20.0.0/16, 10.20.300.0/24]\n")
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    text = str(caught.value)
    assert "10.20.300.0/24" in text and "CIDR" in text and "workspace.yaml" in text


def test_the_admins_intake_page_counts_the_refused_senders(tmp_path: Path, database: Callable[[], Any]) -> None:
    root = make_workspace(tmp_path / "ws")
    password = "allow-list-page-4Kq9"
    (root / "workspace.yaml").write_text(WORKSPACE.replace(
        "admin: {name: Admin, roles: [admin]}", f'admin: {{name: Admin, roles: [admin], password: "{password}"}}')
        + "hl7_listener:\n  allow_from: [127.0.0.1]\n", encoding="utf-8")
    ws = Workspace.open(root, db=database())
    ws.apply()
    try:
        with TestClient(create_app(ws, automations=False, hl7=("127.0.0.1", 0))) as client:
            listener = client.app.state.hl7  # type: ignore[attr-defined]
            assert send_from("127.0.0.2", listener.port, adt("P3", "王芳", "C-PAGE")) == b""
            assert sign_in(client, "admin", password).status_code == 303
            page = client.get("/admin/intake").text
            assert 'data-hl7-refused="1"' in page
    finally:
        ws.close()
