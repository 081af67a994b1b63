"""The ASGI app of a hospital group: several workspaces on one server (`gridbase serve GROUP_DIR`).

    site = open_group("hospital_group")          # engine.group: group.yaml and its workspaces
    app = create_group_app(site)

Each workspace keeps its own database (its folder's data/gridbase.db), people, roles, sessions
and audit, and its own app (gridbase.app.create_app) mounted at `/w/NAME/` behind
views.pages.group.WorkspaceDoor. The group's own pages (`/`, `/login`, `/logout`) and the
group-wide REST API (`/v0/{base}/…`, routed to the base's workspace) are views.pages.group's.
People of the group directory are added to each workspace they belong to before it starts.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount

from engine import Workspace
from engine.errors import GridbaseError
from engine.group import check_workspaces, load_group, people_for
from engine.loader import load_workspace
from engine.stores import URL_VARIABLE
from gridbase.app import NoStoreMiddleware, create_app
from views.pages import assets, group
from views.pages.auth import SecurityHeadersMiddleware


def open_group(root: str | os.PathLike[str], *, apply: bool = True) -> group.Site:
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
    return group.Site(config, opened)


def create_group_app(site: group.Site, **options: Any) -> Starlette:
    """The group's app: its pages, its API router, and each workspace's app under /w/NAME/.
    `options` go to each workspace's create_app (automations, sweep, warm_charts)."""
    apps = {name: create_app(ws, **options) for name, ws in site.workspaces.items()}
    site.apps.update(apps)
    routes: list[BaseRoute] = [
        *group.routes,
        Mount("/v0", app=group.ApiRouter(site)),
        *[Mount(f"/w/{name}", app=group.WorkspaceDoor(app, site, name), name=f"w-{name}") for name, app in apps.items()],
        Mount("/static", app=assets.CachedStatic(), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for each in apps.values():  # each workspace's workers, live hub and listeners
                await stack.enter_async_context(each.router.lifespan_context(each))
            yield

    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[Middleware(SecurityHeadersMiddleware), Middleware(NoStoreMiddleware)])
    app.state.site = site
    return app
