"""Feishu, WeCom and DingTalk bots against a real local HTTP receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import quote_plus

import pytest
from channel_servers import Receiver, Scripted

from plugins.channels import (
    DeliveryError,
    DingTalkChannel,
    FeishuChannel,
    OutgoingMessage,
    WeComChannel,
)

SECRET = "SECa1b2c3d4e5f60718"
MESSAGE = OutgoingMessage(
    idempotency_key="evt-7:li:bot", title="上级文件响应提醒", body="请于本周五前提交。\n附件见系统。",
    link="https://gridbase.example.org/r/9", recipient_name="李雷", recipient_phone="13900000000")
ALLOWED = ["127.0.0.1"]


# -- Feishu -------------------------------------------------------------------------------

def test_feishu_post_is_signed(receiver: Receiver) -> None:
    FeishuChannel("fs", {"url": receiver.url(), "secret": SECRET},
                  allowed_hosts=ALLOWED).send(MESSAGE)
    body = receiver.requests[0].json()
    assert body["msg_type"] == "post"
    post = body["content"]["post"]["zh_cn"]
    assert post["title"] == "上级文件响应提醒"
    assert post["content"] == [
        [{"tag": "text", "text": "请于本周五前提交。"}],
        [{"tag": "text", "text": "附件见系统。"}],
        [{"tag": "a", "text": MESSAGE.link, "href": MESSAGE.link}],
    ]
    timestamp = body["timestamp"]
    assert abs(int(timestamp) - time.time()) < 60  # seconds, not milliseconds
    key = f"{timestamp}\n{SECRET}".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def test_feishu_text_without_secret(receiver: Receiver) -> None:
    FeishuChannel("fs", {"url": receiver.url(), "format": "text"},
                  allowed_hosts=ALLOWED).send(MESSAGE)
    body = receiver.requests[0].json()
    assert body == {"msg_type": "text", "content": {"text": MESSAGE.text()}}


def test_feishu_old_style_success_answer(receiver: Receiver) -> None:
    receiver.routes["/hook"] = Scripted(json={"StatusCode": 0, "StatusMessage": "success"})
    FeishuChannel("fs", {"url": receiver.url()}, allowed_hosts=ALLOWED).send(MESSAGE)


@pytest.mark.parametrize(("answer", "retryable"), [
    ({"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}, False),
    ({"code": 9499, "msg": "Too Many Request"}, True),
    ({"msg": "no code at all"}, False),
])
def test_feishu_error_code_fails(receiver: Receiver, answer: dict[str, object],
                                 retryable: bool) -> None:
    receiver.routes["/hook"] = Scripted(json=answer)
    with pytest.raises(DeliveryError) as info:
        FeishuChannel("fs", {"url": receiver.url(), "secret": SECRET},
                      allowed_hosts=ALLOWED).send(MESSAGE)
    assert info.value.retryable is retryable
    assert SECRET not in str(info.value)


def test_bot_answer_that_is_not_json_fails(receiver: Receiver) -> None:
    receiver.routes["/hook"] = Scripted(raw=b"<html>proxy login</html>")
    with pytest.raises(DeliveryError) as info:
        FeishuChannel("fs", {"url": receiver.url()}, allowed_hosts=ALLOWED).send(MESSAGE)
    assert not info.value.retryable


# -- WeCom --------------------------------------------------------------------------------

def test_wecom_text_mentions_by_phone(receiver: Receiver) -> None:
    url = receiver.url("/cgi-bin/webhook/send") + "?key=wecom-key-123456"
    WeComChannel("wc", {"url": url, "mention": True}, allowed_hosts=ALLOWED).send(MESSAGE)
    got = receiver.requests[0]
    assert got.query == {"key": ["wecom-key-123456"]}
    assert got.json() == {"msgtype": "text", "text": {
        "content": MESSAGE.text(), "mentioned_mobile_list": ["13900000000"]}}


def test_wecom_markdown_is_cut_to_the_limit(receiver: Receiver) -> None:
    long = OutgoingMessage(idempotency_key="k", title="标题", body="长" * 3000)
    WeComChannel("wc", {"url": receiver.url(), "format": "markdown"},
                 allowed_hosts=ALLOWED).send(long)
    body = receiver.requests[0].json()
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert content.startswith("**标题**\n长")
    assert len(content.encode("utf-8")) <= 4096


@pytest.mark.parametrize(("errcode", "retryable"), [(93000, False), (45009, True)])
def test_wecom_errcode_fails(receiver: Receiver, errcode: int, retryable: bool) -> None:
    receiver.routes["/hook"] = Scripted(json={"errcode": errcode, "errmsg": "invalid webhook url"})
    url = receiver.url() + "?key=wecom-key-abcdef"
    with pytest.raises(DeliveryError) as info:
        WeComChannel("wc", {"url": url}, allowed_hosts=ALLOWED).send(MESSAGE)
    assert info.value.retryable is retryable
    assert str(errcode) in str(info.value)
    assert "wecom-key-abcdef" not in str(info.value)


# -- DingTalk -----------------------------------------------------------------------------

def test_dingtalk_text_is_signed_in_the_query(receiver: Receiver) -> None:
    url = receiver.url("/robot/send") + "?access_token=ding-token-0001"
    DingTalkChannel("dd", {"url": url, "secret": SECRET, "mention": True},
                    allowed_hosts=ALLOWED).send(MESSAGE)
    got = receiver.requests[0]
    assert got.query["access_token"] == ["ding-token-0001"]
    [timestamp] = got.query["timestamp"]
    assert abs(int(timestamp) / 1000 - time.time()) < 60  # milliseconds
    digest = hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    expected = base64.b64encode(digest).decode()
    assert got.query["sign"] == [expected]  # parse_qs undid the URL-encoding
    assert got.json() == {"msgtype": "text", "text": {"content": MESSAGE.text()},
                          "at": {"atMobiles": ["13900000000"], "isAtAll": False}}
    assert f"sign={quote_plus(expected)}" in got.raw_query  # URL-encoded on the wire


def test_dingtalk_markdown(receiver: Receiver) -> None:
    DingTalkChannel("dd", {"url": receiver.url(), "format": "markdown", "mention": True},
                    allowed_hosts=ALLOWED).send(MESSAGE)
    got = receiver.requests[0]
    assert "sign" not in got.query
    body = got.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "上级文件响应提醒"
    text = body["markdown"]["text"]
    assert text.startswith("### 上级文件响应提醒")
    assert f"[{MESSAGE.link}]({MESSAGE.link})" in text and "@13900000000" in text


@pytest.mark.parametrize(("errcode", "retryable"), [(310000, False), (130101, True)])
def test_dingtalk_errcode_fails(receiver: Receiver, errcode: int, retryable: bool) -> None:
    receiver.routes["/hook"] = Scripted(json={"errcode": errcode, "errmsg": "sign not match"})
    with pytest.raises(DeliveryError) as info:
        DingTalkChannel("dd", {"url": receiver.url(), "secret": SECRET},
                        allowed_hosts=ALLOWED).send(MESSAGE)
    assert info.value.retryable is retryable
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("cls", [FeishuChannel, WeComChannel, DingTalkChannel])
def test_bots_refuse_internal_urls(cls: type, receiver: Receiver) -> None:
    with pytest.raises(DeliveryError) as info:
        cls("bot", {"url": receiver.url()}).send(MESSAGE)
    assert not info.value.retryable
    assert receiver.requests == []


@pytest.mark.parametrize("cls", [FeishuChannel, WeComChannel, DingTalkChannel])
def test_bots_retry_on_5xx(cls: type, receiver: Receiver) -> None:
    receiver.routes["/hook"] = Scripted(status=503)
    with pytest.raises(DeliveryError) as info:
        cls("bot", {"url": receiver.url()}, allowed_hosts=ALLOWED).send(MESSAGE)
    assert info.value.retryable
