"""The e-mail channel against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import logging
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from channel_servers import MailSink, SmtpServer

from plugins.channels import DeliveryError, EmailChannel, OutgoingMessage
from tests_support import free_port

MESSAGE = OutgoingMessage(
    idempotency_key="evt-3:wang:mail", title="新投诉待处理：候诊时间过长",
    body="患者张先生反映候诊超过一小时。\n请在三日内处理。",
    link="https://gridbase.example.org/b/complaints/rec7", recipient_name="王芳",
    recipient_email="wang@example.org")


def channel(server: SmtpServer, **options: object) -> EmailChannel:
    return EmailChannel("mail", {"host": server.host, "port": server.port,
                                 "sender": "noreply@example.org", "timeout": 5, **options})


def received(server: SmtpServer) -> EmailMessage:
    [envelope] = server.sink.envelopes
    mail = message_from_bytes(envelope.original_content or b"", policy=policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


def test_sends_a_chinese_email(smtp_server: SmtpServer) -> None:
    channel(smtp_server, sender_name="Gridbase 通知").send(MESSAGE)
    [envelope] = smtp_server.sink.envelopes
    assert envelope.mail_from == "noreply@example.org"
    assert envelope.rcpt_tos == ["wang@example.org"]
    mail = received(smtp_server)
    assert mail["Subject"] == "新投诉待处理：候诊时间过长"
    assert mail["To"].addresses[0].display_name == "王芳"
    assert mail["From"].addresses[0].display_name == "Gridbase 通知"
    assert mail["X-Gridbase-Idempotency-Key"] == "evt-3:wang:mail"
    assert mail["Message-ID"].endswith("@example.org>")
    body = mail.get_content()
    assert "患者张先生反映候诊超过一小时。" in body and MESSAGE.link in body


def test_message_id_is_stable_per_idempotency_key(smtp_server: SmtpServer) -> None:
    mail = channel(smtp_server)
    assert mail.compose(MESSAGE)["Message-ID"] == mail.compose(MESSAGE)["Message-ID"]
    other = OutgoingMessage(idempotency_key="evt-4", title="t", body="b",
                            recipient_email="a@example.org")
    assert mail.compose(other)["Message-ID"] != mail.compose(MESSAGE)["Message-ID"]


def test_login_with_password_from_environment(smtp_server: SmtpServer,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", MailSink.PASSWORD)
    channel(smtp_server, username=MailSink.USER, password_env="SMTP_PASSWORD").send(MESSAGE)
    assert len(smtp_server.sink.envelopes) == 1


def test_wrong_password_is_not_retryable_and_not_shown(
        smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-pass-31337"
    with pytest.raises(DeliveryError) as info:
        channel(smtp_server, username=MailSink.USER, password=wrong).send(MESSAGE)
    assert not info.value.retryable
    assert wrong not in str(info.value) and wrong not in caplog.text
    assert smtp_server.sink.envelopes == []


def test_recipient_without_address_is_not_retryable(smtp_server: SmtpServer) -> None:
    nobody = OutgoingMessage(idempotency_key="k", title="t", body="b", recipient_name="赵六")
    with pytest.raises(DeliveryError) as info:
        channel(smtp_server).send(nobody)
    assert not info.value.retryable
    assert "赵六" in info.value.reason


def test_header_injection_is_refused(smtp_server: SmtpServer) -> None:
    evil = OutgoingMessage(idempotency_key="k", title="t", body="b",
                           recipient_email="a@example.org\r\nBcc: all@example.org")
    with pytest.raises(DeliveryError) as info:
        channel(smtp_server).send(evil)
    assert not info.value.retryable
    assert smtp_server.sink.envelopes == []


def test_unreachable_server_is_retryable() -> None:
    mail = EmailChannel("mail", {"host": "127.0.0.1", "port": free_port(),
                                 "sender": "noreply@example.org", "password": "pw-never-shown",
                                 "username": "u", "timeout": 2})
    with pytest.raises(DeliveryError) as info:
        mail.send(MESSAGE)
    assert info.value.retryable
    assert "pw-never-shown" not in str(info.value)


def test_starttls_unsupported_is_not_retryable(smtp_server: SmtpServer) -> None:
    with pytest.raises(DeliveryError) as info:
        channel(smtp_server, starttls=True).send(MESSAGE)
    assert not info.value.retryable
