"""A real uvicorn server serving `views.api.routes` on 127.0.0.1, with a base of every field type.

`api_server` yields a `Server` with the workspace, the base URL and tokens for each person
(`server.token("admin")`), so tests can drive it with pyairtable or httpx as an Airtable
user would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from engine import Workspace
from engine.auth import digest, new_secret
from tests_support import free_port

CRM = """\
base: crm
name: CRM
tables:
  contacts:
    name: Contacts
    primary: name
    fields:
      name: {type: text, name: Name, required: true}
      notes: {type: long_text, name: Notes}
      age: {type: number, name: Age}
      fee: {type: currency, name: Fee, symbol: "$"}
      share: {type: percent, name: Share}
      vip: {type: checkbox, name: VIP}
      status: {type: single_select, name: Status, options: [New, Active, Closed]}
      tags: {type: multi_select, name: Tags, options: [red, green, blue]}
      born: {type: date, name: Born}
      met_at: {type: datetime, name: Met At}
      call: {type: duration, name: Call Length}
      stars: {type: rating, name: Stars}
      email: {type: email, name: Email}
      phone: {type: phone, name: Phone}
      site: {type: url, name: Website}
      owner: {type: person, name: Owner}
      helpers: {type: person, name: Helpers, multiple: true}
      company: {type: link, name: Company, table: companies, multiple: false, inverse: contacts, inverse_name: Contacts}
      city: {type: lookup, name: Company City, link: company, field: city}
      files: {type: attachment, name: Files}
      no: {type: autonumber, name: Number}
      created: {type: created_time, name: Created}
      modified: {type: modified_time, name: Modified}
      creator: {type: created_by, name: Creator}
      editor: {type: modified_by, name: Editor}
    views:
      active: {type: grid, name: Active only, filter: {status: Active}, sort: [-age], fields: [name, status, age]}
      board: {type: kanban, name: Board, group_by: status}
  companies:
    name: Companies
    primary: title
    fields:
      title: {type: text, name: Title, required: true}
      city: {type: text, name: City}
      people: {type: rollup, name: People, link: contacts, field: name, function: count}
roles:
  handler:
    contacts: {access: edit, delete: true, fields: {phone: {access: edit, mask: phone}, fee: none}}
    companies: {access: read}
  viewer:
    contacts: {access: read, rows: {status: Active}, fields: {email: none}}
"""

VAULT = """\
base: vault
name: Vault
tables:
  secrets:
    name: Secrets
    primary: title
    fields:
      title: {type: text, name: Title}
"""


@dataclass
class Server:
    ws: Workspace
    url: str
    app: Starlette
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def token(self, person: str, *, expires: datetime | None = None, revoked: bool = False) -> str:
        """A new API token for `person` (inserted into _gb_tokens as the CLI does)."""
        secret = new_secret("gbt_")
        now = datetime.now(UTC)
        with self.ws.storage.transaction():
            self.ws.storage.conn.execute(
                "INSERT INTO _gb_tokens (person, name, token_hash, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)",
                (person, f"t{len(self.tokens)}", digest(secret), now.isoformat(),
                 expires.isoformat() if expires else None, now.isoformat() if revoked else None))
        self.tokens.setdefault(person, secret)
        return secret

    def client(self, person: str | None = "admin", **headers: str) -> httpx.Client:
        auth = {"Authorization": f"Bearer {self.tokens[person] if person in self.tokens else self.token(person)}"} if person else {}
        return httpx.Client(base_url=self.url, headers={**auth, **headers}, timeout=30)



def serve(app: Starlette) -> tuple[uvicorn.Server, threading.Thread, str]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture
def api_server(make_workspace: Callable[..., Workspace]) -> Iterator[Server]:
    """The API over a fresh workspace (bases crm and vault), rate limit off."""
    from views.api import routes

    ws = make_workspace({"crm": CRM, "vault": VAULT})
    ws.sync_people()
    app = Starlette(routes=list(routes))
    app.state.ws = ws
    app.state.api_rate = None
    server, thread, url = serve(app)
    try:
        yield Server(ws, url, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def seed(ws: Workspace, n: int, **extra: Any) -> list[str]:
    """n contacts named c0000… with ages 0..n-1 (engine insert, as `system`)."""
    table = ws.base("crm").table("contacts")
    return table.insert_many({"name": f"c{i:04d}", "age": i, "status": ["New", "Active", "Closed"][i % 3], **extra}
                              for i in range(n))


@pytest.fixture
def seeded() -> Callable[..., list[str]]:
    """The `seed` helper, as a fixture."""
    return seed
