"""Registers Gridbase's built-in plugins through the same hooks a third-party plugin uses.

The notification channels of `plugins.channels` and the CSV and XLSX importers of
`plugins.importers`.
"""

from __future__ import annotations

from typing import Any

from engine.hookspecs import hookimpl
from plugins.channels import BUILTIN_CHANNELS
from plugins.importers import BUILTIN_IMPORTERS


@hookimpl
def gridbase_channels() -> list[Any]:
    """The built-in channel classes: email, webhook, feishu, wecom, dingtalk."""
    return list(BUILTIN_CHANNELS)


@hookimpl
def gridbase_importers() -> list[Any]:
    """The built-in importers: csv, xlsx."""
    return list(BUILTIN_IMPORTERS)
