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

from gridbase.app import NoStoreMiddleware, create_app
from gridbase.group_open import open_workspaces
from views.pages import assets, group
from views.pages.auth import SecurityHeadersMiddleware


def open_group(root: str | os.PathLike[str], *, apply: bool = True) -> group.Site:
    """The group folder's workspaces opened (gridbase.group_open), as the site the app serves."""
    return group.Site(*open_workspaces(root, apply=apply))


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
