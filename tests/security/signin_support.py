"""Helpers for the sign-in tests of this folder: a small workspace of their own (the shared
dental `env` must not collect sign-in failures) and browsers at chosen client addresses."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient prefers httpx2; httpx works
    from starlette.testclient import TestClient

from engine import Workspace
from gridbase.app import create_app
from tests_support import csrf_of

SPRAYED = "Summer2026!x"  # the one password an attacker tries everywhere
GOOD = "a long and private passphrase"
NAMES = [f"p{i:02d}" for i in range(24)]

BASE = """\
base: notes
name: Notes
tables:
  notes:
    name: Notes
    primary: title
    fields:
      title: {type: text, name: Title}
roles:
  staff:
    notes: {access: read}
"""


def workspace_yaml(extra: str = "") -> str:
    """Staff `victim`, admin `boss` and 24 staff p00..p23; the last uses the sprayed password."""
    return "\n".join([
        "workspace: signin", "name: Sign-in", "timezone: Asia/Shanghai", "locale: en", extra,
        "roles:", "  staff: {name: Staff}", "  admin: {name: Admin, admin: true}", "people:",
        f"  victim: {{name: Victim, roles: [staff], password: \"{GOOD}\", email: victim@example.org}}",
        f"  boss: {{name: Boss, roles: [admin], password: \"{GOOD}\"}}",
        *[f"  {n}: {{name: {n}, roles: [staff]}}" for n in NAMES[:-1]],  # no password (hashing is slow)
        f"  {NAMES[-1]}: {{name: {NAMES[-1]}, roles: [staff], password: \"{SPRAYED}\"}}",
    ]) + "\n"


class Browsers:
    """browsers.at(address) -> a TestClient whose requests come from that IP address."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.app = create_app(ws, automations=False)
        self._open: list[TestClient] = []

    def at(self, address: str) -> TestClient:
        client = TestClient(self.app, base_url="http://testserver", client=(address, 40000))
        client.__enter__()
        self._open.append(client)
        return client

    def close(self) -> None:
        for client in self._open:
            client.__exit__(None, None, None)


def browsers_for(ws: Workspace) -> Iterator[Browsers]:
    found = Browsers(ws)
    yield found
    found.close()


def csrf(client: TestClient, path: str) -> str:
    """The CSRF token of the page at `path`."""
    return str(csrf_of(client.get(path).text))
