"""The plugin manager and the registries it fills: one registry per extension point.

Everything is found through the `gridbase` entry point group of installed packages, Gridbase's
own built-ins included (pyproject.toml names them: `gridbase.fields` → `engine.fields.builtin`,
`gridbase.views` → `engine.viewtypes.builtin`, `gridbase.widgets` → `engine.widgets.builtin`,
`gridbase.plugins` → `plugins.builtin` (channels, importers), `gridbase.automations` →
`automations.builtin` (triggers, actions)). A test may register a temporary plugin in code with
`plugin_manager().register` and `reset()` after.

Field types and channels are registered as classes (each field or channel of a workspace is an
instance); view types, triggers, actions, widgets and importers as one instance each.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pluggy

from engine import hookspecs
from engine.registry import Registry

_pm: pluggy.PluginManager | None = None

# The entry points that must be there: without them the package was not installed (pip install -e .).
BUILTINS = ("gridbase.fields", "gridbase.views", "gridbase.widgets", "gridbase.plugins", "gridbase.automations")


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


def _instances(hook_results: list[list[Any]], kind: str) -> Registry[Any]:
    registry: Registry[Any] = Registry(kind)
    for key, cls in _collect(hook_results, kind).items():
        registry.register(key, cls())
    return registry


@lru_cache(maxsize=1)
def view_types() -> Registry[Any]:
    """Registry of view types (instances of engine.viewtypes.ViewType subclasses) keyed by YAML `type`."""
    return _instances(plugin_manager().hook.gridbase_view_types(), "view type")


@lru_cache(maxsize=1)
def triggers() -> Registry[Any]:
    """Registry of automation triggers (engine.automation.Trigger instances) keyed by their `when:` key."""
    return _instances(plugin_manager().hook.gridbase_triggers(), "trigger")


@lru_cache(maxsize=1)
def actions() -> Registry[Any]:
    """Registry of automation actions (engine.automation.Action instances) keyed by their `do:` key."""
    return _instances(plugin_manager().hook.gridbase_actions(), "action")


@lru_cache(maxsize=1)
def widget_types() -> Registry[Any]:
    """Registry of dashboard widget types (engine.widgets.WidgetType instances) keyed by YAML `type`."""
    return _instances(plugin_manager().hook.gridbase_widgets(), "widget type")


@lru_cache(maxsize=1)
def channel_types() -> Registry[Any]:
    """Registry of notification channel classes keyed by `type`."""
    return _collect(plugin_manager().hook.gridbase_channels(), "channel")


@lru_cache(maxsize=1)
def importers() -> Registry[Any]:
    """Registry of importers (engine.importers.Importer instances) keyed by file format."""
    return _instances(plugin_manager().hook.gridbase_importers(), "importer")


def reset() -> None:
    """Forget registries (tests that register temporary plugins call this)."""
    global _pm
    _pm = None
    field_types.cache_clear()
    view_types.cache_clear()
    channel_types.cache_clear()
    importers.cache_clear()
    triggers.cache_clear()
    actions.cache_clear()
    widget_types.cache_clear()
