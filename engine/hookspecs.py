"""The plugin hooks. Every extension point is one hook, declared here and nowhere else.

A plugin is a module or object with functions marked `@hookimpl`, found through the `gridbase`
entry point group of an installed package, or registered in code with
`plugin_manager().register`. Gridbase's own field types, view types, channels, importers,
triggers, actions and dashboard widgets are registered through the very same entry points
(see pyproject.toml), so the core has no back door. Each hook returns classes, each with a
unique `type` string: the key its YAML uses (or, for an importer, the format's name).
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
    """Return importer classes (subclasses of engine.importers.Importer), each reading one file format into rows."""


@hookspec
def gridbase_view_types() -> list[Any]:  # type: ignore[empty-body]
    """Return view type classes (subclasses of engine.viewtypes.ViewType) to register."""


@hookspec
def gridbase_triggers() -> list[Any]:  # type: ignore[empty-body]
    """Return automation trigger classes (subclasses of engine.automation.Trigger): what starts a run."""


@hookspec
def gridbase_actions() -> list[Any]:  # type: ignore[empty-body]
    """Return automation action classes (subclasses of engine.automation.Action): one step of a run."""


@hookspec
def gridbase_widgets() -> list[Any]:  # type: ignore[empty-body]
    """Return dashboard widget classes (subclasses of engine.widgets.WidgetType): a figure, a chart, ..."""
