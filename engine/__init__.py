"""Gridbase's engine: workspaces, field types, storage, migrations, the record service.

Nothing here imports the web, automation or plugin layers. Start with `Workspace.open`.
"""

from engine.errors import (
    ConfigError,
    ConfigIssue,
    GridbaseError,
    MigrationRefused,
    NotFoundError,
    PermissionDenied,
    QueryError,
    ValidationError,
)
from engine.permissions import Actor
from engine.workspace import Workspace

__all__ = ["Actor", "ConfigError", "ConfigIssue", "GridbaseError", "MigrationRefused", "NotFoundError",
           "PermissionDenied", "QueryError", "ValidationError", "Workspace"]
