"""Contract tests over every registered channel type, and its documentation."""

from __future__ import annotations

import pickle
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.plugins import channel_types
from plugins.channels import BUILTIN_CHANNELS, Channel, ChannelConfigError, DeliveryError

DOC = Path(__file__).resolve().parents[2] / "docs" / "channels.md"

# A valid option set per built-in type (secrets by environment variable, as in production).
SAMPLES: dict[str, dict[str, Any]] = {
    "email": {"host": "127.0.0.1", "port": 2525, "sender": "noreply@example.org",
              "starttls": False, "username": "u", "password_env": "SMTP_PASSWORD"},
    "webhook": {"url": "https://hooks.example.org/in", "secret_env": "HOOK_SECRET"},
    "feishu": {"url": "https://open.feishu.cn/open-apis/bot/v2/hook/xxx",
               "secret_env": "FEISHU_SECRET"},
    "wecom": {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=xxx"},
    "dingtalk": {"url": "https://oapi.dingtalk.com/robot/send?access_token=xxx",
                 "secret_env": "DING_SECRET"},
    "feishu_app": {"app_id": "cli_a1b2c3d4e5f6", "app_secret_env": "FEISHU_APP_SECRET"},
    "wecom_app": {"corp_id": "ww1234567890abcdef", "agent_id": 1000002, "corp_secret_env": "WECOM_APP_SECRET"},
    "dingtalk_app": {"app_key": "dingabcdefghijklmnop", "agent_id": 3016521708, "app_secret_env": "DING_APP_SECRET"},
}


def test_builtins_are_registered_through_the_hook() -> None:
    registry = channel_types()
    assert set(SAMPLES) <= set(registry.keys())
    for cls in BUILTIN_CHANNELS:
        assert registry[cls.type] is cls


@pytest.fixture(params=sorted(channel_types().keys()))
def channel_class(request: pytest.FixtureRequest) -> type[Channel]:
    cls: type[Channel] = channel_types()[request.param]
    return cls


def test_contract(channel_class: type[Channel]) -> None:
    assert issubclass(channel_class, Channel)
    assert re.fullmatch(r"[a-z][a-z0-9_]*", channel_class.type)
    assert channel_class.__doc__
    assert sys.modules[channel_class.__module__].__doc__
    error = DeliveryError("x", retryable=True)
    assert pickle.loads(pickle.dumps(error)).retryable is True


def test_sample_options_are_valid(channel_class: type[Channel]) -> None:
    options = SAMPLES[channel_class.type]
    assert channel_class.config_errors(options) == []
    assert channel_class.config_errors({**options, "type": channel_class.type}) == []
    channel = channel_class("key", options, allowed_hosts=["hooks.example.org"])
    assert channel.key == "key"


def test_bad_options_are_reported(channel_class: type[Channel]) -> None:
    errors = channel_class.config_errors({"colour": "blue", "timeout": "soon"})
    assert any("unknown option 'colour'" in e for e in errors)
    assert any("'timeout'" in e for e in errors)
    assert any("needs the option" in e for e in errors)
    with pytest.raises(ChannelConfigError) as info:
        channel_class("key", {"colour": "blue"})
    assert "colour" in str(info.value)


def test_secret_twice_is_reported(channel_class: type[Channel]) -> None:
    for name in channel_class.OPTIONS:
        if name.endswith("_env"):
            options = {**SAMPLES[channel_class.type], name: "X", name[:-4]: "y"}
            assert any("not both" in e for e in channel_class.config_errors(options))


@pytest.mark.parametrize(("type_", "options", "fragment"), [
    ("webhook", {"url": "ftp://example.org/"}, "only http and https"),
    ("feishu", {"url": "https://x", "format": "card"}, "must be one of"),
    ("email", {"host": "h", "sender": "nobody"}, "e-mail address"),
    ("email", {"host": "h", "sender": "a@b", "port": True}, "must be int"),
    ("email", {"host": "h", "sender": "a@b", "ssl": True, "starttls": True}, "not both"),
    ("email", {"host": "h", "sender": "a@b", "password_env": "P"}, "needs a 'username'"),
])
def test_specific_option_checks(type_: str, options: dict[str, Any], fragment: str) -> None:
    errors = channel_types()[type_].config_errors(options)
    assert any(fragment in e for e in errors), errors


def section(text: str, heading: str) -> str:
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_every_type_and_option_is_documented(channel_class: type[Channel]) -> None:
    text = DOC.read_text(encoding="utf-8")
    common = section(text, "Options every channel accepts")
    own = section(text, f"`{channel_class.type}`")
    for name in channel_class.OPTIONS:
        where = common if name in Channel.OPTIONS else own
        assert f"| `{name}` |" in where, f"option '{name}' of {channel_class.type} is undocumented"


def test_every_documented_option_is_accepted(channel_class: type[Channel]) -> None:
    """The other direction: docs/channels.md promises no option the channel refuses."""
    own = section(DOC.read_text(encoding="utf-8"), f"`{channel_class.type}`")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", own, flags=re.MULTILINE))
    assert documented, f"no options documented for {channel_class.type}"
    unknown = documented - set(channel_class.OPTIONS) - set(Channel.OPTIONS)
    assert not unknown, f"docs/channels.md documents {sorted(unknown)} for {channel_class.type}, which it refuses"
