"""Airtable's official JavaScript client, airtable.js 0.12.2, unchanged against Gridbase.

The client comes from the npm registry into `.cache/npm` of the checkout (once; `.ci/run`
installs Node and npm from Debian's packages) and runs `tests/api/js/airtable_js_client.js`
against the whole Gridbase app (`gridbase serve`'s, pages and API) on a real uvicorn server
on loopback: every method of its public API that maps to an
endpoint Gridbase serves (select with firstPage/eachPage/all, find, create, update, replace,
destroy, each single and as an array, typecast, Record.save/fetch/patchUpdate/putUpdate/
destroy, the deprecated list/forEach, base.makeRequest for comments), its errors, and its
retry after a 429.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from engine import Workspace
from gridbase.app import create_app
from tests.api.conftest import CRM, VAULT, Server, seed
from tests_support import free_port

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "npm"
VERSION = "0.12.2"
SCRIPT = Path(__file__).resolve().parent / "js" / "airtable_js_client.js"


@pytest.fixture(scope="module")
def node_modules() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("airtable.js needs Node and npm (apt-get install nodejs npm; .ci/run installs them)")
    modules = CACHE / "node_modules"
    package = modules / "airtable" / "package.json"
    CACHE.mkdir(parents=True, exist_ok=True)
    # `make test` runs this module in two pytest processes at once (SQLite and PostgreSQL): one
    # installs while the other waits, then finds it installed (two npm installs into one folder
    # break each other: ENOTEMPTY, a half-written module).
    with (CACHE / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not package.exists() or json.loads(package.read_text(encoding="utf-8")).get("version") != VERSION:
            done = subprocess.run([npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--no-save",
                                   f"airtable@{VERSION}"], capture_output=True, text=True, timeout=300, check=False)
            assert done.returncode == 0, f"npm install airtable@{VERSION} failed:\n{done.stdout}\n{done.stderr}"
    return modules


IO = """\
base: io
name: In and out
tables:
  moves:
    name: In/Out
    primary: what
    fields:
      what: {type: text, name: What}
      qty: {type: number, name: Qty}
"""


@pytest.fixture
def gridbase_server(make_workspace: Callable[..., Workspace]) -> Iterator[Server]:
    """`gridbase serve`'s app (automations off) on 127.0.0.1, API rate limit off."""
    ws = make_workspace({"crm": CRM, "vault": VAULT, "io": IO})
    ws.sync_people()
    app = create_app(ws, automations=False)
    app.state.api_rate = None
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield Server(ws, f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def run_client(phase: str, server: Any, modules: Path) -> list[str]:
    env = {**os.environ, "NODE_PATH": str(modules), "GRIDBASE_URL": server.url,
           "GRIDBASE_TOKEN": server.token("admin"), "GRIDBASE_VIEWER_TOKEN": server.token("zhao")}
    done = subprocess.run(["node", str(SCRIPT), phase], capture_output=True, text=True, timeout=240, env=env,
                          check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    last = json.loads(done.stdout.strip().splitlines()[-1])
    return list(last["done"])


def test_airtable_js_public_api(gridbase_server: Server, node_modules: Path) -> None:
    steps = run_client("main", gridbase_server, node_modules)
    assert steps == [
        "create single", "create array", "typecast", "find", "select firstPage", "select eachPage",
        "select all filterByFormula", "select view", "select cellFormat string", "select returnFieldsByFieldId",
        "select method post (listRecords)", "select long url goes by post", "update single and array",
        "replace single and array", "record save and fetch", "comments and commentCount",
        "destroy single and array", "deprecated list and forEach", "callback style", "errors", "permissions",
        "a table name with a slash",
    ]
    contacts = gridbase_server.ws.base("crm").table("contacts")
    history = [h["action"] for h in contacts.history(contacts.query(actor="admin").records[0]["id"], actor="admin")]
    assert history[0] == "create" and "update" in history  # written through the engine, audited


def test_airtable_js_retries_after_rate_limit(gridbase_server: Server, node_modules: Path) -> None:
    seed(gridbase_server.ws, 3)
    gridbase_server.app.state.api_rate = (1, 2)
    assert run_client("ratelimit", gridbase_server, node_modules) == ["retries after 429"]
