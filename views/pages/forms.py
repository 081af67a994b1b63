"""Forms declared in YAML: the fill-in page, its QR code and a printable poster.

A form's *prefill* values are never rendered; they are set on the server as system values,
together with the *submitter* (the signed-in person). A *public* form needs no sign-in: it
acts as `Actor.public(form_key)`, has a honeypot field (`website`, hidden with CSS; a bot
that fills it is thanked and nothing is stored) and a per-IP rate limit. The engine's
`created` outbox event carries `"form": key`, which is what automations listen to.

Its QR codes and posters are views.pages.form_posters; "my submissions" is views.pages.form_mine.

Forms with logic: a question with `show_if` is asked only when an earlier answer matches
(engine.model.FormField.shown; hidden in the browser by static/formlogic.js, and its answer
dropped here and in the engine); `?prefill_<key or name>=…` fills a question or a hidden field
of `link_prefill` (checked like answers; the QR code and poster take the same parameters);
`one_per` refuses a second submission by the same person (per day, per week); a link question's
`link_filter` limits its picker (the form's own search) and its answers; `/f/mine` lists a
person's submissions with the form's `status`, and `editable_for` lets them change their answers.

Files posted with a form are checked (type, size, quota, free disk) and received into
incoming files; they become uploads only in the transaction that creates the record
(`views.files.keep_uploads`), so a refused or failed submission keeps nothing on disk.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from jinja2 import pass_context
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine import Actor, GridbaseError, NotFoundError, ValidationError, Workspace, attachments
from engine.attachments import Incoming
from engine.errors import Message
from engine.fields.base import is_blank
from engine.matching import row_matches
from engine.model import FormDef
from engine.records import Table
from views.messages import render as render_message
from views.messages import render_all
from views.pages import cells, form_mine
from views.pages.files import MAX_FILES, keep_uploads, receive_uploads
from views.pages.form_mine import editable_until
from views.pages.web import (
    check_csrf,
    current_actor,
    get_locale,
    get_ws,
    render,
    require_actor,
    templates,
)
from views.ratelimit import limiter
from views.threads import on_worker

RATE_LIMIT = 10  # submissions per IP per minute on public forms

def find_form(request: Request) -> tuple[Table, FormDef]:
    base = get_ws(request).base(request.path_params["base"])
    key = request.path_params["form"]
    for table in base.tables():
        form = table.tdef.forms.get(key)
        if form is not None:
            return table, form
    raise NotFoundError(code="unknown_form", params={"form": key})


def takes_public_files(ws: Workspace, base: str, form_key: str) -> bool:
    """True if `form_key` of base `base` is a public form with an attachment field (anyone may
    post files to it, so its body may be larger than an anonymous request's)."""
    try:
        tables = ws.base(base).tables()
    except NotFoundError:
        return False
    for table in tables:
        form = table.tdef.forms.get(form_key)
        if form is not None:
            return form.public and any(table.fields[f.field].editor().widget == "file" for f in form.fields)
    return False


def form_actor(request: Request, form: FormDef, table: Table | None = None) -> Actor:
    """Who fills the form. A signed-in form of a table the person may not add to does not
    exist for them (404), like the table itself."""
    if form.public:
        return current_actor(request) or Actor.public(form.key)
    actor = require_actor(request)
    if table is not None and not table.access(actor).can_create:
        raise NotFoundError(code="unknown_form", params={"form": form.key})
    return actor


def rate_limited(request: Request) -> bool:
    """Public-form submissions per client address per minute, counted per app.

    The limit is `app.state.form_rate` (default RATE_LIMIT; None switches it off, e.g. for
    a benchmark on loopback).
    """
    limit = getattr(request.app.state, "form_rate", RATE_LIMIT)
    bucket = limiter(request.app.state, "form", None if limit is None else (limit / 60.0, float(limit)))
    return bucket is not None and bucket.take(request.client.host if request.client else "?") > 0


def form_default(table: Table, key: str, default: Any, actor: Actor) -> Any:
    """A form field's default (`$today`, `$now`, `$me` or a literal) as its input holds it:
    a date, a local date and time, a person, an option, True/False, a list."""
    stored = table.default_value(key, default, actor)
    if stored is None:
        return [] if cells.is_list_input(table, key) else ""
    return cells.input_value(table, key, stored)


def form_fields(table: Table, form: FormDef, actor: Actor) -> list[dict[str, Any]]:
    """The form's questions: each field's label, help, whether required, its default and its
    field type's editor (the same inputs as the new-record page: a record picker for a link,
    the active people for a person field, the type's own attributes for a plugin's type)."""
    out = []
    for ff in form.fields:
        fdef = table.tdef.fields[ff.field]
        editor = table.fields[ff.field].editor()
        default = ff.default if ff.default is not None else fdef.default
        out.append({"key": ff.field, "label": ff.label or fdef.name, "help": ff.help or fdef.description,
                    "required": ff.required if ff.required is not None else fdef.required,
                    "default": form_default(table, ff.field, default, actor),
                    "widget": editor.widget, "several": editor.several, "show_if": ff.show_if,
                    "link_filter": ff.link_filter})
    return out


PREFILL = "prefill_"


def link_prefill(table: Table, form: FormDef, params: Any) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """`?prefill_<field key or name>=value` of a form's link, for the fields the form allows
    (its questions, and the hidden fields it lists under `link_prefill`), checked like answers.

    Returns (answers for questions, errors by field key, hidden system values)."""
    by_name = {f.name: k for k, f in table.tdef.fields.items()}
    questions = {ff.field for ff in form.fields}
    answers: dict[str, Any] = {}
    hidden: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in params.keys():
        if not name.startswith(PREFILL):
            continue
        ref = name[len(PREFILL):]
        key = ref if ref in table.tdef.fields else by_name.get(ref)
        if key is None or (key not in questions and key not in form.link_prefill):
            errors[ref] = Message("form_prefill_not_allowed", field=ref)
            continue
        several = cells.is_list_input(table, key)
        raw: Any = [v for v in params.getlist(name) if isinstance(v, str)] if several else params.get(name)
        if is_blank(raw):
            continue
        try:
            table.fields[key].coerce(raw)
        except (ValueError, GridbaseError) as exc:
            errors[key] = Message("field_problem", field=table.tdef.fields[key].name, problem=str(exc))
            continue
        (answers if key in questions else hidden)[key] = raw
    return answers, errors, hidden


def prefill_query(table: Table, answers: dict[str, Any], hidden: dict[str, Any]) -> str:
    """The checked link values again as `?prefill_<key>=…` (for the QR code and the poster)."""
    pairs = [(PREFILL + k, v) for k, vs in {**answers, **hidden}.items() for v in (vs if isinstance(vs, list) else [vs])]
    return "?" + urlencode(pairs) if pairs else ""


def one_per_since(form: FormDef, now: datetime) -> datetime | None:
    """The start of the period `one_per` counts submissions in (None: ever)."""
    local = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if form.one_per == "person_day":
        return local
    if form.one_per == "person_week":
        return local - timedelta(days=local.weekday())
    return None


def once_message(form: FormDef) -> Message:
    """What a person who already submitted is told, by the form's `one_per`."""
    if form.one_per == "person_day":
        return Message("form_once_person_day")
    if form.one_per == "person_week":
        return Message("form_once_person_week")
    return Message("form_once_person")


def already_submitted(table: Table, form: FormDef, actor: Actor) -> bool:
    """True if `one_per` forbids this person another submission: a record whose submitter
    field names them was created in the period (ever, this day, this ISO week; workspace time)."""
    if not form.one_per or not form.submitter or not actor.is_person:
        return False
    since = one_per_since(form, table.ws.now().astimezone(table.ws.tz))
    found = table.query(actor=Actor.engine(), filter={form.submitter: actor.key}, limit=1000, with_total=False)
    for rec in found.records:
        if since is None:
            return True
        created = datetime.fromisoformat(str(rec["createdTime"]).replace("Z", "+00:00"))
        if created >= since:
            return True
    return False


def form_inputs(table: Table, form: FormDef, fields: list[dict[str, Any]], actor: Actor, values: dict[str, Any],
                errors: dict[str, str]) -> list[dict[str, Any]]:
    """What form.html draws: each question's input (views.cells.field_input) holding `values`."""
    links = cells.LinkTitles(table, actor)
    people = links.people() if any(table.fields[f["key"]].editor().choices == "people" for f in fields) else None
    out = []
    asked = form.asked(values)
    for f in fields:
        spec = cells.field_input(table, f["key"], actor, values.get(f["key"], f["default"]), error=errors.get(f["key"]),
                                 links=links, people=people, label=f["label"], required=f["required"],
                                 people_url=f"/f/{table.base.key}/{form.key}/people/{f['key']}")
        spec["help"] = f["help"]
        spec["show_if"] = f["show_if"]
        if f["link_filter"] is not None:
            limited_picker(table, form, f, spec, values.get(f["key"]))
        spec["asked"] = f["key"] in asked
        out.append(spec)
    return out


def limited_picker(table: Table, form: FormDef, f: dict[str, Any], spec: dict[str, Any], value: Any) -> None:
    """A link question with a `link_filter`: its picker searches the form's own link search
    (the records the filter allows, titles only), for anyone who may fill the form in."""
    fdef = table.tdef.fields[f["key"]]
    other = table.base.table(fdef.options["table"])
    ids = [str(v) for v in value] if isinstance(value, list) else [v for v in str(value or "").split(",") if v.strip()]
    spec["widget"] = "link"
    spec["value"] = ids
    spec["link"] = {"multiple": fdef.options.get("multiple", True) is not False, "table_name": other.tdef.name,
                    "search_url": f"/f/{table.base.key}/{form.key}/link/{f['key']}"}
    spec["chosen"] = [{"id": rid, "text": title, "url": None} for rid, title in allowed_titles(other, f["link_filter"], ids)]


def allowed_titles(other: Table, flt: Any, ids: list[str]) -> list[tuple[str, str]]:
    """(id, primary text) of those of `ids` that are live records of `other` matching `flt`."""
    out = []
    for rid in ids:
        rid = rid.strip()
        if rid and row_matches(other, rid, flt):
            rec = other.get(rid, actor=Actor.engine())
            out.append((rid, other.display(rec, other.tdef.primary) or rid))
    return out


async def link_search(request: Request) -> Response:
    """GET ?q=… → {"records": [{"id", "title"}], "more": bool} for a link question with a
    `link_filter`: the allowed records whose primary field contains q (their titles only), for
    whoever may fill the form in; 404 for any other question."""
    table, form = find_form(request)
    form_actor(request, form, table)
    key = request.path_params["field"]
    ff = next((x for x in form.fields if x.field == key and x.link_filter is not None), None)
    if ff is None:
        raise NotFoundError(code="unknown_field", params={"field": key})
    other = table.base.table(table.tdef.fields[key].options["table"])
    primary = other.tdef.primary
    term = request.query_params.get("q", "").strip()[:100]
    flt: Any = ff.link_filter if not term else {"and": [ff.link_filter, {primary: {"contains": term}}]}
    page = other.query(actor=Actor.engine(), filter=flt, limit=cells.MAX_LINK_RESULTS, fields=[primary], with_total=False)
    records = [{"id": r["id"], "title": other.display(r, primary) or r["id"]} for r in page.records]
    return JSONResponse({"records": records, "more": page.next_offset is not None}, headers={"Cache-Control": "no-store"})


def usable_forms(request: Request, base: str, table_key: str) -> list[dict[str, Any]]:
    """The forms of a table the signed-in person may fill in (public ones, and signed-in ones
    of a table they may add to), with the poster for people who manage the table."""
    actor = current_actor(request)
    if actor is None:
        return []
    try:
        table = get_ws(request).base(base).table(table_key)
    except NotFoundError:
        return []
    access = table.access(actor)
    if not access.can_read:
        return []
    out = []
    for form in table.tdef.forms.values():
        if not form.public and not access.can_create:
            continue
        url = f"/f/{table.base.key}/{form.key}"
        out.append({"key": form.key, "name": form.name, "url": url, "public": form.public,
                    "poster": url + "/poster" if access.manage else None,
                    "qr": url + "/qr.png" if access.manage else None,
                    "posters": value_posters(table, form, url) if access.manage else []})
    return out


def value_posters(table: Table, form: FormDef, url: str) -> list[dict[str, str]]:
    """One poster per option of each hidden field a link may prefill (a QR code per centre)."""
    out = []
    for key in form.link_prefill:
        if key in table.fields and table.fields[key].editor().choices == "options":
            for opt in cells.option_list(table.fields[key].options):
                out.append({"label": opt["name"], "url": f"{url}/poster?{urlencode({PREFILL + key: opt['name']})}"})
    return out


# Templates (the table page, the home page) list a table's forms through this.
templates.env.globals["table_forms"] = usable_forms


@pass_context
def message(context: Any, text: str) -> str:
    """An engine's message (a field's error) in the page's language (views.messages): the
    field_input and error_summary macros show errors through this filter."""
    return str(render_message(text, str(context.get("locale") or "en")))


templates.env.filters["message"] = message


def form_url(request: Request, table: Table, form: FormDef) -> str:
    return str(request.base_url).rstrip("/") + f"/f/{table.base.key}/{form.key}"


def hidden_inputs(table: Table, hidden: dict[str, Any]) -> list[dict[str, Any]]:
    """The link's hidden values, carried by the form as `prefill_<key>` and shown read-only."""
    return [{"name": PREFILL + k, "label": table.tdef.fields[k].name, "given": v if isinstance(v, list) else [v]}
            for k, v in hidden.items()]


async def form_page(request: Request) -> Response:
    table, form = find_form(request)
    actor = form_actor(request, form, table)
    fields = form_fields(table, form, actor)
    answers, problems, hidden = link_prefill(table, form, request.query_params)
    values = {f["key"]: answers.get(f["key"], f["default"]) for f in fields}
    general = [v for k, v in problems.items() if k not in values]
    if form.one_per and already_submitted(table, form, actor):
        general.append(once_message(form))
    mine = render_all({k: v for k, v in problems.items() if k in values}, get_locale(request))
    return render(request, "form.html", status_code=422 if problems else 200, table=table, form=form,
                  inputs=form_inputs(table, form, fields, actor, values, mine), errors=mine, general=general,
                  hidden=hidden_inputs(table, hidden))


def own_submission(request: Request, table: Table, form: FormDef, actor: Actor) -> dict[str, Any]:
    """The record being edited through the form: one this person submitted (the form's
    submitter field names them), still inside `editable_for`; else 404 (it is not theirs to see)."""
    rid = request.path_params["record"]
    rec = None
    if form.submitter and form.editable_for and actor.is_person:
        try:
            rec = table.get(rid, actor=Actor.engine())
        except NotFoundError:
            rec = None
    if rec is None or rec["fields"].get(form.submitter) != actor.key:
        raise NotFoundError(code="record_not_found", params={"record": rid})
    until = editable_until(form, str(rec["createdTime"]))
    if until is None or table.ws.now() > until:
        raise GridbaseError(code="form_edit_closed", params={"form": form.name})
    return rec


async def edit_page(request: Request) -> Response:
    """The form again, holding the answers of one's own submission (while `editable_for` allows)."""
    table, form = find_form(request)
    actor = form_actor(request, form, table)
    rec = own_submission(request, table, form, actor)
    fields = [f for f in form_fields(table, form, actor) if f["widget"] != "file"]
    values = {f["key"]: cells.input_value(table, f["key"], rec["fields"].get(f["key"])) if f["key"] in rec["fields"]
              else ([] if cells.is_list_input(table, f["key"]) else "") for f in fields}
    return render(request, "form.html", table=table, form=form, inputs=form_inputs(table, form, fields, actor, values, {}),
                  errors={}, general=[], action=f"/f/{table.base.key}/{form.key}/edit/{rec['id']}")


async def submit(request: Request) -> Response:
    table, form = find_form(request)
    actor = form_actor(request, form, table)
    received: dict[str, list[Incoming]] = {}
    try:
        return await _submit(request, table, form, actor, received)
    finally:
        # `_submit` empties `received` once the record is stored; files still here belong to a
        # refused or failed post: their bytes go (and a blob placed for them that no upload names).
        attachments.discard(table.ws, [f for files in received.values() for f in files])


async def _submit(request: Request, table: Table, form: FormDef, actor: Actor,
                  received: dict[str, list[Incoming]]) -> Response:
    async with request.form(max_files=MAX_FILES) as data:
        check_csrf(request, data)
        if "record" in request.path_params:  # an edit of one's own submission (after the CSRF check)
            own_submission(request, table, form, actor)
        if form.public and await on_worker(rate_limited, request):
            raise HTTPException(429, "Too many submissions from this address; wait a minute and try again")
        if form.public and str(data.get("website") or "").strip():
            return render(request, "form_thanks.html", table=table, form=form)
        editing = request.path_params.get("record")
        fields = [f for f in form_fields(table, form, actor) if not (editing and f["widget"] == "file")]
        _, link_errors, hidden = link_prefill(table, form, data)
        values: dict[str, Any] = {}
        errors: dict[str, str] = {k: v for k, v in link_errors.items() if k not in {f["key"] for f in fields}}
        if form.one_per and not editing and already_submitted(table, form, actor):
            errors["_once"] = once_message(form)
        for f in fields:
            key = f["key"]
            if f["widget"] == "file":
                continue  # files are looked at once every other value is known to be good
            if f["widget"] == "checkbox":
                values[key] = bool(data.get(key))
            elif f["several"]:
                values[key] = [str(v) for v in data.getlist(key) if isinstance(v, str)]
            else:
                raw = data.get(key)
                values[key] = raw if isinstance(raw, str) else None
            if is_blank(values.get(key)) and f["widget"] != "checkbox" and not is_blank(f["default"]):
                values[key] = f["default"]  # left empty: the default applies, as on any new record
        asked = form.asked(values)
        for f in fields:
            key = f["key"]
            if f["link_filter"] is not None and key in asked and not is_blank(values.get(key)):
                chosen = values[key] if isinstance(values[key], list) else str(values[key]).split(",")
                ids = [c.strip() for c in chosen if c.strip()]
                other = table.base.table(table.tdef.fields[key].options["table"])
                if len(allowed_titles(other, f["link_filter"], ids)) != len(ids):
                    errors[key] = Message("form_link_not_allowed", field=f["label"])
                values[key] = ids
            if key not in asked:
                values.pop(key, None)  # a question not asked (its condition unmet) keeps no answer
            elif f["widget"] != "file" and f["required"] and is_blank(values.get(key)) and key not in errors:
                errors[key] = Message("required", field=f["label"])
        if errors:
            # A form refused for a missing answer also says at once what is wrong with the others.
            for f in fields:
                key = f["key"]
                if f["widget"] != "file" and key not in errors and not is_blank(values.get(key)):
                    try:
                        table.fields[key].coerce(values[key])
                    except (ValueError, GridbaseError) as exc:
                        errors[key] = str(exc)
        for f in fields:
            key = f["key"]
            if f["widget"] != "file" or key not in asked:
                continue
            files = [u for u in data.getlist(key) if isinstance(u, UploadFile) and u.filename]
            if f["required"] and not files:
                errors[key] = Message("required", field=f["label"])
            if files and not errors:
                try:
                    received[key] = receive_uploads(table.ws, table, key, files, actor)
                except ValidationError as exc:
                    errors.update(exc.errors)
    system: dict[str, Any] = {**form.prefill, **hidden}
    if form.submitter and actor.is_person:
        system[form.submitter] = actor.key
    if not errors and editing:
        # The form changes the person's own submission on their behalf: only its questions
        # (a question no longer asked is emptied), through the engine's one write path.
        change = {f["key"]: (None if is_blank(values.get(f["key"])) else values[f["key"]]) for f in fields}
        try:
            await on_worker(lambda: table.update(editing, change, actor=Actor.engine(f"form:{form.key}", on_behalf=actor.key)))
        except ValidationError as exc:
            errors = dict(exc.errors)
        else:
            return render(request, "form_thanks.html", table=table, form=form)
    if not errors:
        given = {k: v for k, v in values.items() if not is_blank(v)}

        def write() -> Any:
            # The files become uploads in the record's own transaction (and savepoint): a
            # refused record takes its files' rows with it, and `submit` removes their bytes.
            for key, files in received.items():
                given[key] = keep_uploads(table, key, files, actor)
            return table.create(given, actor=actor, form=form, system_values=system, read_back=False)

        try:
            # Submissions that arrive together share one transaction and one disk sync; each
            # is answered once it is durable (engine.groupcommit).
            await asyncio.wrap_future(table.ws.storage.write_soon(write))
        except ValidationError as exc:
            # "患者电话: expected a phone number…" is shown under the form's own label (联系电话),
            # and the error summary names that label: the table's field name is left out.
            errors = {k: strip_name(v, table.tdef.fields[k].name) if k in table.tdef.fields else v
                      for k, v in exc.errors.items()}
        else:
            received.clear()
            return render(request, "form_thanks.html", table=table, form=form)
    keys = {f["key"] for f in fields}
    shown = {k: (v if not isinstance(v, list) or all(isinstance(i, str) for i in v) else "") for k, v in values.items()}
    # Each field's error beside its input, in the page's language (render translates the rest).
    mine = render_all({k: v for k, v in errors.items() if k in keys}, get_locale(request))
    return render(request, "form.html", status_code=422, table=table, form=form,
                  inputs=form_inputs(table, form, fields, actor, shown, mine), errors=mine,
                  general=[v for k, v in errors.items() if k not in keys], hidden=hidden_inputs(table, hidden),
                  action=f"/f/{table.base.key}/{form.key}/edit/{editing}" if editing else None)


def strip_name(message: str, name: str) -> str:
    """An engine message without the field name it starts with ("电话: expected …" → "expected …")."""
    if isinstance(message, Message) and message.code == "field_problem" and message.params.get("field") == name:
        return message.params["problem"]  # type: ignore[no-any-return]
    return message[len(name) + 2:] if message.startswith(name + ": ") else message


async def people_search(request: Request) -> Response:
    """GET ?q=… → the enabled people a person question of this form may name (as
    views.pages.record's search), for whoever may fill the form in; 404 for anything else."""
    table, form = find_form(request)
    actor = form_actor(request, form, table)
    key = request.path_params["field"]
    if key not in {f["key"] for f in form_fields(table, form, actor)} or table.fields[key].editor().choices != "people":
        raise NotFoundError(code="unknown_field", params={"field": key})
    return cells.people_answer(table.ws, request.query_params.get("q", ""))


routes = [
    *form_mine.routes,  # /f/mine before /f/{base}/{form}
    Route("/f/{base}/{form}", form_page, methods=["GET"]),
    Route("/f/{base}/{form}", submit, methods=["POST"]),
    Route("/f/{base}/{form}/people/{field}", people_search, methods=["GET"]),
    Route("/f/{base}/{form}/link/{field}", link_search, methods=["GET"]),
    Route("/f/{base}/{form}/edit/{record}", edit_page, methods=["GET"]),
    Route("/f/{base}/{form}/edit/{record}", submit, methods=["POST"]),
]
