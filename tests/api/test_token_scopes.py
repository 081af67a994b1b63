"""Token scopes and bases (issue 17, item 12), over HTTP against the real uvicorn server.

Tokens are made with `gridbase token DIR create USER --scope … --base …`, as an admin would,
and every request outside a token's scope or bases gets Airtable's 403
INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND, while inside them the person's own rights apply.
"""

from __future__ import annotations

import httpx
import pytest

from engine import tokens
from gridbase.cli import main as cli

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

FORBIDDEN = "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"


def make_token(server, capsys: pytest.CaptureFixture[str], person: str, *options: str) -> str:
    capsys.readouterr()
    code = cli(["token", server.ws.config.root, "create", person, "--db", str(server.ws.storage.database), *options])
    text = capsys.readouterr().out
    assert code == 0, text
    return text.strip().splitlines()[-1]


def client(server, secret: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {secret}"}, timeout=30)


def forbidden(response: httpx.Response) -> bool:
    body = response.json()
    return response.status_code == 403 and set(body) == {"error"} and body["error"]["type"] == FORBIDDEN \
        and "Invalid permissions, or the requested model was not found" in body["error"]["message"]


def test_a_read_only_token_reads_but_cannot_write(api_server, capsys) -> None:
    record = api_server.ws.base("crm").table("contacts").insert_many([{"name": "Ada"}])[0]
    secret = make_token(api_server, capsys, "admin", "--name", "report", "--scope", "data.records:read")
    with client(api_server, secret) as c:
        assert c.get("/v0/crm/contacts").status_code == 200
        assert c.get(f"/v0/crm/contacts/{record}").status_code == 200
        assert c.post("/v0/crm/contacts/listRecords", json={}).status_code == 200
        assert forbidden(c.post("/v0/crm/contacts", json={"fields": {"name": "Eve"}}))
        assert forbidden(c.patch(f"/v0/crm/contacts/{record}", json={"fields": {"name": "Eve"}}))
        assert forbidden(c.delete(f"/v0/crm/contacts/{record}"))
        assert forbidden(c.get("/v0/meta/bases"))  # no schema.bases:read
        assert forbidden(c.get("/v0/meta/bases/crm/tables"))
        assert "email" not in c.get("/v0/meta/whoami").json()  # no user.email:read
    assert api_server.ws.base("crm").table("contacts").get(record, actor="system")["fields"]["name"] == "Ada"


def test_a_write_only_token_cannot_read(api_server, capsys) -> None:
    secret = make_token(api_server, capsys, "admin", "--scope", "data.records:write")
    with client(api_server, secret) as c:
        created = c.post("/v0/crm/contacts", json={"fields": {"name": "Bob"}})
        assert created.status_code == 200
        assert forbidden(c.get("/v0/crm/contacts"))
        assert forbidden(c.get(f"/v0/crm/contacts/{created.json()['id']}"))


def test_a_token_limited_to_one_base(api_server, capsys) -> None:
    secret = make_token(api_server, capsys, "admin", "--scope", "data.records:read", "--scope", "schema.bases:read",
                        "--base", "crm")
    with client(api_server, secret) as c:
        assert c.get("/v0/crm/contacts").status_code == 200
        assert forbidden(c.get("/v0/vault/secrets"))
        assert forbidden(c.post("/v0/vault/secrets/listRecords", json={}))
        assert forbidden(c.get("/v0/meta/bases/vault/tables"))
        assert [b["id"] for b in c.get("/v0/meta/bases").json()["bases"]] == ["crm"]


def test_scopes_never_add_rights(api_server, capsys) -> None:
    """A viewer's token with every scope still has only the viewer's rights."""
    secret = make_token(api_server, capsys, "li")  # no --scope: every scope
    with client(api_server, secret) as c:
        assert forbidden(c.get("/v0/vault/secrets"))  # li's roles do not reach the vault


def test_cli_refuses_unknown_scopes_and_bases(api_server, capsys) -> None:
    root, db = api_server.ws.config.root, str(api_server.ws.storage.database)
    with pytest.raises(SystemExit):
        cli(["token", root, "create", "admin", "--db", db, "--scope", "data.records:delete"])
    assert cli(["token", root, "create", "admin", "--db", db, "--base", "nope"]) == 1
    assert "unknown base 'nope'" in capsys.readouterr().err
    make_token(api_server, capsys, "admin", "--name", "ro", "--scope", "data.records:read", "--base", "crm")
    assert cli(["token", root, "list", "admin", "--db", db]) == 0
    listed = capsys.readouterr().out
    assert "ro\t" in listed and "data.records:read\tcrm" in listed


def test_tokens_from_before_scopes_keep_every_scope(api_server) -> None:
    """A token row without scopes (made before they existed) still works everywhere (documented)."""
    secret = api_server.token("admin")  # inserted as the old CLI did: no scopes, no bases
    with client(api_server, secret) as c:
        assert c.get("/v0/vault/secrets").status_code == 200
        assert c.post("/v0/crm/contacts", json={"fields": {"name": "Old"}}).status_code == 200
        assert c.get("/v0/meta/bases").status_code == 200
    assert tokens.find(api_server.ws, secret).scopes == tokens.SCOPES
