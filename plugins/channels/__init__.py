"""Built-in notification channels: e-mail, webhook, the Feishu, WeCom, DingTalk bots and apps.

The public words (`Channel`, `OutgoingMessage`, `DeliveryError`, `ChannelConfigError`) live in
`engine.channels`, below `plugins/`, so that the outbox worker and any plugin use them without
importing a plugin; each channel type is one module. `BUILTIN_CHANNELS` is what
`plugins.builtin` registers through the `gridbase_channels` hook.
"""

from __future__ import annotations

from engine.channels import Channel, ChannelConfigError, DeliveryError, OutgoingMessage
from plugins.channels.dingtalk import DingTalkChannel
from plugins.channels.dingtalk_app import DingTalkAppChannel
from plugins.channels.email import EmailChannel
from plugins.channels.feishu import FeishuChannel
from plugins.channels.feishu_app import FeishuAppChannel
from plugins.channels.webhook import WebhookChannel
from plugins.channels.wecom import WeComChannel
from plugins.channels.wecom_app import WeComAppChannel

BUILTIN_CHANNELS: list[type[Channel]] = [
    EmailChannel, WebhookChannel, FeishuChannel, WeComChannel, DingTalkChannel, FeishuAppChannel,
    WeComAppChannel, DingTalkAppChannel,
]

__all__ = [
    "BUILTIN_CHANNELS", "Channel", "ChannelConfigError", "DeliveryError", "DingTalkAppChannel", "DingTalkChannel",
    "EmailChannel", "FeishuAppChannel", "FeishuChannel", "OutgoingMessage", "WeComAppChannel", "WeComChannel",
    "WebhookChannel",
]
