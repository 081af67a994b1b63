"""An example third-party Gridbase plugin: the `id_card` field type.

A plugin is a module with functions marked `@hookimpl` (see engine/hookspecs.py). Installed
as a package, it is found through the `gridbase` entry point group:

    # the plugin's own pyproject.toml
    [project.entry-points.gridbase]
    id_card = "plugins.example_plugin"

Gridbase does not register this one itself; tests (and you, to try it) register it in code:

    from engine import plugins
    import plugins.example_plugin as example

    plugins.plugin_manager().register(example, name="example_plugin")
    plugins.field_types.cache_clear()   # or plugins.reset() before registering
    ...
    plugins.reset()                     # back to the built-ins and installed plugins

See docs/plugins.md for the walk-through.
"""

from __future__ import annotations

from typing import Any

from engine.hookspecs import hookimpl
from plugins.example_plugin.id_card import IdCardField

__all__ = ["IdCardField", "gridbase_field_types"]


@hookimpl
def gridbase_field_types() -> list[Any]:
    """The field types this plugin adds: `id_card`."""
    return [IdCardField]
