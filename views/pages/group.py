"""A hospital group's front pages and the doors into its workspaces (several workspaces on one server).

gridbase.group_app serves each workspace of a group folder (engine.group) under `/w/NAME/`, its
own app unchanged, behind `WorkspaceDoor`; this module owns what sits around them:

- `/` — the group landing page: the group sign-in (people of the group directory, engine.group)
  and, once signed in, the workspaces that person belongs to, and no other;
- `/d/{key}` — a group dashboard (group.yaml `dashboards:`): dashboards of several workspaces side
  by side, each card computed in its workspace with the reader's own roles there (a workspace
  they do not belong to, or a card they may not read, is simply not there);
- `/login`, `/logout` — one sign-in for the group: the password is checked by each of the
  person's workspaces (engine.signins, with its throttle), and each starts a session of its own
  (engine.sessions), so each keeps its own sessions and audit; a workspace asking a second factor
  of the person is left for its own sign-in page;
- `WorkspaceDoor` — keeps a workspace's cookies to its own path (two workspaces' sessions never
  meet), moves its redirects under `/w/NAME`, and answers 404 to a group person it does not have;
- `ApiRouter` — `/v0/{base}/…` for the whole group, as Airtable addresses bases: the base's
  workspace answers, with its own tokens, or the token of a directory person who belongs to it
  too (their roles there); any other token gets 403 INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND, the
  answer for a base that does not exist. `/v0/meta/bases` lists the bases of each workspace the
  token's person belongs to.

The pages' links are moved under `/w/NAME` by views.pages.web.render (root_of, under_root).
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, TimestampSigner
from markupsafe import Markup
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine import meta, people, second_factor, sessions, signins, tokens
from engine.auth import verify_password
from engine.errors import NotFoundError
from engine.group import GroupConfig
from engine.sessions import SESSION_HOURS
from engine.workspace import Workspace
from views import threads
from views.api.auth import VOUCHED
from views.api.errors import model_not_found
from views.pages.auth import client_address
from views.pages.dashboards import dashboard_cards
from views.pages.dashboards_filters import selection_of
from views.pages.web import (
    LANG_COOKIE,
    LOCALES,
    SESSION_COOKIE,
    gettext,
    is_secure,
    signer,
    templates,
    under_root,
    visible_to,
)

GROUP_COOKIE = "gb_group"
GROUP_CSRF_COOKIE = "gb_group_csrf"
COOKIE_PATH = re.compile(r"(?i)(;\s*path=)(/[^;]*)")


@dataclass
class Site:
    """The group being served: its directory, and each workspace with its app (gridbase.create_app)."""

    config: GroupConfig
    workspaces: dict[str, Workspace]
    apps: dict[str, ASGIApp] = field(default_factory=dict)
    signer: TimestampSigner | None = None  # made on first use (views.pages.group._signer)

    def owner_of(self, base: str) -> str | None:
        """The workspace holding base `base` (base keys are unique across a group)."""
        return next((name for name, ws in self.workspaces.items() if base in ws.config.bases), None)

    def title(self, name: str) -> str:
        return self.workspaces[name].config.name


def site_of(request: Request) -> Site:
    found: Site = request.app.state.site
    return found


def _signer(site: Site) -> TimestampSigner:
    """The signer of the group sign-in cookie; its secret lives in the group's first workspace."""
    if site.signer is None:
        first = next(iter(site.workspaces.values()))
        site.signer = TimestampSigner(meta.secret(first.storage, "group_session_secret"), salt="gb-group")
    return site.signer


def group_person(site: Site, cookies: dict[str, str]) -> tuple[str, dict[str, str]] | None:
    """(person, {workspace: session id}) of a signed group sign-in cookie, or None."""
    raw = cookies.get(GROUP_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(_signer(site).unsign(raw, max_age=SESSION_HOURS * 3600).decode())
    except (BadSignature, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("p"), str) or not isinstance(data.get("s"), dict):
        return None
    return data["p"], {str(k): str(v) for k, v in data["s"].items()}


def _alive(site: Site, person: str, sids: dict[str, str]) -> dict[str, bool]:
    """For each workspace the person belongs to: whether their group session there is still alive."""
    out = {}
    for name in site.config.member_of(person):
        live = sessions.find(site.workspaces[name], sids[name]) if name in sids else None
        out[name] = live is not None and live.person == person
    return out


def _locale(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE)
    if lang in LOCALES:
        return str(lang)
    accepted = request.headers.get("accept-language", "").lower()
    return "en" if accepted.startswith("en") else "zh-CN"


def _csrf(request: Request) -> tuple[str, bool]:
    token = request.cookies.get(GROUP_CSRF_COOKIE)
    return (token, False) if token else (secrets.token_urlsafe(24), True)


def _page(request: Request, status: int = 200, template: str = "group.html", **ctx: Any) -> Response:
    site = site_of(request)
    locale = _locale(request)
    token, new = _csrf(request)
    page: dict[str, Any] = {"error": None, "username": "", "person": None, "mine": [], "boards": [], **ctx}
    html = templates.get_template(template).render(
        _=gettext(locale), locale=locale, group_name=site.config.name, csrf_token=token, **page)
    response = HTMLResponse(html, status_code=status)
    if new:
        response.set_cookie(GROUP_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=is_secure(request), path="/")
    return response


def _work(request: Request) -> dict[str, Any]:
    """What the landing page shows this reader: their workspaces, or nothing (the sign-in form)."""
    site = site_of(request)
    found = group_person(site, request.cookies)
    if found is None:
        return {}
    person, sids = found
    alive = _alive(site, person, sids)
    if not any(alive.values()):
        return {}
    entry = site.config.people[person]
    boards = [{"url": f"/d/{b.key}", "name": b.name} for b in site.config.dashboards.values()
              if any(alive.get(shown.workspace) for shown in b.show)]
    return {"person": entry.name, "boards": boards,
            "mine": [{"url": f"/w/{name}/", "name": site.title(name), "signed_in": ok} for name, ok in alive.items()]}


async def landing(request: Request) -> Response:
    return _page(request, **await threads.on_worker(_work, request))


def _board(request: Request, key: str) -> dict[str, Any] | None:
    """A group dashboard as this reader may see it: for each workspace's dashboard it shows, the
    cards computed there with the reader's roles in that workspace; None if nothing is theirs."""
    site = site_of(request)
    board = site.config.dashboards.get(key)
    found = group_person(site, request.cookies)
    if board is None or found is None:
        return None
    person, sids = found
    alive = _alive(site, person, sids)
    _ = gettext(_locale(request))
    sections = []
    for shown in board.show:
        if not alive.get(shown.workspace):
            continue
        ws = site.workspaces[shown.workspace]
        try:
            actor = ws.actor(person)
            base = ws.base(shown.base)
        except NotFoundError:
            continue
        ddef = base.bdef.dashboards.get(shown.dashboard)
        if ddef is None or not visible_to(ddef.roles, actor):
            continue
        sel, _controls = selection_of(base, ddef, QueryParams(""), actor, _)
        cards = dashboard_cards(base, ddef, actor, sel, _)
        if not cards:
            continue
        root = f"/w/{shown.workspace}"
        html = templates.get_template("_dashboard_cards.html").render(cards=cards, _=_)
        sections.append({"workspace": site.title(shown.workspace), "name": ddef.name,
                         "url": f"{root}/b/{base.key}/d/{ddef.key}", "html": Markup(under_root(html, root))})  # noqa: S704 - autoescaped
    if not sections:
        return None
    return {"person": site.config.people[person].name, "board": board.name, "sections": sections}


async def group_dashboard(request: Request) -> Response:
    found = await threads.on_worker(_board, request, request.path_params["key"])
    if found is None:
        _ = gettext(_locale(request))
        return _page(request, 404, error=_("Not found")) if group_person(site_of(request), request.cookies) \
            else RedirectResponse("/", status_code=303)
    return _page(request, template="group_dashboard.html", **found)


def _checked_csrf(request: Request, form: Any) -> bool:
    sent, kept = str(form.get("csrf_token") or ""), request.cookies.get(GROUP_CSRF_COOKIE) or ""
    return bool(sent and kept and secrets.compare_digest(sent, kept))


def _sign_in(site: Site, username: str, password: str, address: str) -> tuple[str, dict[str, str]] | int | None:
    """Check the password in each workspace of the directory person named `username` (key or
    e-mail); (person, {workspace: new session id}) where it holds, seconds to wait, or None."""
    for name in site.config.workspaces:
        ws = site.workspaces[name]
        found = signins.find_person(ws, username)
        if found is None or found[0] not in site.config.people or name not in site.config.people[found[0]].workspaces:
            continue
        person = found[0]
        started: dict[str, str] = {}
        for member in site.config.member_of(person):
            mws = site.workspaces[member]
            row = signins.find_person(mws, person)
            who = signins.account_of(person, username)
            with signins.one_at_a_time(who, address):
                verdict = signins.begin(mws, who, address)
                if verdict.refused:  # no session of this attempt outlives it
                    for done, sid in started.items():
                        live = sessions.find(site.workspaces[done], sid)
                        if live is not None:
                            sessions.end(site.workspaces[done], live.id_hash)
                    return verdict.wait
                ok = bool(row and verify_password(row[1], password) and not row[2])
                code_due = ok and (second_factor.enrolled(mws, person) or second_factor.required(mws, mws.actor(person)))
                if ok and verdict.attempt is not None:
                    signins.finish(mws, verdict.attempt, signed_in=not code_due)
            if ok and not code_due:
                started[member] = sessions.start(mws, person)
        return (person, started) if started else None
    return None


async def login(request: Request) -> Response:
    form = await request.form(max_files=0)
    if not _checked_csrf(request, form):
        return _page(request, 403, error=gettext(_locale(request))("CSRF token missing or invalid; reload the page and try again"))
    site = site_of(request)
    username = str(form.get("username") or "").strip()[:200]
    password = str(form.get("password") or "")[:1000]
    _ = gettext(_locale(request))
    result = await threads.on_worker(_sign_in, site, username, password, client_address(request)) if username else None
    if isinstance(result, int):
        minutes = max(1, (result + 59) // 60)
        return _page(request, 429, error=_("Too many attempts, try again in {minutes} minutes", minutes=minutes),
                     username=username)
    if result is None:
        return _page(request, 401, error=_("Wrong username or password"), username=username)
    person, started = result
    response = RedirectResponse("/", status_code=303)
    secure = is_secure(request)
    for name, sid in started.items():
        response.set_cookie(SESSION_COOKIE, signer(site.workspaces[name]).sign(sid).decode(), max_age=SESSION_HOURS * 3600,
                            httponly=True, samesite="lax", secure=secure, path=f"/w/{name}")
    token = _signer(site).sign(json.dumps({"p": person, "s": started}).encode()).decode()
    response.set_cookie(GROUP_COOKIE, token, max_age=SESSION_HOURS * 3600, httponly=True, samesite="lax", secure=secure,
                        path="/")
    return response


def _sign_out(site: Site, cookies: dict[str, str]) -> None:
    found = group_person(site, cookies)
    if found is None:
        return
    for name, sid in found[1].items():
        live = sessions.find(site.workspaces[name], sid) if name in site.workspaces else None
        if live is not None:
            sessions.end(site.workspaces[name], live.id_hash)


async def logout(request: Request) -> Response:
    form = await request.form(max_files=0)
    if not _checked_csrf(request, form):
        return _page(request, 403, error=gettext(_locale(request))("CSRF token missing or invalid; reload the page and try again"))
    site = site_of(request)
    await threads.on_worker(_sign_out, site, dict(request.cookies))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(GROUP_COOKIE, path="/", httponly=True, samesite="lax", secure=is_secure(request))
    for name in site.workspaces:
        response.delete_cookie(SESSION_COOKIE, path=f"/w/{name}", httponly=True, samesite="lax", secure=is_secure(request))
    return response


routes = [
    Route("/", landing, methods=["GET"]),
    Route("/d/{key}", group_dashboard, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]


# -- the doors ---------------------------------------------------------------------------------
class WorkspaceDoor:
    """Wraps one workspace's app mounted at /w/NAME: its cookies stay under its path, its redirects
    go under it, and a group person who does not belong to it is told it is not there (404)."""

    def __init__(self, app: ASGIApp, site: Site, name: str) -> None:
        self.app, self.site, self.name, self.root = app, site, name, f"/w/{name}"

    def refused(self, scope: Scope) -> bool:
        request = Request(scope)
        if SESSION_COOKIE in request.cookies:  # signed in here (or trying to be): the workspace decides
            return False
        found = group_person(self.site, request.cookies)
        return found is not None and self.name not in self.site.config.member_of(found[0])

    def moved(self, value: str) -> str:
        if value.startswith("/") and not value.startswith("//") and value != self.root and not value.startswith(self.root + "/"):
            return self.root + value
        return value

    def cookie_path(self, found: re.Match[str]) -> str:
        """A cookie's `Path=/…` moved under the workspace (`/` becomes `/w/NAME`)."""
        path = found.group(2)
        return found.group(1) + (self.root if path == "/" else self.moved(path))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.refused(scope):
            _ = gettext(_locale(Request(scope)))
            await HTMLResponse(f"<!doctype html><title>{_('Not found')}</title><h1>{_('Not found')}</h1>",
                               status_code=404, headers={"cache-control": "no-store"})(scope, receive, send)
            return

        async def send_moved(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = []
                for key, value in message.get("headers", []):
                    name = key.lower()
                    if name in (b"location", b"hx-redirect"):
                        value = self.moved(value.decode("latin-1")).encode("latin-1")
                    elif name == b"set-cookie" and not value.startswith(LANG_COOKIE.encode() + b"="):
                        value = COOKIE_PATH.sub(self.cookie_path, value.decode("latin-1")).encode("latin-1")
                    headers.append((key, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_moved)


class ApiRouter:
    """`/v0/…` of the group: each request goes to the workspace of the path's base (or, for
    /v0/meta and the OpenAPI document, to the workspace whose token it carries). A token reaches
    a base of another workspace only when its person is of the group directory and belongs to
    both (views.api.auth VOUCHED: the person's roles there decide); `/v0/meta/bases` lists the
    bases of every workspace the token's person belongs to, as Airtable lists all of a user's."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def token_home(self, secret: str) -> tuple[str, tokens.Token] | None:
        for name, ws in self.site.workspaces.items():
            found = tokens.find(ws, secret) if secret else None
            if found is not None:
                person = people.get(ws.storage, found.person)
                usable = tokens.usable(found, ws.now()) and person is not None and not person["disabled"]
                return (name, found) if usable else None
        return None

    def reached(self, home: str, token: tokens.Token) -> list[str]:
        """The workspaces the token reaches: its own, and for a directory person every other they belong to."""
        member = self.site.config.member_of(token.person)
        return [name for name in self.site.workspaces if name == home or (home in member and name in member)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        parts = str(scope.get("path", "")).split("/")  # "", "v0", base, …
        auth = request.headers.get("authorization", "")
        secret = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        found = await threads.on_worker(self.token_home, secret)
        home = found[0] if found else await threads.on_worker(self.any_home, secret)
        owner = self.site.owner_of(parts[2]) if len(parts) > 2 else None
        inner: dict[str, Any] = {**scope, "root_path": ""}
        if found is not None and owner is not None and owner != found[0]:
            if owner not in self.reached(*found):
                await model_not_found().response()(scope, receive, send)
                return
            inner[VOUCHED] = found[1]
        elif owner is not None and home is not None and home != owner:
            await model_not_found().response()(scope, receive, send)
            return
        if found is not None and parts[2:] == ["meta", "bases"] and len(self.reached(*found)) > 1:
            await self.all_bases(inner, receive, send, *found)
            return
        name = owner or home or next(iter(self.site.apps))
        await self.site.apps[name](inner, receive, send)

    def any_home(self, secret: str) -> str | None:
        """The workspace keeping this token even when revoked or expired (its own 401 answers)."""
        return next((name for name, ws in self.site.workspaces.items() if secret and tokens.find(ws, secret) is not None), None)

    async def all_bases(self, scope: Scope, receive: Receive, send: Send, home: str, token: tokens.Token) -> None:
        """GET /v0/meta/bases across the workspaces the token reaches: each answers with the
        person's roles there; the token's home answers first, and an error of its is the answer."""
        bases: list[Any] = []
        for name in [home, *[n for n in self.reached(home, token) if n != home]]:
            status, headers, body = await _collect(self.site.apps[name],
                                                   {**scope, **({} if name == home else {VOUCHED: token})}, receive)
            if status != 200:
                if name == home:
                    await Response(body, status, headers=headers)(scope, receive, send)
                    return
                continue
            bases.extend(json.loads(body).get("bases", []))
        await JSONResponse({"bases": bases})(scope, receive, send)


async def _collect(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, dict[str, str], bytes]:
    """Run `app` for one request and keep its answer (status, headers, body) instead of sending it."""
    kept: dict[str, Any] = {"status": 500, "headers": {}, "body": b""}

    async def keep(message: Message) -> None:
        if message["type"] == "http.response.start":
            kept["status"] = message["status"]
            kept["headers"] = {k.decode("latin-1"): v.decode("latin-1") for k, v in message.get("headers", [])
                               if k.lower() not in (b"content-length",)}
        elif message["type"] == "http.response.body":
            kept["body"] += message.get("body", b"")

    await app(scope, receive, keep)
    return kept["status"], kept["headers"], kept["body"]
