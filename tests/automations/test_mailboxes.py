"""Mailboxes (issue 21 item 1): mails in a real Dovecot IMAP server become records, replies become
comments, each mail is taken once (also after a crash and a restart), hostile mails are safe, and a
mail that cannot be taken waits in the failed list until an admin retries it.

Dovecot runs on a loopback port with a config of its own (tests/automations/mail_server.py); mails
are delivered to it by IMAP APPEND. Skipped, saying why, where Dovecot is not installed
(`make servers` installs it: the dovecot-imapd package).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from mail_server import DOVECOT, PASSWORD, USER, Dovecot

from automations import mailpoll, worker
from engine import Workspace, comments, mailintake
from engine.errors import ConfigError
from gridbase.cli import main

pytestmark = pytest.mark.skipif(DOVECOT is None, reason="Dovecot is not installed (apt-get install dovecot-imapd)")

WORKSPACE = """\
workspace: mail
name: Mail
timezone: Asia/Shanghai
roles:
  admin: {name: Admin, admin: true}
  intake: {name: Intake}
  reader: {name: Reader}
people:
  admin: {name: Admin, roles: [admin]}
  mail_bot: {name: 邮件机器人, roles: [intake]}
  zhang: {name: 张医生, roles: [intake], email: Zhang@Example.org}
"""

BASE = """\
base: desk
name: 投诉
tables:
  complaints:
    name: 投诉
    primary: title
    fields:
      title: {type: text, name: 标题, required: REQUIRED, max_length: 500}
      details: {type: long_text, name: 详情}
      reporter: {type: person, name: 投诉人}
      address: {type: text, name: 邮箱}
      sender_name: {type: text, name: 姓名}
      received_at: {type: datetime, name: 收到时间}
      files: {type: attachment, name: 附件}
      mail_id: {type: text, name: 邮件编号}
      channel: {type: single_select, name: 渠道, options: [电话, 邮件, 现场]}
mailboxes:
  complaints_mail:
    name: 投诉邮箱
    table: complaints
    actor: mail_bot
    host: 127.0.0.1
    port: PORT
    security: none
    username: complaints
    password_env: GB_TEST_MAIL_PASSWORD
    trusted_authserv_id: mx.example.org
    fields:
      title: subject
      details: body
      reporter: sender
      address: sender
      sender_name: sender_name
      received_at: received
      files: attachments
      mail_id: message_id
      channel: {value: 邮件}
roles:
  intake:
    complaints: {access: edit, create: true}
  reader:
    complaints: {access: read}
"""


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def server(dovecot: Dovecot) -> Dovecot:
    """The module's Dovecot with an empty INBOX."""
    with dovecot.client() as conn:
        conn.select("INBOX")
        typ, data = conn.search(None, "ALL")
        if data and data[0]:
            conn.store(data[0].decode().replace(" ", ","), "+FLAGS", "\\Deleted")
            conn.expunge()
    return dovecot


@pytest.fixture
def opened(make_workspace: Callable[..., Workspace], server: Dovecot,
           monkeypatch: pytest.MonkeyPatch) -> Callable[..., Workspace]:
    monkeypatch.setenv("GB_TEST_MAIL_PASSWORD", PASSWORD)

    def make(required: bool = True) -> Workspace:
        base = BASE.replace("PORT", str(server.port)).replace("REQUIRED", "true" if required else "false")
        ws = make_workspace({"desk": base}, WORKSPACE)
        ws.sync_people()
        return ws
    return make


def mail(subject: str, body: str = "候诊时间过长，无人解释。", *, sender: str = "Zhang@example.org",
         name: str = "张三", ident: str | None = None, reply_to: str | None = None, html: str | None = None,
         files: dict[str, bytes] | None = None, vouched: str | None = "dmarc") -> bytes:
    """A mail as the hospital's receiving server (mx.example.org) hands it on: with its
    Authentication-Results for the From: domain (`vouched`: dmarc or spf pass; None: none)."""
    msg = EmailMessage()
    domain = sender.rpartition("@")[2].lower()
    if vouched == "dmarc":
        msg["Authentication-Results"] = f"mx.example.org; dkim=pass header.d={domain}; dmarc=pass header.from={domain}"
    elif vouched == "spf":
        msg["Authentication-Results"] = f"mx.example.org; spf=pass smtp.mailfrom={sender}"
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = "complaints@example.org"
    msg["Subject"] = subject
    msg["Date"] = "Mon, 07 Dec 2026 09:30:00 +0800"
    if ident is not None:
        msg["Message-ID"] = ident
    if reply_to is not None:
        msg["In-Reply-To"] = reply_to
        msg["References"] = reply_to
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for fname, data in (files or {}).items():
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=fname)
    return bytes(msg)


def box(ws: Workspace) -> mailintake.MailboxDef:
    return mailintake.mailboxes_of(ws.config)["complaints_mail"]


def records(ws: Workspace) -> list[dict]:
    table = ws.base("desk").table("complaints")
    return [{"id": r["id"], **r["fields"]}
            for r in table.query(actor="admin", limit=100, with_total=False).records]


@pytest.mark.stores
def test_new_mails_become_records_with_their_parts_mapped(opened: Callable[..., Workspace], server: Dovecot) -> None:
    ws = opened()
    server.append(mail("挂号排队太久", ident="<m1@example.org>", files={"收据.pdf": b"%PDF-1.4 receipt"}))
    server.append(mail("态度问题", "前台态度差", sender="walkin@example.com", name="李四", ident="<m2@example.org>"))
    done = mailpoll.fetch(ws, box(ws))
    assert (len(done.records), len(done.comments), done.failed) == (2, 0, [])
    by_title = {r["title"]: r for r in records(ws)}
    first, second = by_title["挂号排队太久"], by_title["态度问题"]
    assert first["reporter"] == "zhang"                  # the sender's e-mail is a person's (case aside)
    assert first["address"] == "zhang@example.org"
    assert first["sender_name"] == "张三"
    assert first["details"] == "候诊时间过长，无人解释。"
    assert first["channel"] == "邮件"
    assert first["mail_id"] == "<m1@example.org>"
    assert first["received_at"].startswith("2026-12-07")
    files = first["files"] if isinstance(first["files"], list) else json.loads(first["files"])
    assert [f["name"] for f in files] == ["收据.pdf"]
    assert Path(ws.data_dir, "attachments").exists()
    assert second.get("reporter") in (None, "", [])          # nobody has that address: kept as text only
    assert second["address"] == "walkin@example.com"
    # written as the mailbox's person: the audit log names them
    assert [e.actor for e in ws.audit.for_record("desk", "complaints", first["id"])] == ["mail_bot"]


def test_a_forged_from_never_makes_a_staff_member_the_reporter(opened: Callable[..., Workspace],
                                                               server: Dovecot) -> None:
    ws = opened()
    forged = mail("冒名一", ident="<f1@example.org>", vouched=None)  # no verdict of the receiving server
    # a verdict the sender wrote in, naming another server, or the right server failing DMARC
    other = mail("冒名二", ident="<f2@example.org>", vouched=None).replace(
        b"From:", b"Authentication-Results: mx.attacker.example; dmarc=pass header.from=example.org\r\nFrom:", 1)
    failed = mail("冒名三", ident="<f3@example.org>", vouched=None).replace(
        b"From:", b"Authentication-Results: mx.example.org; dmarc=fail header.from=example.org\r\nFrom:", 1)
    # a pass for another domain (the attacker's own) does not vouch for example.org
    elsewhere = mail("冒名四", ident="<f4@example.org>", vouched=None).replace(
        b"From:", b"Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=x@attacker.example\r\nFrom:", 1)
    vouched_spf = mail("真的", ident="<f5@example.org>", vouched="spf")
    for raw in (forged, other, failed, elsewhere, vouched_spf):
        server.append(raw)
    done = mailpoll.fetch(ws, box(ws))
    assert (len(done.records), done.failed) == (5, [])
    by_title = {r["title"]: r for r in records(ws)}
    for title in ("冒名一", "冒名二", "冒名三", "冒名四"):
        assert by_title[title].get("reporter") in (None, "", []), title  # not a person...
        assert by_title[title]["address"] == "zhang@example.org"        # ...but the sender kept as text
    assert by_title["真的"]["reporter"] == "zhang"


@pytest.mark.stores
def test_a_reply_in_the_thread_becomes_a_comment(opened: Callable[..., Workspace], server: Dovecot) -> None:
    ws = opened()
    server.append(mail("牙套松动", ident="<t1@example.org>"))
    mailpoll.fetch(ws, box(ws))
    server.append(mail("Re: 牙套松动", "今天又松了，请尽快回电。", ident="<t2@example.org>", reply_to="<t1@example.org>"))
    done = mailpoll.fetch(ws, box(ws))
    assert (len(done.records), len(done.comments)) == (0, 1)
    [record] = records(ws)
    table = ws.base("desk").table("complaints")
    [comment] = comments.for_record(table, record["id"], actor="admin")
    assert comment.author == "mail_bot"
    assert "今天又松了" in comment.body
    # a reply to the reply joins the same record too (References names the thread)
    server.append(mail("Re: Re: 牙套松动", "谢谢", ident="<t3@example.org>", reply_to="<t2@example.org>"))
    mailpoll.fetch(ws, box(ws))
    assert len(records(ws)) == 1
    assert len(comments.for_record(table, record["id"], actor="admin")) == 2


@pytest.mark.stores
def test_each_mail_is_taken_once_also_after_a_crash_and_a_restart(
        opened: Callable[..., Workspace], server: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = opened()
    for i in range(4):
        server.append(mail(f"投诉 {i}", ident=f"<c{i}@example.org>"))
    server.append(mail("没有编号的邮件"))               # no Message-ID: named by its bytes
    real_take = mailintake.take
    calls = []

    def crashing(ws_: Workspace, box_: mailintake.MailboxDef, raw: bytes) -> mailintake.Taken:
        if len(calls) == 2:
            raise KeyboardInterrupt("the process dies here")
        calls.append(1)
        return real_take(ws_, box_, raw)

    monkeypatch.setattr(mailintake, "take", crashing)
    with pytest.raises(KeyboardInterrupt):
        mailpoll.fetch(ws, box(ws))
    monkeypatch.setattr(mailintake, "take", real_take)
    assert len(records(ws)) == 2
    ws.close()
    again = opened()  # the same folder and database, opened anew: a restart
    done = mailpoll.fetch(again, box(again))
    assert (len(done.records), done.skipped) == (3, 2)
    done = mailpoll.fetch(again, box(again))
    assert (len(done.records), done.skipped) == (0, 5)
    assert sorted(r["title"] for r in records(again)) == sorted([f"投诉 {i}" for i in range(4)] + ["没有编号的邮件"])


@pytest.mark.stores
def test_hostile_mails_are_safe(opened: Callable[..., Workspace], server: Dovecot,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    ws = opened()
    monkeypatch.setattr(mailintake, "MAX_MAIL_BYTES", 200_000)
    html = ("<html><head><style>p{color:red}</style><script>alert('x')</script></head><body>"
            "<p>您好，<b>治疗费</b>有误</p><img src=x onerror=alert(1)><script>document.cookie</script></body></html>")
    server.append(mail("HTML 邮件", "", ident="<h1@example.org>", html=html).replace(
        b"Content-Type: text/plain", b"Content-Type: text/x-ignored"))
    server.append(mail("很大的邮件", "大" * 150_000, ident="<big@example.org>"))
    server.append(b"From: x@example.org\r\nSubject: broken\r\nMessage-ID: <broken@example.org>\r\n"
                  b"Content-Type: multipart/mixed; boundary=\"nope\"\r\n\r\n--nope\r\nContent-Type: text/plain; "
                  b"charset=no-such-charset\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64\xff\xfe\r\n")
    server.append(b"Subject: =?bogus?Q?broken_encoded_word?= \x00\x07bell\r\nFrom: \"unterminated <x@\r\n"
                  b"Message-ID: <weird@example.org>\r\n\r\nbody\r\n")
    done = mailpoll.fetch(ws, box(ws))
    by_id = {r["mail_id"]: r for r in records(ws)}
    shown = by_id["<h1@example.org>"]["details"]
    assert "治疗费" in shown and "<" not in shown and "alert" not in shown and "cookie" not in shown
    assert "broken" in by_id["<broken@example.org>"]["title"]
    assert "\x00" not in by_id["<weird@example.org>"]["title"]
    failed = mailintake.failed(ws)
    assert [(f["message_id"], f["kept"]) for f in failed] == [("<big@example.org>", False)]
    assert "larger than" in failed[0]["error"]
    assert done.failed == ["<big@example.org>"]


def test_a_mail_that_cannot_be_taken_waits_in_the_failed_list_until_retried(
        opened: Callable[..., Workspace], server: Dovecot, capsys: pytest.CaptureFixture[str]) -> None:
    ws = opened(required=True)
    server.append(mail("", "没有主题", ident="<nosubject@example.org>"))
    done = mailpoll.fetch(ws, box(ws))
    assert done.failed == ["<nosubject@example.org>"] and records(ws) == []
    [dead] = mailintake.failed(ws)
    assert dead["kept"] and "标题" in dead["error"], dead["error"]
    # not read again by the next pass
    assert mailpoll.fetch(ws, box(ws)).skipped == 1 and len(mailintake.failed(ws)) == 1
    # retrying before the fix fails again, saying why
    with pytest.raises(Exception, match="标题"):
        mailintake.retry(ws, dead["id"])
    assert mailintake.failed(ws)[0]["attempts"] == 2
    # the admin makes the title optional; the CLI lists and retries it
    ws.close()
    fixed = opened(required=False)
    db = str(fixed.storage.database)
    assert main(["mail", fixed.config.root, "--db", db, "list-failed"]) == 0
    assert "<nosubject@example.org>" in capsys.readouterr().out
    assert main(["mail", fixed.config.root, "--db", db, "retry", str(dead["id"])]) == 0
    assert "taken: record" in capsys.readouterr().out
    assert mailintake.failed(fixed) == []
    [record] = records(fixed)
    assert record["details"] == "没有主题"
    assert main(["mail", fixed.config.root, "--db", db, "fetch"]) == 0
    assert "0 record(s), 0 comment(s), 0 failed, 1 seen before" in capsys.readouterr().out
    assert main(["mail", fixed.config.root, "--db", db, "retry", "999"]) == 1
    assert "no failed mail 999" in capsys.readouterr().err


def test_a_wrong_password_or_a_closed_port_is_a_clear_error(opened: Callable[..., Workspace],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    ws = opened()
    monkeypatch.setenv("GB_TEST_MAIL_PASSWORD", "wrong")
    with pytest.raises(mailintake.MailError, match="cannot read mailbox complaints_mail"):
        mailpoll.fetch(ws, box(ws))
    monkeypatch.delenv("GB_TEST_MAIL_PASSWORD")
    with pytest.raises(mailintake.MailError, match="GB_TEST_MAIL_PASSWORD"):
        mailpoll.fetch(ws, box(ws))


def test_the_server_polls_its_mailboxes(opened: Callable[..., Workspace], server: Dovecot) -> None:
    ws = opened()
    service = worker.start(ws, poll=0.2)  # what `gridbase serve` starts: the worker, the scheduler, the poller
    try:
        assert service.mail is not None
        server.append(mail("服务器自动读取", ident="<poll@example.org>"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not records(ws):
            time.sleep(0.2)
            service.mail.wake()
    finally:
        worker.stop(service)
    assert [r["title"] for r in records(ws)] == ["服务器自动读取"]


def test_a_mail_delivered_while_idling_is_taken_without_waiting_for_the_poll(
        opened: Callable[..., Workspace], server: Dovecot) -> None:
    ws = opened()
    assert box(ws).poll_seconds == 60  # a poll would come a minute later
    poller = mailpoll.Poller(ws)
    poller.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "complaints_mail" not in poller.idling:
            time.sleep(0.05)
        assert "complaints_mail" in poller.idling  # Dovecot offers IDLE
        time.sleep(0.3)  # the first pass (at start) is over before the mail comes
        server.append(mail("IDLE 推送", ident="<idle@example.org>"))
        started = time.monotonic()
        while time.monotonic() < started + 20 and not records(ws):
            time.sleep(0.1)
        assert [r["title"] for r in records(ws)] == ["IDLE 推送"]  # no wake(), no poll: the server's EXISTS
        assert time.monotonic() - started < 30
    finally:
        poller.stop()


def test_a_mailbox_whose_password_is_not_set_is_off(opened: Callable[..., Workspace],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ws = opened()
    monkeypatch.delenv("GB_TEST_MAIL_PASSWORD")
    assert mailpoll.enabled(ws) == {} and mailpoll.start(ws) is None  # the server reads nothing, quietly


def test_idle_ends_cleanly_when_asked_and_a_server_without_idle_is_polled(server: Dovecot) -> None:
    conn = server.client()
    try:
        conn.select("INBOX", readonly=True)
        assert mailpoll.supports_idle(conn)
        stop = threading.Event()
        stop.set()
        assert mailpoll.idle(conn, stop) is False  # DONE sent, the tagged OK read
        assert conn.noop()[0] == "OK"  # the connection is still usable
    finally:
        conn.logout()


@pytest.mark.stores
def test_the_mailbox_writes_only_what_its_person_may(opened: Callable[..., Workspace], server: Dovecot,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ws = opened()
    monkeypatch.setattr(ws.config.bases["desk"], "mailboxes", {
        "complaints_mail": dataclasses.replace(box(ws), actor="admin_less")})
    ws.config.people["admin_less"] = dataclasses.replace(ws.config.people["zhang"], key="admin_less", roles=["reader"], email=None)
    ws.sync_people()
    server.append(mail("无权限", ident="<denied@example.org>"))
    done = mailpoll.fetch(ws, box(ws))
    assert done.failed == ["<denied@example.org>"] and records(ws) == []
    [dead] = mailintake.failed(ws)
    assert "may not add records" in dead["error"], dead["error"]


def test_validate_names_what_is_wrong_with_a_mailbox(make_workspace: Callable[..., Workspace]) -> None:
    bad = (BASE.replace("PORT", "143").replace("REQUIRED", "true")
           .replace("      title: subject\n", "      title: subjct\n")
           .replace("      details: body\n", "      details: attachments\n")
           .replace("actor: mail_bot", "actor: ghost"))
    with pytest.raises(ConfigError) as caught:
        make_workspace({"desk": bad}, WORKSPACE)
    text = str(caught.value)
    assert "unknown part of a mail 'subjct'" in text and "did you mean 'subject'" in text
    assert "unknown person 'ghost'" in text
    assert "field 'details' cannot take attachments" in text
    assert USER  # the server's user is the mailbox's username
