"""The example as a newcomer meets it: `gridbase validate`, `gridbase demo` on a fresh copy (a
real server, signed in over HTTP), and `gridbase seed` reproducible from its seed."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.examples.conftest import PASSWORD, copy_example, csrf_of
from tests_support import DENTAL, ROOT, free_port

GRIDBASE = str(Path(sys.executable).parent / "gridbase")
if not Path(GRIDBASE).exists():  # pragma: no cover - the venv's script is the normal case
    GRIDBASE = str(ROOT / ".venv" / "bin" / "gridbase")
DASHBOARDS = ["/b/patients/d/overview", "/b/complaints/d/overview", "/b/directives/d/overview"]



def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gridbase demo exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"gridbase demo did not listen on {port} within {timeout} s")


def test_validate_passes():
    done = subprocess.run([GRIDBASE, "validate", str(DENTAL)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "ok:" in done.stdout and "3 base(s)" in done.stdout


@pytest.mark.sqlite_only("gridbase demo as a newcomer runs it: the embedded default, a SQLite file in data/")
def test_demo_serves_the_three_bases(tmp_path):
    root = copy_example(tmp_path / "dalian_dental")
    port = free_port()
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([GRIDBASE, "demo", str(root), "--port", str(port), "--scale", "0.05"],
                                stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
        try:
            wait_for_port(port, proc)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                login = http.get("/login")
                assert login.status_code == 200
                signed = http.post("/login", data={"username": "admin", "password": PASSWORD, "next": "/",
                                                   "csrf_token": csrf_of(login.text)})
                assert signed.status_code == 303, signed.text
                home = http.get("/")
                assert home.status_code == 200
                for name in ("患者信息管理", "信访投诉管理", "上级文件响应"):
                    assert name in home.text
                for path in DASHBOARDS:
                    page = http.get(path)
                    assert page.status_code == 200, path
                    assert 'class="dash-card number"' in page.text
                grid = http.get("/b/patients/t/visits")
                assert grid.status_code == 200
                total = re.search(r'record-count">([\d,]+) (?:records|条记录)<', grid.text)
                assert total is not None and int(total.group(1).replace(",", "")) == 1000
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:  # pragma: no cover
                proc.kill()
                proc.wait()
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "seeding sample data" in text and "visits: 1000" in text
    # the README promises the demo prints whom to sign in as, and with which password
    assert re.search(rf"admin\s.*password {PASSWORD}", text), text
    assert (root / "data" / "gridbase.db").exists()
    db = sqlite3.connect(root / "data" / "gridbase.db")
    try:
        assert db.execute("SELECT count(*) FROM patients__visits").fetchone()[0] == 1000
    finally:
        db.close()


def content_hash(path: Path) -> tuple[str, dict[str, int]]:
    """A hash of every example table's rows, leaving out record ids (mapped to row order) and timestamps."""
    db = sqlite3.connect(path)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%\\_\\_%' "
                                           "ESCAPE '\\' AND name NOT LIKE '\\_gb%' ESCAPE '\\' AND name NOT LIKE '%\\_\\_link' "
                                           "ESCAPE '\\' ORDER BY name")]
        ids: dict[str, str] = {}
        for table in tables:
            for rowid, rid in db.execute(f'SELECT _rowid, _id FROM "{table}" ORDER BY _rowid'):
                ids[rid] = f"{table}#{rowid}"
        digest = hashlib.sha256()
        counts = {}
        skip = {"_id", "_created_at", "_created_by", "_modified_at", "_modified_by"}
        for table in tables:
            cur = db.execute(f'SELECT * FROM "{table}" WHERE _deleted_at IS NULL ORDER BY _rowid')
            names = [d[0] for d in cur.description]
            n = 0
            for row in cur:
                n += 1
                values = {k: v for k, v in zip(names, row, strict=True) if k not in skip}
                text = json.dumps(values, ensure_ascii=False, sort_keys=True)
                text = re.sub(r"rec[0-9A-Za-z]{14}", lambda m: ids.get(m.group(0), "?"), text)
                digest.update(f"{table}:{text}\n".encode())
            counts[table.split("__", 1)[1]] = n
        return digest.hexdigest(), counts
    finally:
        db.close()


@pytest.mark.sqlite_only("gridbase seed into the example's own SQLite file (data/gridbase.db), hashed from the file")
def test_seed_is_reproducible_and_prints_counts(tmp_path):
    results = []
    for name in ("one", "two"):
        root = copy_example(tmp_path / name)
        done = subprocess.run([GRIDBASE, "seed", str(root), "--seed", "11", "--scale", "0.05"], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        printed = dict(re.findall(r"^\s*(\w+): (\d+)$", done.stdout, re.M))
        digest, counts = content_hash(root / "data" / "gridbase.db")
        assert {k: int(v) for k, v in printed.items()} == counts
        assert set(counts) == {"patients", "visits", "appointments", "followups", "complaints", "documents", "tasks"}
        results.append(digest)
    assert results[0] == results[1]
    other = copy_example(tmp_path / "three")
    subprocess.run([GRIDBASE, "seed", str(other), "--seed", "12", "--scale", "0.05"], capture_output=True, check=True,
                   timeout=120)
    assert content_hash(other / "data" / "gridbase.db")[0] != results[0]


def test_make_demo_serves_on_the_port_asked_for():
    done = subprocess.run(["make", "-n", "demo", "PORT=8711", "HOST=127.0.0.2"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "--host 127.0.0.2 --port 8711" in done.stdout
