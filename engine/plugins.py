"""The plugin manager and the registries it fills.

`field_types()` is the field-type registry of this process: the built-in types (registered by
`engine.fields` through the same hook a third-party plugin uses) plus any plugin's types.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pluggy

from engine import hookspecs
from engine.registry import Registry

_pm: pluggy.PluginManager | None = None


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with built-ins and entry-point plugins loaded."""
    global _pm
    if _pm is None:
        pm = pluggy.PluginManager("gridbase")
        pm.add_hookspecs(hookspecs)
        from engine.fields import builtin

        pm.register(builtin, name="gridbase.fields")
        try:
            import plugins.builtin as plugin_builtins

            pm.register(plugin_builtins, name="gridbase.plugins")
        except ImportError:
            pass
        pm.load_setuptools_entrypoints("gridbase")
        _pm = pm
    return _pm


def _collect(hook_results: list[list[Any]], kind: str) -> Registry[Any]:
    registry: Registry[Any] = Registry(kind)
    for batch in reversed(hook_results):  # pluggy calls last-registered first
        for cls in batch:
            registry.register(cls.type, cls)
    return registry


@lru_cache(maxsize=1)
def field_types() -> Registry[Any]:
    """Registry of field type classes keyed by YAML `type`."""
    return _collect(plugin_manager().hook.gridbase_field_types(), "field type")


@lru_cache(maxsize=1)
def channel_types() -> Registry[Any]:
    """Registry of notification channel classes keyed by `type`."""
    return _collect(plugin_manager().hook.gridbase_channels(), "channel")


@lru_cache(maxsize=1)
def importers() -> Registry[Any]:
    """Registry of importer classes keyed by file format."""
    return _collect(plugin_manager().hook.gridbase_importers(), "importer")


def reset() -> None:
    """Forget registries (tests that register temporary plugins call this)."""
    global _pm
    _pm = None
    field_types.cache_clear()
    channel_types.cache_clear()
    importers.cache_clear()
