"""Registers Gridbase's built-in plugins through the same hooks a third-party plugin uses.

For now these are the notification channels of `plugins.channels`; importers join here.
"""

from __future__ import annotations

from typing import Any

from engine.hookspecs import hookimpl
from plugins.channels import BUILTIN_CHANNELS


@hookimpl
def gridbase_channels() -> list[Any]:
    """The built-in channel classes: email, webhook, feishu, wecom, dingtalk."""
    return list(BUILTIN_CHANNELS)
