"""The plugin manager and the registries it fills: one registry per extension point.

Everything is found through the `gridbase` entry point group of installed packages, Gridbase's
own built-ins included (pyproject.toml names them: `gridbase.fields` → `engine.fields.builtin`,
`gridbase.views` → `engine.viewtypes.builtin`, `gridbase.plugins` → `plugins.builtin`). A test
may register a temporary plugin in code with `plugin_manager().register` and `reset()` after.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pluggy

from engine import hookspecs
from engine.registry import Registry

_pm: pluggy.PluginManager | None = None

# The entry points that must be there: without them the package was not installed (pip install -e .).
BUILTINS = ("gridbase.fields", "gridbase.views")


class NotInstalled(RuntimeError):
    """Gridbase's own entry points are missing: the package is not installed."""


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with every entry-point plugin loaded."""
    global _pm
    if _pm is None:
        pm = pluggy.PluginManager("gridbase")
        pm.add_hookspecs(hookspecs)
        pm.load_setuptools_entrypoints("gridbase")
        missing = [name for name in BUILTINS if pm.get_plugin(name) is None]
        if missing:
            raise NotInstalled(f"Gridbase's built-in plugins ({', '.join(missing)}) are not registered: "
                               "install the package with `pip install -e .` (or `make setup`)")
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
def view_types() -> Registry[Any]:
    """Registry of view types (instances of engine.viewtypes.ViewType subclasses) keyed by YAML `type`."""
    registry: Registry[Any] = Registry("view type")
    for key, cls in _collect(plugin_manager().hook.gridbase_view_types(), "view type").items():
        registry.register(key, cls())
    return registry


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
    view_types.cache_clear()
    channel_types.cache_clear()
    importers.cache_clear()
