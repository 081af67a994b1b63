"""Shared web helpers: templates, the signed-in actor, CSRF, locale and the page frame.

Words: a *page* is a full HTML document (`name.html`, extending `base.html`); a *fragment*
is a piece swapped into a page (`_name.html`). The *actor* is the signed-in person, found
from the `gb_session` cookie: a random session id, signed, whose SHA-256 names a row of
engine.sessions (the server is the only judge of a session). The *CSRF token* is the
session's own token, or, for visitors without a session (sign-in page, public forms), a
random token kept in the `gb_csrf` cookie (double submit). Every module of `views` renders
through `render()`, which adds what `base.html` needs: actor, locale, `_`, csrf_token, nav
and the unread count.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from itsdangerous import BadSignature, Signer
from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from engine import Actor, NotFoundError, PermissionDenied, Workspace, inbox, meta, sessions
from engine import people as people_db
from engine.ids import utcnow_text
from engine.model import ViewDef
from engine.permissions import TableAccess
from engine.plugins import view_types
from engine.records import Table
from views.i18n import make_gettext
from views.messages import render as render_message
from views.messages import render_all
from views.pages.assets import static_url
from views.pages.cell_html import (
    card_html,
    cards_html,
    cell_content,
    cell_html,
    grid_rows,
    row_cells,
)

LOCALES = ("zh-CN", "en")
SESSION_COOKIE = "gb_session"
ANON_CSRF_COOKIE = "gb_csrf"
LANG_COOKIE = "lang"

_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(jinja2.Environment):
    """Jinja's environment, with `x.name` on a plain dict read as `x["name"]` at once. Jinja
    tries the attribute first and falls back to the item on AttributeError; a grid page reads
    thousands of keys of its cell dicts, and raising that error for each was the largest single
    cost of drawing it. The meaning is unchanged: a dict's own attributes (`items`, `get`, …)
    still win, and a missing key is undefined as before."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


# auto_reload off: the templates ship with the code and change only with it (a new process), so
# Jinja need not look at each file's time again on every get_template: a kanban includes its card
# template, and imports the macros, once per card.
_env = _Environment(loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
                    autoescape=True, trim_blocks=True, lstrip_blocks=True, auto_reload=False)
templates = Jinja2Templates(env=_env)
# The request's CSRF token, also for macros imported without context (`{{ csrf() }}`).
_csrf_var: ContextVar[str] = ContextVar("gb_csrf", default="")
_env.globals["current_csrf"] = _csrf_var.get
_env.globals["static"] = static_url
_env.globals["cell_html"] = cell_html
_env.globals["row_cells"] = row_cells
_env.globals["grid_rows"] = grid_rows
_env.globals["cell_content"] = cell_content
_env.globals["card_html"] = card_html
_env.globals["cards_html"] = cards_html


# The frame's parts that are the same on every page (base.html): the head's links and scripts
# (fingerprinted file names, fixed in a process) and the body's messages for the scripts (per
# language, and whether someone is signed in). Each is drawn from its template once and kept: a
# page drew them anew, some twenty translations and a dozen static() calls each time.
_frame_kept: dict[tuple[str, str, bool], Markup] = {}


def frame_part(part: str, locale: str, signed_in: Any) -> Markup:
    """Part `part` (head, scripts, body) of base.html's frame, drawn once per language and
    signed in or not (`signed_in` as the template's `{% if actor %}` reads it)."""
    key = (part, str(locale), bool(signed_in))
    kept = _frame_kept.get(key)
    if kept is None:
        drawn = _env.get_template(f"_frame_{part}.html").render(_=gettext(key[1]), actor=key[2])
        kept = _frame_kept[key] = Markup(drawn)  # noqa: S704 - autoescaped when drawn
    return kept


_env.globals["frame_part"] = frame_part


class LoginRequired(Exception):
    """Raised by `require_actor`; the app turns it into a redirect to /login?next=…"""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def get_ws(request: Request) -> Workspace:
    ws: Workspace = request.app.state.ws
    return ws


def get_table(request: Request) -> Table:
    """The table named by the path's `base` and `table`."""
    return get_ws(request).base(request.path_params["base"]).table(request.path_params["table"])


def views_for(table: Table, actor: Actor, views: list[ViewDef] | None = None) -> list[ViewDef]:
    """The table's views (or those of `views`) this person is offered: their roles, and fields
    they may filter on. All of a table's are kept per definition and person, as the sidebar is
    (kept_nav): finding them compiles each view's filter."""
    if views is None:
        key = (id(table.ws.config), table.base.key, table.key, actor)
        kept = _views_kept.get(key)
        if kept is None or kept[0] is not table.ws.config:
            if len(_views_kept) > 20_000:
                _views_kept.clear()
            kept = _views_kept[key] = (table.ws.config, _views_for(table, actor, list(table.tdef.views.values())))
        return list(kept[1])
    return _views_for(table, actor, views)


_views_kept: dict[tuple[int, str, str, Actor], tuple[Any, list[ViewDef]]] = {}


def _views_for(table: Table, actor: Actor, views: list[ViewDef]) -> list[ViewDef]:
    mine = [v for v in views if visible_to(v.roles, actor)]
    return table.usable_views(actor, mine) if mine else []


def view_offered(table: Table, vdef: ViewDef | None, actor: Actor) -> bool:
    """Whether this one view is offered to the person (see views_for)."""
    return vdef is not None and bool(views_for(table, actor, [vdef]))


def table_for_adding(request: Request, actor: Actor) -> tuple[Table, TableAccess]:
    """The path's table and the actor's access to it, if they may add records to it
    (a table they cannot read is not found; one they may only read refuses)."""
    table = get_table(request)
    access = table.access(actor)
    if not access.can_read:
        raise NotFoundError(code="unknown_table", params={"table": table.key})
    if not access.can_create:
        raise PermissionDenied(code="may_not_add", params={"table": table.tdef.name})
    return table, access


def now_text(ws: Workspace) -> str:
    return utcnow_text(ws.now())


def is_secure(request: Request) -> bool:
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or proto == "https"


# -- sessions --------------------------------------------------------------------------------
_signers: weakref.WeakKeyDictionary[Workspace, tuple[Any, Signer]] = weakref.WeakKeyDictionary()


def signer(ws: Workspace) -> Signer:
    """A signer keyed by a random secret kept in the database (made on first use).

    The secret never changes once made, so it is read once per open database, not on every request."""
    cached = _signers.get(ws)
    if cached is not None and cached[0] is ws.storage:
        return cached[1]
    made = Signer(meta.secret(ws.storage, "session_secret"), salt="gb-session")
    _signers[ws] = (ws.storage, made)
    return made


def session(request: Request) -> dict[str, Any] | None:
    """The live session row of this request ({id_hash, person, csrf}), or None."""
    if "gb_session" in request.state._state:
        cached: dict[str, Any] | None = request.state.gb_session
        return cached
    found: dict[str, Any] | None = None
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        ws = get_ws(request)
        try:
            sid = signer(ws).unsign(raw).decode()
        except (BadSignature, UnicodeDecodeError):
            sid = None
        live = sessions.find(ws, sid) if sid else None
        if live is not None:
            found = {"id_hash": live.id_hash, "person": live.person, "csrf": live.csrf,
                     "placed": (live.department, live.departments), "locale": live.locale}
    request.state.gb_session = found
    return found


def current_actor(request: Request) -> Actor | None:
    """The signed-in, not disabled person, or None."""
    if "gb_actor" in request.state._state:
        cached: Actor | None = request.state.gb_actor
        return cached
    actor: Actor | None = None
    sess = session(request)
    if sess is not None:
        try:
            actor = get_ws(request).actor(sess["person"], enabled_row=sess["placed"])
        except NotFoundError:
            actor = None
    request.state.gb_actor = actor
    return actor


def require_actor(request: Request) -> Actor:
    actor = current_actor(request)
    if actor is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return actor


def login_url(next_url: str) -> str:
    return "/login?next=" + quote(next_url, safe="/")


def safe_next(value: str | None) -> str:
    """Only same-site paths may be redirected to after sign-in."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


# -- CSRF ------------------------------------------------------------------------------------
def csrf_token(request: Request) -> str:
    sess = session(request)
    if sess is not None:
        return str(sess["csrf"])
    token = request.cookies.get(ANON_CSRF_COOKIE) or request.state._state.get("gb_new_csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.state.gb_new_csrf = token
    return str(token)


def check_csrf(request: Request, form: Any = None) -> None:
    """403 unless the form field `csrf_token` or header `X-CSRF-Token` matches."""
    sent = request.headers.get("x-csrf-token") or (form.get("csrf_token") if form is not None else None)
    sess = session(request)
    expected = sess["csrf"] if sess is not None else request.cookies.get(ANON_CSRF_COOKIE)
    if not sent or not expected or not hmac.compare_digest(str(sent), str(expected)):
        raise HTTPException(403, "CSRF token missing or invalid; reload the page and try again")


def finish(request: Request, response: Response) -> Response:
    """Set the anonymous CSRF cookie if this request made one."""
    token = request.state._state.get("gb_new_csrf")
    if token:
        response.set_cookie(ANON_CSRF_COOKIE, token, httponly=True, samesite="strict",
                            secure=is_secure(request), path="/")
    return response


# -- locale ----------------------------------------------------------------------------------
def get_locale(request: Request) -> str:
    actor = current_actor(request)
    if actor is not None:
        sess = session(request)  # the person's language was read with their session
        chosen = sess["locale"] if sess is not None and sess["person"] == actor.key else \
            people_db.locale_of(get_ws(request).storage, actor.key)
        if chosen in LOCALES:
            return str(chosen)
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LOCALES:
        return str(cookie)
    default = get_ws(request).config.locale
    return default if default in LOCALES else "zh-CN"


def translator(request: Request) -> Any:
    """The gettext function `_` for this request's language."""
    return gettext(get_locale(request))


def gettext(locale: str) -> Any:
    return make_gettext(locale)


# -- the page frame --------------------------------------------------------------------------
def nav(ws: Workspace, actor: Actor | None) -> list[dict[str, Any]]:
    """Bases → tables → views and dashboards the actor may see."""
    if actor is None:
        return []
    out = []
    for base in ws.bases():
        tables = []
        readable = set()
        for table in base.tables():
            if not table.access(actor).can_read:
                continue
            readable.add(table.key)
            views = [{"key": v.key, "name": v.name, "type": v.type, "url": view_url(base.key, table.key, v)}
                     for v in views_for(table, actor)]
            tables.append({"key": table.key, "name": table.tdef.name,
                           "url": f"/b/{base.key}/t/{table.key}", "views": views})
        dashboards = [{"key": d.key, "name": d.name, "url": f"/b/{base.key}/d/{d.key}"}
                      for d in base.bdef.dashboards.values()
                      if visible_to(d.roles, actor) and (actor.admin or all(w.table in readable for w in d.widgets))]
        if tables or dashboards:
            out.append({"key": base.key, "name": base.bdef.name, "tables": tables, "dashboards": dashboards})
    return out


# The sidebar of each person, kept: it follows from the workspace's definitions and who the person
# is (their key, roles, departments: the whole Actor), and those do not change under a running
# workspace (its config is loaded once; a new definition is a new config object). Working it out
# compiles the filter of every view of every table, on every page. Asked by the config's identity,
# the entry holding the config itself (as permissions._formula_cache); read-only to its users.
_nav_kept: dict[tuple[int, Actor], tuple[Any, list[dict[str, Any]]]] = {}


def kept_nav(ws: Workspace, actor: Actor | None) -> list[dict[str, Any]]:
    """`nav(ws, actor)`, worked out once per workspace definition and person."""
    if actor is None:
        return []
    key = (id(ws.config), actor)
    kept = _nav_kept.get(key)
    if kept is None or kept[0] is not ws.config:
        if len(_nav_kept) > 5_000:
            _nav_kept.clear()
        kept = _nav_kept[key] = (ws.config, nav(ws, actor))
    return kept[1]


class Nav:
    """The sidebar's `nav(ws, actor)`, worked out only if the page shows it (a form page, the
    thanks page after a post and the sign-in page have no sidebar, and pay nothing for it).
    `offered` (the app's `state.dashboard_offered`, or None) is called when it lists a
    dashboard: the chart renderer warms then (views/pages/charts.py `start_warming`)."""

    def __init__(self, ws: Workspace, actor: Actor | None, offered: Callable[[], Any] | None) -> None:
        self._ws, self._actor, self._offered = ws, actor, offered
        self._items: list[dict[str, Any]] | None = None

    def items(self) -> list[dict[str, Any]]:
        if self._items is None:
            self._items = kept_nav(self._ws, self._actor)
            if self._offered is not None and any(base["dashboards"] for base in self._items):
                self._offered()
        return self._items

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.items())

    def __len__(self) -> int:
        return len(self.items())

    def __bool__(self) -> bool:
        return bool(self.items())


def view_url(base: str, table: str, vdef: Any) -> str:
    """Where a view is shown: the URL segment its view type names (grids at `v/`)."""
    vtype = view_types().get(vdef.type)
    return f"/b/{base}/t/{table}/{vtype.url_segment() if vtype else 'v'}/{vdef.key}"


def visible_to(roles: list[str] | None, actor: Actor) -> bool:
    return roles is None or actor.admin or any(r in roles for r in actor.roles)


def unread(ws: Workspace, actor: Actor | None) -> int:
    """Unread notifications of `actor`, counted up to inbox.UNREAD_CAP (the badge shows "99+")."""
    return 0 if actor is None else inbox.unread(ws.storage, actor.key)


def render(request: Request, name: str, status_code: int = 200, **ctx: Any) -> Response:
    """Render a template with the frame's context; fragments get the same context."""
    ws = get_ws(request)
    actor = current_actor(request)
    locale = get_locale(request)
    count = unread(ws, actor) if not name.startswith("_") else 0
    context = {"request": request, "actor": actor, "locale": locale, "locales": LOCALES,
               "_": gettext(locale), "msg": lambda message: render_message(message, locale),
               "csrf_token": csrf_token(request), "ws_name": ws.config.name,
               "nav": Nav(ws, actor, getattr(request.app.state, "dashboard_offered", None)) if not name.startswith("_") else [],
               "unread": count, "unread_badge": str(count) if count < inbox.UNREAD_CAP else f"{inbox.UNREAD_CAP - 1}+"}
    context.update(ctx)
    # The engine's messages (errors next to fields, error pages) in the page's language; a
    # template renders one held elsewhere (a form input's error) with `msg(...)`.
    for key in ("errors", "general"):
        if key in context:
            context[key] = render_all(context[key], locale)
    for key in ("message", "error"):
        if isinstance(context.get(key), str):
            context[key] = render_message(context[key], locale)
    context.setdefault("root", root_of(request))
    # A group's workspace links back to the group's page (absolute, so `under_root` leaves it be).
    context.setdefault("group_url", str(request.url.replace(path="/", query="", fragment="")) if context["root"] else "")
    _csrf_var.set(context["csrf_token"])
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    if context["root"]:
        response.body = under_root(bytes(response.body).decode(), context["root"]).encode()
        response.headers["content-length"] = str(len(response.body))
    return finish(request, response)


# -- several workspaces on one server --------------------------------------------------------
# Pages write their links from the site's root ("/b/…", "/inbox"). Served as one workspace of a
# group (gridbase.group_app mounts it at /w/NAME), the mount's path is the request's root_path,
# and `render` puts it before each link of the page: every attribute that holds a link, never text.
_LINK_ATTRS = re.compile(r'(\s(?:href|src|action|formaction|hx-(?:get|post|put|patch|delete)|data-[a-z-]*url)=")/(?![/\\])')


def root_of(request: Request) -> str:
    """Where this workspace is mounted ("" when the server serves it alone, "/w/NAME" in a group)."""
    return str(request.scope.get("root_path") or "").rstrip("/")


def under_root(html: str, root: str) -> str:
    """`html` with each root-relative link attribute moved under `root`."""
    return _LINK_ATTRS.sub(lambda m: m.group(1) + root + "/", html)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def format_time(ws: Workspace, text: str | None) -> str:
    """A stored UTC timestamp as local `YYYY-MM-DD HH:MM`."""
    if not text:
        return ""
    try:
        moment = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return text
    return moment.astimezone(ws.tz).strftime("%Y-%m-%d %H:%M")

