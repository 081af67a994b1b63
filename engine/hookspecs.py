"""The plugin hooks. Every extension point is one hook; built-ins use the same hooks.

A plugin is a module or object with functions marked `@hookimpl` and is found through the
`gridbase` setuptools entry point group, or registered in code with `plugin_manager().register`.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("gridbase")
hookimpl = pluggy.HookimplMarker("gridbase")


@hookspec
def gridbase_field_types() -> list[Any]:  # type: ignore[empty-body]
    """Return field type classes (subclasses of engine.fields.base.FieldType) to register."""


@hookspec
def gridbase_channels() -> list[Any]:  # type: ignore[empty-body]
    """Return notification channel classes, each with a unique `type` string."""


@hookspec
def gridbase_importers() -> list[Any]:  # type: ignore[empty-body]
    """Return importer classes, each reading one file format into rows."""
