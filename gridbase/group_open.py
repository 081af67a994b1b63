"""Opening a hospital group's workspaces (`gridbase serve|passwd|people GROUP_DIR`).

Owns `open_workspaces`: group.yaml read and checked (engine.group), each workspace opened on its
own database, the group directory's people added to the workspaces they belong to. Kept apart
from gridbase.group_app (the ASGI app) so the commands that only write people start without the
web app and its libraries.
"""

from __future__ import annotations

import os

from engine import Workspace
from engine.errors import GridbaseError
from engine.group import GroupConfig, check_workspaces, load_group, people_for
from engine.loader import load_workspace
from engine.stores import URL_VARIABLE


def open_workspaces(root: str | os.PathLike[str], *, apply: bool = True) -> tuple[GroupConfig, dict[str, Workspace]]:
    """Load and check the group folder, open each workspace (its own database), add the
    directory's people to the workspaces they belong to, and (by default) bring each database to
    its schema."""
    config = load_group(root)
    # Checked as the YAML says (an opened workspace also knows the people its database keeps,
    # among them the directory's, added at its last start).
    check_workspaces(config, {name: load_workspace(folder) for name, folder in config.workspaces.items()})
    if os.environ.get(URL_VARIABLE, "").strip() and len(config.databases) < len(config.workspaces):
        raise GridbaseError(f"{URL_VARIABLE} would put every workspace of the group in one database: name each "
                            "workspace's database in group.yaml instead (workspaces: [{folder: NAME, db: URL}], "
                            "see docs/hospital-group.md)")
    opened: dict[str, Workspace] = {}
    try:
        for name, folder in config.workspaces.items():
            opened[name] = Workspace.open(folder, db=config.databases.get(name))
        for name, ws in opened.items():
            ws.config.url_path = f"/w/{name}"  # its links in messages sent out (automations.delivery)
            for person in people_for(config, name, ws.config, declared=False):
                ws.config.people[person.key] = person
            if apply:
                ws.apply()  # also writes the people into the workspace's database (Workspace.sync_people)
    except BaseException:
        for ws in opened.values():
            ws.close()
        raise
    return config, opened
