"""Actions: what an automation does, one registry entry per YAML action key.

Each action is an `engine.automation.Action` (registered by automations.builtin, like a
plugin's) whose `run(ctx, index, spec)` runs inside the run's transaction and returns a small
JSON-able result for the run history, or raises to fail the step (which stops the run). Writes go through the record service with the automation as
actor (`automation:KEY`), on behalf of the person whose write triggered the run (recorded in
the audit log and history), and the event's depth + 1, so the loop guard can see chains.

- `notify`: one inbox row per person (engine.inbox, unique key
  `{run_key}:{index}:{person}`), rendered with that person's view of the record; then one
  delivery per personal channel (e-mail, a Feishu/WeCom/DingTalk app: `Channel.PERSONAL`) per
  person, and one per group channel (a bot or webhook in workspace.yaml) per action, rendered
  as the channel's reader may read the record (engine.groupreader; not posted if it may not).
- `update`: set fields of the triggering record (values may be templates).
- `create`: a record in a table of the same base; `link` names the new record's link field
  that points back to the triggering record.
- `webhook`: queue a signed POST of the event to a URL (the webhook channel).
- `email`: queue an e-mail through the workspace's first channel that delivers to e-mail addresses:
  to each person as they may read the record, to a plain address as the least reader (engine.groupreader).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from automations import delivery
from automations.recipients import People, PeopleOfTransaction, Recipient, resolve
from automations.templates import (
    MAX_BODY,
    MAX_TITLE,
    least_context,
    record_context,
    record_link,
    render,
)
from engine import inbox
from engine.automation import Action, Checks, Path, Write
from engine.errors import GridbaseError
from engine.groupreader import role_actor
from engine.hints import did_you_mean
from engine.ids import utcnow_text
from engine.matching import live_row
from engine.model import AutomationDef, BaseDef, Channel, TableDef
from engine.permissions import Actor
from engine.plugins import channel_types

if TYPE_CHECKING:
    from engine.records import Table
    from engine.workspace import Workspace


class ActionError(GridbaseError):
    """An action cannot be done; the message is shown in the run history."""


class Park(Exception):  # noqa: N818 (not an error: the run stops here for now)
    """Raised by a step (`wait:`, `approval:`) to park the run until `due` (UTC); `until_field`: a date
    field of the record whose value, read again when the run is checked, says when it is due;
    `again`: the run goes on at this same step (an approval, to run the chosen branch), not the next."""

    def __init__(self, due: Any, until_field: str | None = None, *, again: bool = False) -> None:
        super().__init__(f"parked until {due}")
        self.due = due
        self.until_field = until_field
        self.again = again


@dataclass
class RunContext:
    """Everything an action may use: the workspace, the automation, the record, the run."""

    ws: Workspace
    base: str
    auto: AutomationDef
    table: Table | None
    record_id: str | None
    run_key: str
    trigger: str
    depth: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    row: dict[str, Any] | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    on_behalf: str | None = None  # whose write triggered the run; its writes are recorded as for them
    loop_table: Table | None = None  # inside `for_each`: the table of `item` (automations.steps)
    people_read: PeopleOfTransaction = field(default_factory=PeopleOfTransaction)  # shared by a batch's runs
    _row_mark: int | None = None  # the outbox's newest event when `row` was read (see `row_is_current`)

    def refresh(self, row: dict[str, Any] | None = None) -> None:
        """Load the record (or take `row`, the record just read in this transaction); the first
        time, as the triggering change left it (`overrides`)."""
        if row is None:
            row = live_row(self.table, self.record_id) if self.table and self.record_id else None
        self.row = row
        self._row_mark = self.ws.outbox.newest
        if self.row is not None and self.overrides:
            self.row.update(self.overrides)
        self.overrides = {}

    @property
    def actor(self) -> Actor:
        return Actor.engine(f"automation:{self.auto.key}", on_behalf=self.on_behalf)

    @property
    def link(self) -> str:
        return record_link(self.base, self.table.key, self.record_id) if self.table else ""

    def people(self) -> dict[str, Recipient]:
        return self.known().by_key

    def known(self) -> People:
        """The people as this run sees them (read once per transaction)."""
        return self.people_read.get(self.ws)

    def row_is_current(self) -> bool:
        """Whether `row` is the record as stored now: read in this transaction, and nothing
        written since (every write of a record appends an outbox event in its transaction)."""
        return self.row is not None and self._row_mark is not None and self._row_mark == self.ws.outbox.newest

    def variables(self, person: str | None = None) -> dict[str, Any]:
        """Template variables; for `person`, the record as they may see it (nothing if they are unknown)."""
        if person is None:
            return self._variables(record_context(self.table, self.row) if self.table is not None else {}, self.extra)
        try:
            reader: Actor | None = self.ws.actor(person)
        except GridbaseError:
            reader = None
        return self.variables_as(reader)

    def variables_as(self, reader: Actor | None) -> dict[str, Any]:
        """Template variables with the record as `reader` may see it (None: an unknown reader, who sees nothing)."""
        record: dict[str, str] = {}
        if reader is not None and self.table is not None:
            record = record_context(self.table, self.row, self.table.access(reader), reader)
        return self._variables(record, {k: self._as_seen(v, reader) for k, v in self.extra.items()})

    def group_variables(self, channel: Channel) -> dict[str, Any] | None:
        """Template variables for a group channel's one message, as its reader (engine.groupreader)
        may see the record; None when that reader may not read it (nothing is posted)."""
        if channel.as_person is None and channel.as_role is None:
            return self.least_variables(channel.key)
        try:
            reader = (self.ws.actor(channel.as_person) if channel.as_person is not None
                      else role_actor(channel.key, str(channel.as_role)))
        except GridbaseError:
            return None
        return self.variables_as(reader) if _can_read(self, reader) else None

    def least_variables(self, label: str) -> dict[str, Any]:
        """Template variables for readers nobody knows (a group chat, a plain e-mail address): the
        record as every role reading the table sees it alike (automations.templates.least_context)."""
        readers = [role_actor(label, role) for role in self.ws.config.roles]
        record = least_context(self.table, self.row, readers) if self.table is not None else {}
        return self._variables(record, {k: self._as_seen(v, None) for k, v in self.extra.items()})

    def _variables(self, record: dict[str, str], extra: dict[str, Any]) -> dict[str, Any]:
        now = self.ws.now().astimezone(self.ws.tz)
        return {"record": record,
                "record_id": self.record_id or "", "table": self.table.key if self.table else "",
                "table_name": self.table.tdef.name if self.table else "", "base": self.base,
                "link": self.link, "automation": self.auto.key, "automation_name": self.auto.name,
                "now": now.strftime("%Y-%m-%d %H:%M"), "today": now.date().isoformat(), **extra}

    def _as_seen(self, value: Any, reader: Actor | None) -> Any:
        """A `find` result or loop `item` as `reader` may read it: records they may not read (or
        anyone unknown) left out of a list and empty on their own (like fields they may not read),
        the rest masked as granted; other variables as they are."""
        if isinstance(value, list):
            return [seen for seen in (self._as_seen(v, reader) for v in value) if seen != {}]
        if not (isinstance(value, dict) and "id" in value and "table" in value):
            return value
        if reader is None:
            return {}
        try:
            target = self.ws.base(self.base).table(str(value["table"]))
        except GridbaseError:
            return {}
        access = target.access(reader)
        row = target.fetch_row(str(value["id"]), access, reader) if access.can_read else None
        if row is None:
            return {}
        return {**record_context(target, row, access, reader), "id": value["id"], "table": value["table"]}

    def message(self, title: str, body: str, **more: Any) -> dict[str, Any]:
        return {"title": title[:MAX_TITLE], "body": body[:MAX_BODY], "link": self.link,
                "event": f"automation.{self.auto.key}", **more}

    def render(self, text: Any, person: str | None = None) -> Any:
        """A template (title, message, a value) rendered with this run's variables (as `person` may read the record)."""
        return render(text, self.variables(person))


def builtin_schema(name: str, description: str, example: Any) -> dict[str, Any]:
    """A built-in action's schema: its piece of schemas/base.schema.json (`$defs/action_NAME`) and its words."""
    return {"$ref": f"#/$defs/action_{name}", "title": name, "description": description, "examples": [example]}


def address_of(conf: Channel) -> str | None:
    """The person's contact a configured channel delivers to (None: a group channel, or a type not installed)."""
    cls = channel_types().get(conf.type)
    return cls.address if cls is not None else None


def _text(template: Any, variables: dict[str, Any], limit: int) -> str:
    return str(render(template or "", variables))[:limit]


def notify(ctx: RunContext, index: int, spec: Any) -> dict[str, Any]:
    ws = ctx.ws
    people, _ = resolve(ws, spec.get("to"), ctx.table, ctx.row, people=ctx.people())
    title_t, body_t = spec.get("title") or ctx.auto.name, spec.get("message") or ""
    extra = [c for c in spec.get("channels") or [] if c != "inbox"]
    moment = ws.now()
    groups: dict[str, None] = {c: None for c in extra if c in ws.config.channels and not _personal(ws, c)}
    queued = 0
    for person in people:
        reader = ctx.known().actor(ws, person.key)  # None: unknown, reads no record, sees none of it
        if not _can_read(ctx, reader if reader is not None else person.key):
            continue  # a record the recipient may not see is not sent to them, not even its title
        variables = ctx.variables_as(reader)
        title, body = _text(title_t, variables, MAX_TITLE), _text(body_t, variables, MAX_BODY)
        key = f"{ctx.run_key}:{index}:{person.key}"
        nid, _ = inbox.add(ws.storage.conn, person=person.key, at=moment, title=title, body=body, link=ctx.link,
                           base=ctx.base, table=ctx.table.key if ctx.table else None, record=ctx.record_id, key=key)
        for name in dict.fromkeys([c for c in (*person.channels, *extra) if c != "inbox"]):
            conf = ws.config.channels.get(name)
            if conf is None:
                continue
            if not _personal(ws, name):
                groups[name] = None
                continue
            queued += delivery.queue(ws, channel=name, key=f"{key}:{name}", person=person.key, notification=nid,
                                     message=ctx.message(title, body, recipient_name=person.name,
                                                         recipient_email=person.email, recipient_phone=person.phone,
                                                         recipient_ids=person.accounts.get(name, {})))
    unread: list[str] = []
    names = ", ".join(p.name for p in people)
    for name in groups:  # one message for a whole chat: rendered as the channel's reader may read the record
        as_read = ctx.group_variables(ws.config.channels[name])
        if as_read is None:
            unread.append(name)
            continue
        title, body = _text(title_t, as_read, MAX_TITLE), _text(body_t, as_read, MAX_BODY)
        queued += delivery.queue(ws, channel=name, key=f"{ctx.run_key}:{index}:{name}",
                                 message=ctx.message(title, body, recipient_name=names))
    if unread:
        return {"recipients": [p.key for p in people], "deliveries": queued, "groups_not_reading": unread}
    return {"recipients": [p.key for p in people], "deliveries": queued}


def _personal(ws: Workspace, channel: str) -> bool:
    """Whether `channel` sends one message per person (e-mail, an app) rather than one per action (a group bot)."""
    cls = channel_types().get(ws.config.channels[channel].type)
    return bool(cls is not None and cls.PERSONAL)


def _can_read(ctx: RunContext, person: str | Actor) -> bool:
    """Whether `person` may see the run's record (a run without a record hides nothing)."""
    if ctx.table is None or ctx.record_id is None:
        return True
    if isinstance(person, Actor) and ctx.row_is_current():
        access = ctx.table.access(person)
        if access.read_filter is None:  # no row rule: the record, just read, is theirs to read if the table is
            return access.can_read
    try:
        return bool(ctx.table.readable_by(ctx.record_id, person))
    except Exception:  # an unknown or disabled person reads nothing
        return False


def _values(ctx: RunContext, spec: dict[str, Any]) -> dict[str, Any]:
    variables = ctx.variables()
    return {key: [render(v, variables) for v in value] if isinstance(value, list) else render(value, variables)
            for key, value in spec.items()}  # a list's items may be templates too (`["{{ item.id }}"]`)


def update(ctx: RunContext, index: int, spec: Any) -> dict[str, Any]:
    if ctx.table is None or ctx.record_id is None:
        raise ActionError("update needs a record, and this run has none")
    values = _values(ctx, dict(spec))
    ctx.table.update(ctx.record_id, values, actor=ctx.actor, depth=ctx.depth + 1)
    ctx.refresh()
    return {"updated": sorted(values)}


def create(ctx: RunContext, index: int, spec: Any) -> dict[str, Any]:
    target = ctx.ws.base(ctx.base).table(spec["table"])
    values = _values(ctx, dict(spec.get("fields") or {}))
    if spec.get("link"):
        if ctx.record_id is None:
            raise ActionError("create with link needs a record, and this run has none")
        values[spec["link"]] = [ctx.record_id]
    record = target.create(values, actor=ctx.actor, depth=ctx.depth + 1)
    return {"created": record["id"], "table": target.key}


def webhook(ctx: RunContext, index: int, spec: Any) -> dict[str, Any]:
    options = {"url": spec.get("url", "")}
    if spec.get("secret_env"):
        options["secret_env"] = spec["secret_env"]
    cls = channel_types().get("webhook")
    if cls is None:
        raise ActionError("the webhook channel is not installed")
    problems = cls.config_errors(options)
    if problems:
        raise ActionError("; ".join(problems))
    variables = webhook_variables(ctx, spec)
    if variables is None:
        return {"deliveries": 0, "skipped": "its reader may not read the record"}
    data = {"base": ctx.base, "table": variables["table"], "record_id": ctx.record_id, "automation": ctx.auto.key,
            "trigger": ctx.trigger, "run": ctx.run_key, "fields": variables["record"],
            "at": utcnow_text(ctx.ws.now())}
    key = f"{ctx.run_key}:{index}:webhook"
    queued = delivery.queue(ctx.ws, channel=f"webhook:{ctx.auto.key}", key=key,
                            spec={"type": "webhook", "options": options},
                            message=ctx.message(ctx.auto.name, "", data=data))
    return {"deliveries": int(queued)}


def webhook_variables(ctx: RunContext, spec: Any) -> dict[str, Any] | None:
    """The record a `webhook:` action posts, as its reader may read it (engine.groupreader's
    words): `as_person:` that person, `as_role:` someone holding only that role, neither the least
    reader (what every role reading the table sees alike). The URL is outside the server, where
    nobody's permissions hold; None when the reader may not read the record (nothing is posted)."""
    label = f"webhook:{ctx.auto.key}"
    if spec.get("as_person") is None and spec.get("as_role") is None:
        return ctx.least_variables(label)
    try:
        reader = (ctx.ws.actor(str(spec["as_person"])) if spec.get("as_person") is not None
                  else role_actor(label, str(spec["as_role"])))
    except GridbaseError:
        return None
    return ctx.variables_as(reader) if _can_read(ctx, reader) else None


def email(ctx: RunContext, index: int, spec: Any) -> dict[str, Any]:
    ws = ctx.ws
    channel = next((c for c in ws.config.channels.values() if address_of(c) == "email"), None)
    if channel is None:
        raise ActionError("no e-mail channel in workspace.yaml (add one under channels: with type: email)")
    people, addresses = resolve(ws, spec.get("to"), ctx.table, ctx.row, people=ctx.people())
    subject_t, body_t = spec.get("subject") or ctx.auto.name, spec.get("body") or ""
    targets: list[tuple[str, str, str | None, dict[str, Any]]] = []
    skipped = [p.key for p in people if not p.email]
    for person in people:
        if person.email:
            targets.append((person.key, person.name, person.email, ctx.variables(person.key)))
    shared = ctx.least_variables("email")  # an address of nobody known reads what every role reads alike
    targets += [(address, "", address, shared) for address in addresses]
    queued = 0
    for who, name, address, variables in targets:
        queued += delivery.queue(
            ws, channel=channel.key, key=f"{ctx.run_key}:{index}:email:{who}",
            person=who if "@" not in who else None,
            message=ctx.message(_text(subject_t, variables, MAX_TITLE), _text(body_t, variables, MAX_BODY),
                                recipient_name=name, recipient_email=address))
    return {"deliveries": queued, "skipped_no_email": skipped}


def check_recipients(checks: Checks, path: Path, spec: Any, table: TableDef | None, what: str) -> None:
    """`to:` (one recipient or a list) and `channels:` of a message action."""
    if not isinstance(spec, dict):
        return
    to = spec.get("to", [])
    for i, item in enumerate([to] if isinstance(to, str) else to if isinstance(to, list) else []):
        checks.recipient(path + (("to",) if isinstance(to, str) else ("to", i)), str(item), table, what)
    for i, name in enumerate(spec.get("channels") or []):
        if name != "inbox" and name not in checks.config.channels:
            checks.err(path + ("channels", i), f"unknown channel '{name}' in {what}",
                       did_you_mean(name, [*checks.config.channels, "inbox"]) or "channels are declared in workspace.yaml")


def check_values(checks: Checks, path: Path, table: TableDef, values: Any, what: str) -> None:
    """Field keys and values an action writes: each a field of `table`; a plain value of a field with options, an option."""
    for fkey, value in (values.items() if isinstance(values, dict) else []):
        fdef = checks.field_ref(path + (fkey,), table, fkey, what, key=True)
        if fdef is not None and not (isinstance(value, str) and ("{{" in value or "{%" in value)):
            checks.option_value(path + (fkey,), table, fdef.key, value, what)


class Notify(Action):
    """Send a notification to each recipient's inbox and channels."""

    type = "notify"
    schema: ClassVar[dict[str, Any]] = builtin_schema(
        "notify", "Send a notification. / 发送通知", {"to": "{owner}", "message": "请处理"})

    def check(self, checks: Checks, path: Path, spec: Any, table: TableDef | None, what: str) -> None:
        check_recipients(checks, path, spec, table, what)

    def run(self, ctx: Any, index: int, spec: Any) -> dict[str, Any]:
        return notify(ctx, index, spec)


class Update(Action):
    """Set fields of the triggering record."""

    type = "update"
    schema: ClassVar[dict[str, Any]] = builtin_schema(
        "update", "Update the triggering record. / 更新记录", {"status": "处理中"})

    def check(self, checks: Checks, path: Path, spec: Any, table: TableDef | None, what: str) -> None:
        if table is not None:
            check_values(checks, path, table, spec, what)

    def run(self, ctx: Any, index: int, spec: Any) -> dict[str, Any]:
        return update(ctx, index, spec)

    def writes(self, spec: Any, base: BaseDef, table: TableDef | None) -> list[Write]:
        return [Write(table, dict(spec), "edit")] if table is not None and isinstance(spec, dict) else []


class Create(Action):
    """Create a record in a table of the same base, optionally linked back."""

    type = "create"
    schema: ClassVar[dict[str, Any]] = builtin_schema(
        "create", "Create a record. / 新建记录", {"table": "followups", "fields": {"title": "回访"}})

    def check(self, checks: Checks, path: Path, spec: Any, table: TableDef | None, what: str) -> None:
        if not isinstance(spec, dict):
            return
        target = checks.table_ref(path + ("table",), spec.get("table"), what)
        if target is None:
            return
        check_values(checks, path + ("fields",), target, spec.get("fields") or {}, what)
        if spec.get("link"):
            fdef = checks.field_ref(path + ("link",), target, spec["link"], what)
            if fdef is not None and (not fdef.options.get("table") or (table and fdef.options.get("table") != table.key)):
                checks.err(path + ("link",), f"field '{fdef.key}' of {what} must be a link to the triggering table")

    def run(self, ctx: Any, index: int, spec: Any) -> dict[str, Any]:
        return create(ctx, index, spec)

    def writes(self, spec: Any, base: BaseDef, table: TableDef | None) -> list[Write]:
        target = base.tables.get(str(spec.get("table"))) if isinstance(spec, dict) else None
        values = spec.get("fields") or {} if isinstance(spec, dict) else None
        return [Write(target, values, "create", ("fields",))] if target is not None and isinstance(values, dict) else []


class Webhook(Action):
    """Queue a signed POST of the event to a URL."""

    type = "webhook"
    schema: ClassVar[dict[str, Any]] = builtin_schema(
        "webhook", "Call a webhook. / 调用 Webhook", {"url": "https://hooks.example.org/gridbase"})

    def check(self, checks: Checks, path: Path, spec: Any, table: TableDef | None, what: str) -> None:
        if not isinstance(spec, dict):
            return
        if spec.get("as_role") is not None and spec.get("as_person") is not None:
            checks.err(path + ("as_person",), f"give as_role or as_person, not both, in {what}",
                       "the webhook's record is read as one reader")
        elif spec.get("as_role") is not None and spec["as_role"] not in checks.config.roles:
            checks.err(path + ("as_role",), f"unknown role '{spec['as_role']}' in {what}",
                       did_you_mean(str(spec["as_role"]), checks.config.roles))
        elif spec.get("as_person") is not None and spec["as_person"] not in checks.config.people:
            checks.err(path + ("as_person",), f"unknown person '{spec['as_person']}' in {what}",
                       did_you_mean(str(spec["as_person"]), checks.config.people))

    def run(self, ctx: Any, index: int, spec: Any) -> dict[str, Any]:
        return webhook(ctx, index, spec)


class Email(Action):
    """Queue an e-mail to each recipient."""

    type = "email"
    schema: ClassVar[dict[str, Any]] = builtin_schema(
        "email", "Send an email. / 发送邮件", {"to": "{owner}", "subject": "待处理"})

    def check(self, checks: Checks, path: Path, spec: Any, table: TableDef | None, what: str) -> None:
        check_recipients(checks, path, spec, table, what)

    def run(self, ctx: Any, index: int, spec: Any) -> dict[str, Any]:
        return email(ctx, index, spec)


BUILTIN_ACTIONS = (Notify, Update, Create, Webhook, Email)
