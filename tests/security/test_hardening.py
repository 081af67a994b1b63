"""Sign-in and request hardening not already covered by tests/views/test_auth.py and tests/api:
session fixation with a planted cookie, CSRF on every state-changing route, the anonymous CSRF
cookie, lockout by e-mail alias, token revocation/expiry and disabling through the CLI, IDOR
through every record-addressed URL, and the access log of sensitive reads with `gridbase audit`.

People used here are not the matrix's (see conftest.PEOPLE), because some tests disable them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from starlette.routing import Route

from gridbase.cli import main as cli
from tests.security.conftest import Env, csrf_of, make_client, sign_in


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli(list(argv))
    printed = capsys.readouterr()
    return code, printed.out + printed.err


_OPEN: list[Any] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().__exit__(None, None, None)


def fresh(env: Env, person: str | None = None, **headers: str) -> Any:
    client = make_client(env.app, _OPEN, **headers)
    if person:
        assert sign_in(client, person).status_code == 303
    return client


# -- sessions and cookies ----------------------------------------------------------------------
def test_planted_session_cookie_is_replaced_at_sign_in(env: Env) -> None:
    attacker = fresh(env, "luo_xin")
    planted = attacker.cookies.get("gb_session")
    victim = fresh(env)
    victim.cookies.set("gb_session", planted)
    response = sign_in(victim, "han_xiao")
    assert response.status_code == 303
    issued = response.cookies.get("gb_session")
    assert issued and issued != planted
    victim.cookies.clear()
    victim.cookies.set("gb_session", issued)
    # the planted id no longer names any session: the attacker is not signed in as the victim
    assert attacker.get("/", follow_redirects=False).status_code == 303
    assert "韩笑" in victim.get("/").text


def test_anonymous_csrf_cookie_flags_and_logout_clears_session(env: Env) -> None:
    anon = fresh(env)
    header = anon.get("/login").headers["set-cookie"]
    assert "gb_csrf=" in header and "HttpOnly" in header and "samesite=strict" in header.lower() and "Path=/" in header
    https = fresh(env).get("/login", headers={"X-Forwarded-Proto": "https"}).headers["set-cookie"]
    assert "Secure" in https
    client = fresh(env, "jiang_wen")
    login_cookie = [v for k, v in client.cookies.items() if k == "gb_session"]
    assert login_cookie
    out = client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)}, follow_redirects=False)
    cleared = out.headers["set-cookie"]
    assert "gb_session=" in cleared and ("Max-Age=0" in cleared or "expires=" in cleared.lower())
    # the anonymous token and the session token are never the same value
    assert anon.cookies.get("gb_csrf") != csrf_of(fresh(env, "jiang_wen").get("/").text)


# -- CSRF on every state-changing route --------------------------------------------------------
def post_routes(env: Env) -> list[str]:
    """Every POST route of the app (outside the bearer-token API and the signed inbound webhooks,
    which read no session: tests/api/test_inbound_hooks.py), with its path filled in."""
    values = {"base": "complaints", "table": "complaints", "rid": env.records["C1"], "field": "title",
              "form": "report", "view": "open", "id": "1", "fmt": "csv", "automation": "assigned", "key": "jiang_wen",
              "record": env.records["C1"], "control": "HIS0001"}
    paths = []
    for route in env.app.routes:
        if isinstance(route, Route) and "POST" in (route.methods or set()) and not route.path.startswith("/hooks/"):
            filled = {**values, "field": "attachments"} if "/attach/" in route.path else values
            paths.append(re.sub(r"{(\w+)(:\w+)?}", lambda m, f=filled: f[m.group(1)], route.path))
    return paths


def log_rows(env: Env) -> int:
    return int(env.ws.storage.conn.execute("SELECT count(*) FROM _gb_access_log").fetchone()[0])


def test_every_post_route_refuses_missing_or_wrong_csrf_and_stores_nothing(env: Env) -> None:
    paths = post_routes(env)
    assert len(paths) >= 14 and "/login" in paths and "/f/complaints/report" in paths
    admin = fresh(env, "admin")
    other_token = csrf_of(fresh(env, "luo_xin").get("/").text)  # a real token of another session
    conn = env.ws.storage.writer  # total_changes counts what this connection wrote
    form = {"title": "CSRFPROBE", "value": "CSRFPROBE", "body": "CSRFPROBE", "description": "x", "locale": "en",
            "username": "admin", "password": "demo1234"}
    for path in paths:
        client = fresh(env) if path == "/login" else admin
        for extra, headers in (({}, {}), ({"csrf_token": "forged"}, {}), ({"csrf_token": other_token}, {}),
                               ({}, {"X-CSRF-Token": other_token})):
            before, logged = conn.total_changes, log_rows(env)
            response = client.post(path, data={**form, **extra}, headers=headers, follow_redirects=False)
            assert response.status_code == 403, (path, extra, headers, response.status_code)
            # the only write allowed is the access-log line of a sensitive record read before the check
            assert conn.total_changes - before == log_rows(env) - logged, f"{path} wrote without a CSRF token"
        assert "CSRFPROBE" not in response.text
    assert conn.execute("SELECT count(*) FROM _gb_comments WHERE body = 'CSRFPROBE'").fetchone()[0] == 0


def test_api_ignores_session_cookies(env: Env) -> None:
    client = fresh(env, "admin")
    before = env.ws.storage.writer.total_changes
    response = client.post("/v0/complaints/complaints", json={"fields": {"title": "COOKIEAPI"}})
    assert response.status_code == 401 and env.ws.storage.writer.total_changes == before


# -- lockout -----------------------------------------------------------------------------------
def test_lockout_holds_for_the_email_alias(env: Env) -> None:
    client = fresh(env)
    for _ in range(5):
        assert sign_in(client, "cao_yu", "wrong-password").status_code in (401, 429)
    assert sign_in(client, "cao_yu").status_code == 429
    assert sign_in(fresh(env), "cao.yu@example.org").status_code == 429


# -- tokens and disabled people, through the CLI -----------------------------------------------
def cli_token(env: Env, capsys: pytest.CaptureFixture[str], person: str, *extra: str) -> tuple[str, int]:
    code, text = run(capsys, "token", *env.where, "create", person, *extra)
    assert code == 0, text
    secret = text.strip().splitlines()[-1].strip()
    assert secret.startswith("gbt_")
    rows = env.ws.storage.conn.execute("SELECT id FROM _gb_tokens WHERE person = ? ORDER BY id DESC", (person,)).fetchall()
    return secret, int(rows[0][0])


def whoami(env: Env, secret: str) -> int:
    return fresh(env, None, Authorization=f"Bearer {secret}").get("/v0/meta/whoami").status_code


def test_token_revocation_and_expiry_through_the_cli(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    secret, ident = cli_token(env, capsys, "ma_lili", "--name", "laptop")
    assert whoami(env, secret) == 200
    code, text = run(capsys, "token", *env.where, "revoke", "ma_lili", "--id", str(ident))
    assert code == 0 and "revoked 1" in text
    assert whoami(env, secret) == 401
    short, _ = cli_token(env, capsys, "ma_lili", "--name", "short", "--expires", "1")
    assert whoami(env, short) == 200
    real = env.ws.clock
    env.ws.clock = lambda: real() + timedelta(days=2)
    try:
        assert whoami(env, short) == 401
    finally:
        env.ws.clock = real
    # a token never shows up in `token list`, only its id and name
    code, text = run(capsys, "token", *env.where, "list", "ma_lili")
    assert code == 0 and short not in text and secret not in text


def test_revoking_one_token_by_id_leaves_the_others(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    first, first_id = cli_token(env, capsys, "peng_lan")
    second, _ = cli_token(env, capsys, "peng_lan")
    run(capsys, "token", *env.where, "revoke", "peng_lan", "--id", str(first_id))
    assert whoami(env, first) == 401
    assert whoami(env, second) == 200


def test_disabling_a_person_stops_sessions_and_tokens_at_once(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    client = fresh(env, "tang_jing")
    secret, _ = cli_token(env, capsys, "tang_jing")
    assert client.get("/b/patients/t/visits").status_code == 200 and whoami(env, secret) == 200
    code, text = run(capsys, "people", *env.where, "disable", "tang_jing")
    assert code == 0, text
    assert client.get("/b/patients/t/visits", follow_redirects=False).status_code == 303
    assert whoami(env, secret) == 401
    assert sign_in(fresh(env), "tang_jing").status_code == 401
    assert env.ws.storage.conn.execute("SELECT count(*) FROM _gb_sessions WHERE person = 'tang_jing'").fetchone()[0] == 0


def written(env: Env) -> tuple[int, ...]:
    """Counts that any write of records, comments or notifications changes (reads touch none)."""
    conn = env.ws.storage.conn
    return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
                 for t in ("_gb_audit", "_gb_comments", "_gb_outbox", "_gb_notifications"))


# -- IDOR --------------------------------------------------------------------------------------
def test_records_cannot_be_reached_through_another_table_or_base(env: Env) -> None:
    r = env.records
    qc = fresh(env, "chen_jing")  # qc + dept_head: reads complaints, patients and directives
    token = csrf_of(qc.get("/").text)
    conn = env.ws.storage.conn
    api = fresh(env, None, Authorization=f"Bearer {env.tokens['qc']}")
    for base, table, rid in (("complaints", "complaints", r["V1"]), ("complaints", "complaints", r["F1"]),
                             ("patients", "patients", r["V1"]), ("complaints", "followups", r["C2"]),
                             ("directives", "documents", r["T1"]), ("complaints", "complaints", r["T2"])):
        before = written(env)
        page = qc.get(f"/b/{base}/t/{table}/r/{rid}")
        assert page.status_code == 404 and "MKR" not in page.text, (table, rid)
        cell = qc.post(f"/b/{base}/t/{table}/r/{rid}/cell/title", data={"value": "IDOR", "csrf_token": token})
        assert cell.status_code == 404 and "MKR" not in cell.text
        comment = qc.post(f"/b/{base}/t/{table}/r/{rid}/comments", data={"body": "IDOR", "csrf_token": token})
        assert comment.status_code == 404
        for method in ("get", "delete"):
            got = getattr(api, method)(f"/v0/{base}/{table}/{rid}")
            assert got.status_code in (403, 404) and "MKR" not in got.text, (method, table, rid)
        assert api.patch(f"/v0/{base}/{table}/{rid}", json={"fields": {"title": "IDOR"}}).status_code in (403, 404, 422)
        assert written(env) == before, f"something was written through {table}/{rid}"
    assert conn.execute("SELECT count(*) FROM _gb_comments WHERE body = 'IDOR'").fetchone()[0] == 0


def test_attachments_follow_the_record(env: Env) -> None:
    admin = fresh(env, "admin")
    c2 = env.records["C2"]
    up = admin.post(f"/b/complaints/t/complaints/r/{c2}/attach/attachments",
                    data={"csrf_token": csrf_of(admin.get("/").text)},
                    files={"file": ("evidence.pdf", b"%PDF-1.4 MKRATTACH01", "application/pdf")}, follow_redirects=False)
    assert up.status_code == 303
    att = env.ws.base("complaints").table("complaints").get(c2, actor="system")["fields"]["attachments"][0]["id"]
    assert env.web("qc").get(f"/att/{att}").status_code == 200
    for role in ("staff", "nurse", "clerk"):  # may not read C2
        response = env.web(role).get(f"/att/{att}")
        assert response.status_code == 404 and "MKRATTACH01" not in response.text
    assert fresh(env).get(f"/att/{att}", follow_redirects=False).status_code == 303


# -- the access log ----------------------------------------------------------------------------
def test_sensitive_reads_are_logged_and_audit_filters_them(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    r = env.records
    conn = env.ws.storage.conn
    client = fresh(env, "deng_hui")  # a doctor not used elsewhere
    start = env.ws.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.get(f"/b/patients/t/visits/r/{r['V1']}").status_code == 200
    assert client.get("/b/patients/t/patients", params={"q": "MKRPNAME01"}).status_code == 200
    assert client.get("/b/directives/t/documents").status_code == 200  # not sensitive
    api = fresh(env, None, Authorization=f"Bearer {env.tokens['doctor']}")
    assert api.get(f"/v0/patients/visits/{r['V2']}").status_code == 200
    rows = conn.execute("SELECT actor, base, tbl, records, action FROM _gb_access_log WHERE actor = 'deng_hui'").fetchall()
    assert any(t == "visits" and r["V1"] in json.loads(ids) for _, _, t, ids, _ in rows), rows
    assert any(t == "patients" and r["P1"] in json.loads(ids) for _, _, t, ids, _ in rows), rows
    assert not any(t == "documents" for _, _, t, _, _ in rows)
    assert conn.execute("SELECT count(*) FROM _gb_access_log WHERE actor = 'liu_yang' AND instr(records, ?) > 0",
                        (r["V2"],)).fetchone()[0] >= 1

    def audit(*extra: str) -> list[dict[str, Any]]:
        code, text = run(capsys, "audit", *env.where, "--log", "reads", "--format", "json", *extra)
        assert code == 0, text
        return list(json.loads(text))

    mine = audit("--person", "deng_hui")
    assert mine and all(x["actor"] == "deng_hui" and x["log"] == "read" for x in mine)
    visits = audit("--person", "deng_hui", "--table", "patients.visits", "--record", r["V1"])
    assert visits and all(x["table"] == "patients.visits" and r["V1"] in x["record"] for x in visits)
    assert audit("--person", "deng_hui", "--table", "directives.documents") == []
    assert audit("--person", "deng_hui", "--since", start)
    assert audit("--person", "deng_hui", "--until", "2000-01-01T00:00:00Z") == []
    assert audit("--person", "deng_hui", "--since", "2999-01-01T00:00:00Z") == []
