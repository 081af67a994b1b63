"""The admins' intake page: failed mails and refused HL7 messages, with why, and a Retry button.

What an admin notices: both lists with the reason, hostile text shown as text; Retry without
the form's token is refused; a retry after the cause was fixed takes the item and it leaves
the list; one that fails again says why and stays. Others may not see the page.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from engine import Workspace, hl7intake, hooks, mailintake
from gridbase.app import create_app
from tests_support import csrf_of, sign_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PASSWORD = "intake-page-7Qm2"

WORKSPACE = f"""\
workspace: intake
name: Intake
timezone: Asia/Shanghai
roles:
  admin: {{name: Admin, admin: true}}
  staff: {{name: Staff}}
people:
  admin: {{name: Admin, roles: [admin], password: "{PASSWORD}"}}
  li: {{name: 李四, roles: [staff], password: "{PASSWORD}"}}
"""

BASE = """\
base: his
name: HIS
tables:
  patients:
    name: 患者
    primary: name
    fields:
      name: {type: text, name: 姓名, required: true}
      his_id: {type: text, name: HIS 号}
hl7:
  his_patients:
    messages: [ADT^A04]
    table: patients
    actor: admin
    key: his_id
    fields: {his_id: PID-3.1, name: PID-5.1}
hooks:
  desk:
    table: patients
    actor: admin
    secret_env: GB_TEST_INTAKE_HOOK_SECRET
    delivery_id: $.id
    key: his_id
    fields: {his_id: $.id, name: $.name}
mailboxes:
  inbox:
    table: patients
    actor: admin
    host: 127.0.0.1
    username: x
    password_env: GB_TEST_NO_SUCH_PASSWORD
    fields: {name: subject}
"""

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def ws(make_workspace: Any) -> Workspace:
    return make_workspace({"his": BASE}, WORKSPACE)


@pytest.fixture
def client_for(ws: Workspace) -> Iterator[Any]:
    app = create_app(ws, automations=False)
    clients: list[TestClient] = []

    def make(person: str) -> TestClient:
        client = TestClient(app, base_url="http://testserver")
        client.__enter__()
        clients.append(client)
        assert sign_in(client, person, PASSWORD).status_code == 303
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def hl7(control: str, pid: str, name: str) -> str:
    return f"MSH|^~\\&|HIS|D|G|D|20261207093000||ADT^A04^ADT_A01|{control}|P|2.5\rPID|1||{pid}^^^HIS||{name}\r"


def test_admins_see_why_and_retry_once_the_cause_is_fixed(ws: Workspace, client_for: Any) -> None:
    box = mailintake.mailboxes_of(ws.config)["inbox"]
    ident = mailintake.fail(ws, box, f"<{HOSTILE}@example.org>", b"Subject: \r\n\r\nno subject", HOSTILE)
    assert hl7intake.receive(ws, hl7("C1", "P1", "")).code == "AE"  # no name: the table requires one

    admin = client_for("admin")
    page = admin.get("/admin/intake")
    assert page.status_code == 200
    title = re.search(r"<title>(.*?)</title>", page.text, re.S)
    assert title and "<" not in title.group(1)  # the page's title is words, not a table
    assert HOSTILE not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert f'data-mail="{ident}"' in page.text and 'data-hl7="C1"' in page.text
    assert "姓名" in page.text  # the refused message's reason names the field

    assert admin.post(f"/admin/intake/mail/{ident}/retry").status_code == 403  # no form token
    token = csrf_of(page.text)
    again = admin.post(f"/admin/intake/mail/{ident}/retry", data={"csrf_token": token})
    assert again.status_code == 422 and "alert-error" in again.text  # still no subject: stays, says why
    assert [m["id"] for m in mailintake.failed(ws)] == [ident]

    with ws.storage.transaction() as conn:  # the HIS fixed the patient's name: the kept text is resent
        conn.execute("UPDATE _gb_hl7_messages SET text = ? WHERE control_id = ?", (hl7("C1", "P1", "王芳"), "C1"))
    done = admin.post("/admin/intake/hl7/C1/retry", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/admin/intake?done=hl7"
    assert hl7intake.failed(ws) == []
    assert 'data-hl7="C1"' not in admin.get("/admin/intake").text


def test_a_refused_webhook_delivery_is_listed_and_retried_after_the_data_is_fixed(
        ws: Workspace, client_for: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GB_TEST_INTAKE_HOOK_SECRET", "hook-secret")
    table = ws.base("his").table("patients")
    first = table.create({"name": "甲", "his_id": "P9"}, actor="admin")["id"]
    second = table.create({"name": "乙", "his_id": "P9"}, actor="admin")["id"]
    admin = client_for("admin")
    body = json.dumps({"id": "P9", "name": "王芳"}).encode()
    signature = "sha256=" + hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
    answer = admin.post("/hooks/desk", content=body, headers={"X-Gridbase-Signature": signature,
                                                              "Content-Type": "application/json"})
    assert answer.status_code == 422  # two records have his_id P9: the key must name one
    page = admin.get("/admin/intake")
    assert 'data-delivery="' in page.text and "P9" in page.text
    table.delete(second, actor="admin")  # the admin removes the duplicate
    ident = hooks.failed(ws)[0]["id"]
    done = admin.post(f"/admin/intake/hooks/{ident}/retry", data={"csrf_token": csrf_of(page.text)},
                      follow_redirects=False)
    assert done.status_code == 303
    assert table.get(first, actor="admin")["fields"]["name"] == "王芳"
    assert 'data-delivery="' not in admin.get("/admin/intake").text


def test_only_admins_reach_the_intake_page(ws: Workspace, client_for: Any) -> None:
    li = client_for("li")
    assert li.get("/admin/intake").status_code == 403
    token = csrf_of(li.get("/").text)
    assert li.post("/admin/intake/hl7/C1/retry", data={"csrf_token": token}).status_code == 403
    assert li.post("/admin/intake/mail/1/retry", data={"csrf_token": token}).status_code == 403
    assert li.post("/admin/intake/hooks/1/retry", data={"csrf_token": token}).status_code == 403


def test_the_page_names_the_variable_a_hook_without_its_secret_needs(ws: Workspace, client_for: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GB_TEST_INTAKE_HOOK_SECRET", raising=False)
    admin = client_for("admin")
    page = admin.get("/admin/intake")
    assert 'data-hook="desk"' in page.text and "GB_TEST_INTAKE_HOOK_SECRET" in page.text
    assert "Hooks not configured" in page.text or "未配置的接收钩子" in page.text
    refused = admin.post("/hooks/desk", content=b"{}", headers={"Content-Type": "application/json"})
    assert refused.status_code == 503 and "GB_TEST_INTAKE_HOOK_SECRET" not in refused.text
    monkeypatch.setenv("GB_TEST_INTAKE_HOOK_SECRET", "set-now")
    assert 'data-hook="desk"' not in admin.get("/admin/intake").text
