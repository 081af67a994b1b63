"""The webhook channel against a real local HTTP receiver: payload, signature, failures."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

import pytest
from channel_servers import Receiver, Scripted

from plugins.channels import DeliveryError, OutgoingMessage, WebhookChannel
from tests_support import free_port

SECRET = "whsec-7c1d0b3a9e"


def message(**changes: object) -> OutgoingMessage:
    values: dict[str, object] = dict(
        idempotency_key="evt-42:alice:hook", title="新投诉待处理：牙疼", body="患者反映等候时间过长。",
        link="https://gridbase.example.org/b/complaints/rec1", recipient_name="王芳",
        recipient_email="wang@example.org", recipient_phone="13800000000",
        data={"title": "牙疼", "status": "待受理"}, event="record.updated")
    values.update(changes)
    return OutgoingMessage(**values)  # type: ignore[arg-type]


def hook(url: str, allowed: list[str] | None = None, **options: object) -> WebhookChannel:
    return WebhookChannel("hook", {"url": url, **options},
                          allowed_hosts=["127.0.0.1"] if allowed is None else allowed)


def test_posts_signed_json(receiver: Receiver) -> None:
    hook(receiver.url(), secret=SECRET).send(message())
    [got] = receiver.requests
    assert got.json() == {
        "event": "record.updated", "title": "新投诉待处理：牙疼", "body": "患者反映等候时间过长。",
        "link": "https://gridbase.example.org/b/complaints/rec1",
        "recipient": {"name": "王芳", "email": "wang@example.org", "phone": "13800000000"},
        "data": {"title": "牙疼", "status": "待受理"}, "idempotency_key": "evt-42:alice:hook",
    }
    expected = hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Gridbase-Signature"] == f"sha256={expected}"
    assert abs(int(got.headers["X-Gridbase-Timestamp"]) - time.time()) < 60
    assert got.headers["Idempotency-Key"] == "evt-42:alice:hook"
    assert got.headers["Content-Type"].startswith("application/json")


def test_secret_from_environment(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    hook(receiver.url(), secret_env="HOOK_SECRET").send(message())
    got = receiver.requests[0]
    expected = hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Gridbase-Signature"] == f"sha256={expected}"


def test_unset_secret_variable_is_not_retryable(receiver: Receiver,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOK_SECRET_MISSING", raising=False)
    with pytest.raises(DeliveryError) as info:
        hook(receiver.url(), secret_env="HOOK_SECRET_MISSING").send(message())
    assert not info.value.retryable
    assert "HOOK_SECRET_MISSING" in str(info.value)
    assert receiver.requests == []


def test_no_secret_no_signature(receiver: Receiver) -> None:
    hook(receiver.url()).send(message(data={"when": time.gmtime(0)[:3]}))
    got = receiver.requests[0]
    assert "X-Gridbase-Signature" not in got.headers
    assert got.json()["data"] == {"when": [1970, 1, 1]}


@pytest.mark.parametrize(("status", "retryable"), [
    (500, True), (502, True), (503, True), (429, True), (408, True),
    (400, False), (401, False), (404, False), (410, False),
])
def test_status_decides_retry(receiver: Receiver, status: int, retryable: bool) -> None:
    receiver.routes["/hook"] = Scripted(status=status)
    with pytest.raises(DeliveryError) as info:
        hook(receiver.url()).send(message())
    assert info.value.retryable is retryable
    assert str(status) in info.value.reason


def test_timeout_is_retryable(receiver: Receiver) -> None:
    receiver.routes["/hook"] = Scripted(delay=1.0)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as info:
        hook(receiver.url(), timeout=0.2).send(message())
    assert info.value.retryable
    assert time.monotonic() - started < 1.0


def test_connection_refused_is_retryable() -> None:
    with pytest.raises(DeliveryError) as info:
        hook(f"http://127.0.0.1:{free_port()}/hook").send(message())
    assert info.value.retryable


def test_loopback_is_refused_unless_allowed(receiver: Receiver) -> None:
    with pytest.raises(DeliveryError) as info:
        hook(receiver.url(), allowed=[]).send(message())
    assert not info.value.retryable
    assert "loopback" in info.value.reason
    assert receiver.requests == []
    hook(receiver.url(host="localhost"), allowed=["localhost"]).send(message())
    assert len(receiver.requests) == 1


def test_follows_a_redirect_that_passes_the_check(receiver: Receiver) -> None:
    receiver.routes["/old"] = Scripted(status=308, headers={"Location": "/new"})
    hook(receiver.url("/old"), secret=SECRET).send(message())
    assert receiver.paths() == ["/old", "/new"]
    assert receiver.requests[1].body == receiver.requests[0].body
    assert receiver.requests[1].headers["X-Gridbase-Signature"].startswith("sha256=")


@pytest.mark.parametrize("target", [
    "http://127.0.0.1:{port}/new",          # only "localhost" is allowed, not this spelling
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:127.0.0.1]:{port}/new",
    "http://2130706433:{port}/new",
    "file:///etc/passwd",
])
def test_redirect_to_an_internal_address_is_refused(receiver: Receiver, target: str) -> None:
    receiver.routes["/old"] = Scripted(status=302,
                                       headers={"Location": target.format(port=receiver.port)})
    with pytest.raises(DeliveryError) as info:
        hook(receiver.url("/old", host="localhost"), allowed=["localhost"]).send(message())
    assert not info.value.retryable
    assert receiver.paths() == ["/old"]


def test_at_most_three_redirects(receiver: Receiver) -> None:
    for i in range(5):
        receiver.routes[f"/r{i}"] = Scripted(status=307, headers={"Location": f"/r{i + 1}"})
    with pytest.raises(DeliveryError) as info:
        hook(receiver.url("/r0")).send(message())
    assert not info.value.retryable
    assert receiver.paths() == ["/r0", "/r1", "/r2", "/r3"]


def test_secrets_and_tokens_never_leak(receiver: Receiver, monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    token = "tok-9f8e7d6c5b4a3921"
    errors: list[DeliveryError] = []
    receiver.routes["/in"] = Scripted(status=500, raw=f"bad {SECRET} {token}".encode())
    receiver.routes["/gone"] = Scripted(status=302, headers={"Location": "http://10.0.0.1/x"})
    for url, allowed in [
        (receiver.url("/in") + f"?token={token}", ["127.0.0.1"]),
        (receiver.url("/gone") + f"?token={token}", ["127.0.0.1"]),
        (receiver.url("/in") + f"?token={token}", []),
        (f"http://127.0.0.1:{free_port()}/in?token={token}", ["127.0.0.1"]),
    ]:
        with pytest.raises(DeliveryError) as info:
            hook(url, allowed, secret_env="HOOK_SECRET").send(message())
        errors.append(info.value)
    for error in errors:
        assert SECRET not in str(error) and token not in str(error)
        assert SECRET not in repr(error) and token not in repr(error)
    assert SECRET not in caplog.text
    assert token not in caplog.text
