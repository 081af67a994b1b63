"""Typed configuration: what a workspace declares, past the YAML boundary.

The loader turns checked YAML into these dataclasses; everything else in Gridbase works with
them, never with raw dicts. Words: a *workspace* holds people, departments, roles and
*bases*; a base holds *tables*; a table holds *fields*, *views* and *forms*; a base also
holds role *grants*, *dashboards* and *automations*.
"""

from __future__ import annotations

import calendar
import dataclasses
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

Json = dict[str, Any]


@dataclass
class Department:
    """A node of the organisation tree (engine.org): a campus, a department or a team."""

    key: str
    name: str
    head: str | None = None  # the first of `heads`
    parent: str | None = None
    kind: str = "department"  # campus, department or team
    heads: list[str] = field(default_factory=list)
    where: tuple[Any, ...] = ()  # its YAML path in workspace.yaml, for errors at its line


@dataclass
class Membership:
    """A person's place in the tree as workspace.yaml writes it (engine.org checks it)."""

    node: str
    primary: bool = False
    where: tuple[Any, ...] = ()


@dataclass
class Role:
    key: str
    name: str
    description: str = ""
    admin: bool = False
    import_max_rows: int | None = None  # `import: {max_rows: N}`; None: the default (engine.imports)


@dataclass
class Person:
    key: str
    name: str
    department: str | None = None  # the primary node of the organisation tree
    roles: list[str] = field(default_factory=list)
    email: str | None = None
    phone: str | None = None
    channels: list[str] = field(default_factory=list)
    password: str | None = None
    locale: str | None = None
    # Channel key → the person's ids in that channel's service, e.g. {"feishu_app": {"open_id": "ou_…"}}.
    # Keyed by channel (not type): a Feishu open_id belongs to one app.
    accounts: dict[str, dict[str, str]] = field(default_factory=dict)
    # Every node the person belongs to, the primary first (engine.org); `memberships` as written.
    departments: list[str] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)


@dataclass
class Channel:
    key: str
    type: str
    options: Json = field(default_factory=dict)
    as_role: str | None = None  # a group channel's reader: what this role may read (engine.groupreader)
    as_person: str | None = None  # ... or what this person may read; neither: what every role may read


@dataclass
class FieldDef:
    key: str
    type: str
    name: str
    options: Json = field(default_factory=dict)
    description: str = ""
    required: bool = False
    default: Any = None
    index: bool = False
    renamed_from: str | None = None
    # No two live records hold the same value (a UNIQUE index; engine.unique words the error).
    unique: bool = False
    # Filled by the loader for link fields: the table on the other side and whether this
    # side was declared or created as the inverse of a declared link.
    inverse_of: str | None = None


@dataclass
class ViewDef:
    key: str
    type: str
    name: str
    fields: list[str] | None = None
    filter: Json | None = None
    sort: list[str] = field(default_factory=list)
    group_by: str | None = None
    date_field: str | None = None
    cover: str | None = None
    roles: list[str] | None = None
    options: dict[str, Any] = field(default_factory=dict)  # a plugin view type's own options


@dataclass
class FormField:
    field: str
    label: str | None = None
    help: str = ""
    required: bool | None = None
    default: Any = None
    # `{field: key, is: value}` / `{field: key, in: [values]}` / `{field: key, not_empty: true}`:
    # the question is asked only when that other answer matches (else its answer is dropped).
    show_if: Json | None = None
    link_filter: Any = None  # a link question: the records it may pick (a filter on the linked table)

    def shown(self, answers: dict[str, Any]) -> bool:
        """Whether this question is asked, given the other answers (option names, text, lists)."""
        cond = self.show_if
        if not cond:
            return True
        value = answers.get(cond.get("field", ""))
        given = [str(v) for v in value] if isinstance(value, list) else [] if value in (None, "") else [str(value)]
        if cond.get("not_empty"):
            return bool(given)
        wanted = [str(v) for v in cond["in"]] if "in" in cond else [str(cond.get("is"))]
        return any(g in wanted for g in given)


@dataclass
class FormDef:
    key: str
    table: str
    name: str
    description: str = ""
    public: bool = False
    fields: list[FormField] = field(default_factory=list)
    prefill: Json = field(default_factory=dict)
    submitter: str | None = None
    thanks: str = ""
    link_prefill: list[str] = field(default_factory=list)  # hidden fields a link's ?prefill_… may set
    one_per: str | None = None  # "person", "person_day" or "person_week": one submission each
    status: str | None = None  # the field "my submissions" (/f/mine) shows as a submission's progress
    editable_for: str | None = None  # "24h", "30m", "7d": a submitter may change their answers that long

    def asked(self, answers: dict[str, Any]) -> set[str]:
        """The keys of the questions asked given `answers`, in order: a question whose condition
        names a question not asked is not asked either."""
        out: set[str] = set()
        for ff in self.fields:
            cond = ff.show_if
            if cond and cond.get("field") in {f.field for f in self.fields} and cond.get("field") not in out:
                continue
            if ff.shown(answers):
                out.add(ff.field)
        return out


@dataclass
class TableDef:
    key: str
    name: str
    fields: dict[str, FieldDef]
    primary: str
    description: str = ""
    sensitive: bool = False
    views: dict[str, ViewDef] = field(default_factory=dict)
    forms: dict[str, FormDef] = field(default_factory=dict)
    # Computed fields in the order they must be computed (set by engine.schema).
    computed_order: list[str] = field(default_factory=list)


@dataclass
class FieldGrant:
    access: str  # none | read | edit | create
    mask: str | None = None
    options: tuple[str, ...] | None = None  # the only options this role may set (None: any)


@dataclass
class TableGrant:
    access: str  # none | read | edit | manage
    create: bool
    delete: bool
    rows: Json | None = None
    edit_rows: Json | None = None
    fields: dict[str, FieldGrant] = field(default_factory=dict)
    other_fields: str = "read"


@dataclass
class Widget:
    type: str
    title: str
    table: str
    aggregate: str = "count"
    field: str | None = None
    filter: Json | None = None
    where: Json | None = None
    group_by: str | None = None
    bucket: str | None = None
    options: Json = dataclasses.field(default_factory=dict)  # the keys its widget type adds (engine.widgets.WidgetType.schema)


@dataclass
class DashFilter:
    """A filter a dashboard's viewer picks (engine.dashfilters): `kind` is date, select, person or department;
    `fields` maps a table key to the field it narrows ("*": a field key shared by the tables)."""

    key: str
    kind: str
    name: str
    fields: dict[str, str]
    default: str | None = None


@dataclass
class DashboardDef:
    key: str
    name: str
    widgets: list[Widget]
    roles: list[str] | None = None
    filters: list[DashFilter] = field(default_factory=list)


@dataclass
class AutomationDef:
    key: str
    name: str
    trigger: str  # the `when:` key of a registered trigger (engine.plugins.triggers): created, schedule, ...
    when: Json
    condition: Json | None
    actions: list[tuple[str, Any]]
    enabled: bool = True
    table: str | None = None  # the table it runs on, as its trigger reads `when:` (Trigger.table)


@dataclass
class BaseDef:
    key: str
    name: str
    file: str
    tables: dict[str, TableDef]
    description: str = ""
    grants: dict[str, dict[str, TableGrant]] = field(default_factory=dict)
    dashboards: dict[str, DashboardDef] = field(default_factory=dict)
    automations: dict[str, AutomationDef] = field(default_factory=dict)
    hooks: dict[str, Any] = field(default_factory=dict)  # name -> engine.hooks.HookDef
    # mailboxes (issue 21): read by automations.mailpoll
    mailboxes: dict[str, Any] = field(default_factory=dict)  # name -> engine.mailintake.MailboxDef
    # HL7 v2 intake (engine.hl7intake): mapping name -> engine.hl7intake.Hl7Mapping
    hl7: dict[str, Any] = field(default_factory=dict)
    # FHIR R4 intake (engine.fhir): mapping name -> engine.fhir.FhirMapping
    fhir: dict[str, Any] = field(default_factory=dict)

    def linked_through(self, table: TableDef, fdef: FieldDef) -> tuple[FieldDef, TableDef] | None:
        """(its link field, the linked table) of lookup or rollup `fdef` of `table`, or None
        when either is not declared."""
        link = table.fields.get(str(fdef.options.get("link", "")))
        target = self.tables.get(str(link.options.get("table", ""))) if link else None
        return (link, target) if link is not None and target is not None else None


PERIOD = re.compile(r"^([1-9][0-9]{0,3})([dwmy])$")
PERIOD_UNITS = {"d": "days", "w": "weeks", "m": "months", "y": "years"}


@dataclass(frozen=True)
class Period:
    """How long a log keeps its entries: `400d`, `26w`, `18m`, `6y` (days, weeks, calendar
    months, calendar years)."""

    count: int
    unit: str  # d | w | m | y

    @classmethod
    def parse(cls, text: str) -> Period:
        match = PERIOD.match(str(text).strip())
        if match is None:
            raise ValueError(f"'{text}' is not a period; write a number and d, w, m or y, e.g. 6y or 180d")
        return cls(int(match.group(1)), match.group(2))

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"

    def before(self, moment: datetime) -> datetime:
        """`moment` minus this period (a month or year back from the 31st or 29 February
        lands on the month's last day)."""
        if self.unit in ("d", "w"):
            return moment - timedelta(days=self.count * (7 if self.unit == "w" else 1))
        months = self.count * (12 if self.unit == "y" else 1)
        total = moment.year * 12 + moment.month - 1 - months
        year, month = divmod(total, 12)
        if year < 1:  # 9999y: before anything a log holds
            return moment.replace(year=1, month=1, day=1)
        day = min(moment.day, calendar.monthrange(year, month + 1)[1])
        return moment.replace(year=year, month=month + 1, day=day)

    def days(self) -> int:
        """Roughly how many days (for comparing periods)."""
        return self.count * {"d": 1, "w": 7, "m": 30, "y": 365}[self.unit]


@dataclass
class Retention:
    """`retention:` of workspace.yaml: how long each log keeps entries (None: for ever) and
    the folder (relative to the workspace folder, or absolute) its archives go to."""

    audit: Period | None = None
    access_log: Period | None = None
    archive_dir: str = "data/archive"
    hl7_messages: Period | None = None  # HL7 v2 messages taken from the HIS (engine.hl7intake)
    mail_failed: Period | None = None  # mails that could not be taken (engine.mailintake's dead letters)


# -- sign-in providers (workspace.yaml `sign_in: providers:`) ---------------------------------
@dataclass
class SignInProvider:
    """One outside identity provider people may sign in with (engine.sso runs its flow).

    `type` is a protocol of engine.sso (`feishu`, `oidc`); `client_id` is the Feishu app_id or
    the OIDC client id and `secret_env` the environment variable holding its secret; `match`
    lists the identity claims tried, in order, to find the person (email, mobile, union_id,
    open_id); `channel` names the channel whose people `accounts:` hold this app's ids;
    `tenant_key` (Feishu) refuses people of any other tenant."""

    key: str
    type: str
    client_id: str
    secret_env: str
    name: str = ""
    issuer: str = ""
    scope: str = ""
    match: list[str] = field(default_factory=list)
    channel: str | None = None
    tenant_key: str = ""  # Feishu: only people of this tenant (企业) may sign in
    base_url: str = ""
    accounts_url: str = ""


@dataclass
class WorkspaceConfig:
    key: str
    name: str
    root: str
    timezone: str = "Asia/Shanghai"
    locale: str = "zh-CN"
    departments: dict[str, Department] = field(default_factory=dict)  # the organisation tree (engine.org)
    department_clashes: list[tuple[tuple[Any, ...], str]] = field(default_factory=list)  # (YAML path, key) declared twice
    roles: dict[str, Role] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    allowed_hosts: list[str] = field(default_factory=list)
    attachments: Json = field(default_factory=dict)
    retention: Retention = field(default_factory=Retention)
    sign_in: Json = field(default_factory=dict)
    sign_in_providers: dict[str, SignInProvider] = field(default_factory=dict)
    hl7_allow_from: list[str] | None = None  # who may connect to the MLLP listener (engine.allowlist); None: loopback
    chart_refresh: float = 10.0  # seconds a dashboard chart's drawing may be shown for newer figures (views chart_refresh)
    bases: dict[str, BaseDef] = field(default_factory=dict)
    warnings: list[Any] = field(default_factory=list)  # engine.errors.ConfigIssue, from the checks
    url_path: str = ""  # where the server serves it: "" alone, "/w/NAME" as a workspace of a group (engine.group)
