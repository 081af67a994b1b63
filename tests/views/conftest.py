"""Fixtures for the web tests: a small base with roles, masks and forms, and signed-in clients.

`web` builds the app over a fresh workspace; `client_for(person)` returns a TestClient that
has signed in through the real /login form (so cookies, CSRF and sessions are the real ones).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

with warnings.catch_warnings():
    # starlette 1.x prefers httpx2 for its TestClient but works with httpx, which we ship.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from engine import Workspace
from gridbase.app import create_app
from tests_support import csrf_of  # noqa: F401 (used by the tests of this folder)
from tests_support import sign_in as sign_in_as

PASSWORD = "correct horse battery"

WORKSPACE = f"""\
workspace: webtest
name: Web Test
timezone: Asia/Shanghai
locale: en
departments:
  qc: {{name: 质控部}}
roles:
  admin: {{name: Admin, admin: true}}
  handler: {{name: Handler}}
  staff: {{name: Staff}}
people:
  admin: {{name: Admin, roles: [admin], password: "{PASSWORD}"}}
  wang: {{name: 王芳, roles: [handler], department: qc, password: "{PASSWORD}", email: wang@example.org}}
  li: {{name: 李四, roles: [staff], password: "{PASSWORD}"}}
  zhao: {{name: 赵六, roles: [], password: "{PASSWORD}"}}
"""

BASE = """\
base: cases
name: Cases
tables:
  cases:
    name: Case records
    primary: title
    fields:
      title: {type: text, name: Title, required: true, max_length: 100}
      status: {type: single_select, name: Status, options: [Open, Doing, Done], default: Open}
      phone: {type: phone, name: Phone}
      secret: {type: text, name: Secret note}
      score: {type: number, name: Score, min: 0, max: 10}
      owner: {type: person, name: Owner}
      reporter: {type: person, name: Reporter}
      channel: {type: single_select, name: Channel, options: [Desk, QR]}
      due: {type: date, name: Due}
      files: {type: attachment, name: Files, accept: ["image/*", "text/plain", "application/pdf"], max_size_mb: 1}
    views:
      open: {type: grid, name: Open cases, fields: [title, status, phone, score], filter: {status: {neq: Done}}, sort: [title]}
      admins: {type: grid, name: Admin only, roles: [admin]}
    forms:
      report:
        name: Report a case
        fields: [title, {field: score, label: How bad, help: 0 to 10}, status]
        prefill: {channel: QR}
        submitter: reporter
        thanks: Thanks, we got it.
      public:
        name: Public report
        public: true
        fields: [title]
        prefill: {channel: QR}
roles:
  handler:
    cases:
      access: edit
      create: true
      delete: true
      fields:
        secret: none
        phone: {access: read, mask: phone}
        title: edit
        score: edit
        status: edit
        files: edit
      other_fields: read
  staff:
    cases:
      access: read
      create: true
      rows: {reporter: $me}
      fields:
        secret: none
        title: create
        score: create
        status: create
"""


@pytest.fixture
def ws(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace({"cases": BASE}, WORKSPACE)


@pytest.fixture
def app(ws: Workspace) -> Any:
    return create_app(ws, automations=False)


def sign_in(client: TestClient, person: str, password: str = PASSWORD) -> Any:
    return sign_in_as(client, person, password)


@pytest.fixture
def client_for(app: Any) -> Iterator[Callable[[str], TestClient]]:
    clients: list[TestClient] = []

    def make(person: str | None) -> TestClient:
        client = TestClient(app, base_url="http://testserver")
        client.__enter__()
        clients.append(client)
        if person:
            response = sign_in(client, person)
            assert response.status_code == 303, response.text
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def token(client: TestClient, path: str = "/") -> str:
    return csrf_of(client.get(path).text)
