"""Loading a workspace folder: YAML → JSON Schema check → typed config → semantic checks.

`load_workspace(DIR)` returns a `WorkspaceConfig` or raises `ConfigError` listing every
problem found, each as `FILE:LINE:COL: message`. Nothing here touches the database.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.exceptions import best_match

from engine import (
    allowlist,
    fhir,
    groupreader,
    hl7intake,
    hooks,
    limits,
    mailintake,
    org,
    yamlschemas,
)
from engine.checks import check_workspace
from engine.entrychecks import check_entries
from engine.errors import ConfigError, ConfigIssue
from engine.hints import did_you_mean
from engine.model import (
    AutomationDef,
    BaseDef,
    Channel,
    DashboardDef,
    DashFilter,
    Department,
    FieldDef,
    FieldGrant,
    FormDef,
    FormField,
    Period,
    Person,
    Retention,
    Role,
    SignInProvider,
    TableDef,
    TableGrant,
    ViewDef,
    Widget,
    WorkspaceConfig,
)
from engine.plugins import triggers
from engine.schema import field_instance
from engine.sources import DOCS, Anchor, Source, plain_doc
from engine.yamlsource import Path as YPath
from engine.yamlsource import YamlProblem, load_yaml

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
# The command line replaces this with a function naming the reference section of a key
# (gridbase.docgen.anchor_for); the engine itself cannot import the front door.
DOC_ANCHOR: Anchor = plain_doc
# A widget's own keys; any other is one its widget type adds (Widget.options).
WIDGET_KEYS = frozenset(("type", "title", "table", "aggregate", "field", "filter", "where", "group_by", "bucket"))


@lru_cache(maxsize=4)
def _schema_file(name: str) -> dict[str, Any]:
    path = SCHEMA_DIR / f"{name}.schema.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def schema(name: str) -> dict[str, Any]:
    """schemas/NAME.schema.json with the registered triggers, actions and widgets in place (engine.yamlschemas)."""
    return yamlschemas.filled(name, _schema_file(name))


def read_source(path: Path, root: Path, issues: list[ConfigIssue]) -> Source | None:
    rel = os.path.relpath(path, root.parent) if root.parent != path.parent else path.name
    rel = str(Path(root.name) / path.relative_to(root))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        issues.append(ConfigIssue(rel, 1, 1, f"file is not UTF-8 text (byte {exc.start})", "save it as UTF-8"))
        return None
    except OSError as exc:
        issues.append(ConfigIssue(rel, 1, 1, f"cannot read file: {exc.strerror}"))
        return None
    try:
        data, pos = load_yaml(text)
    except YamlProblem as exc:
        issues.append(ConfigIssue(rel, exc.line, exc.col, exc.message))
        return None
    if data is None:
        issues.append(ConfigIssue(rel, 1, 1, "file is empty", "it must be a mapping of keys, see " + DOCS))
        return None
    if not isinstance(data, dict):
        issues.append(ConfigIssue(rel, 1, 1, f"file must be a mapping of keys, not a {type(data).__name__}"))
        return None
    return Source(rel, data, pos, issues, DOC_ANCHOR)


def _allowed_keys(node: dict[str, Any], instance: Any = None, what: str = "properties") -> list[str]:
    """The keys `node` allows; given the `instance`, only those its `type:` allows (a channel's, a widget's).
    With `what` "required": the keys it requires."""
    keys = list(node.get(what, []))
    kind = instance.get("type") if isinstance(instance, dict) else None
    for part in node.get("allOf", []):
        cond = part.get("if", {}).get("properties", {}).get("type", {})
        if kind is not None and cond and kind != cond.get("const") and kind not in cond.get("enum", []):
            continue
        keys += list(part.get("then", {}).get(what, []))
    return keys


def _misspelt(err: SchemaError) -> bool:
    """A missing required key that the object has under a near, unknown name (`sender_name` for `sender`):
    the unknown key's error says "did you mean", so this one is not a second error for one mistake."""
    missing = re.match(r"'([^']+)' is a required property", err.message)
    if missing is None or not isinstance(err.instance, dict) or not isinstance(err.schema, dict):
        return False
    known = set(err.schema.get("properties", {})) | {"type"}
    return any(did_you_mean(k, [missing.group(1)]) for k in err.instance if k not in known)


def schema_check(src: Source, name: str) -> bool:
    if not (SCHEMA_DIR / f"{name}.schema.json").exists():
        return True
    validator = jsonschema.Draft202012Validator(schema(name))
    errors = sorted(validator.iter_errors(src.data), key=lambda e: list(map(str, e.absolute_path)))
    # An unknown widget type is the one error of its widget: the keys its type would allow are not guessed at.
    unknown = {tuple(e.absolute_path)[:-1] for e in errors if e.validator == "enum" and yamlschemas.known(e.schema)}
    errors = [e for e in errors if not (tuple(e.absolute_path) in unknown
                                        and e.validator in ("additionalProperties", "unevaluatedProperties"))]
    before = len(src.issues)
    for err in errors:
        report_schema_error(src, err)
    if errors and len(src.issues) == before:  # every one judged a consequence of another: never fail silently
        err = errors[0]
        src.error(tuple(err.absolute_path), f"{'/'.join(map(str, err.absolute_path)) or 'top level'}: {err.message}", doc=DOCS)
    return not errors


def _branch_keys(branch: Any) -> list[str]:
    """The keys one `oneOf` branch (a trigger's schema, maybe a `$ref` into the base schema) allows."""
    if isinstance(branch, dict) and isinstance(branch.get("$ref"), str) and branch["$ref"].startswith("#/$defs/"):
        branch = schema("base").get("$defs", {}).get(branch["$ref"].removeprefix("#/$defs/"), {})
    return _allowed_keys(branch) if isinstance(branch, dict) else []


def _meant_entry(src: Source, err: SchemaError) -> bool:
    """A `oneOf` of registered entries (a trigger) that fails: judge it as the entry its keys name.

    `{date: t, field: due, offset: -7days}` is a date trigger with a bad offset, not "not valid under
    any of the given schemas"; `{updated: t, update: x}` an updated trigger with an unknown key."""
    entry = yamlschemas.known(err.schema)
    if entry is None or err.validator != "oneOf" or not isinstance(err.instance, dict):
        return False
    kind, names = entry
    path = tuple(err.absolute_path)
    where = "/".join(str(p) for p in path) or "top level"
    named = [k for k in err.instance if k in names]
    if len(named) > 1:
        src.error(path + (named[1],), f"{where} names {len(named)} {kind}s ({', '.join(named)}); it takes exactly one",
                  f"make one automation per {kind}", key=True, doc=DOCS)
        return True
    if len(named) != 1:
        return False
    name = named[0]
    index = names.index(name)
    mine = [e for e in err.context or [] if e.relative_schema_path and e.relative_schema_path[0] == index]
    allowed = _branch_keys(err.validator_value[index]) if isinstance(err.validator_value, list) else []
    for sub in mine:
        spath = tuple(sub.absolute_path)
        if sub.validator in ("additionalProperties", "unevaluatedProperties") and spath == path:
            for bad in (k for k in err.instance if k not in allowed):
                hint = "; ".join(x for x in (did_you_mean(bad, allowed), f"the {name} {kind} takes: {', '.join(allowed)}") if x)
                src.error(path + (bad,), f"unknown key '{bad}' of the {name} {kind} in {where}", hint, key=True, doc=DOCS,
                          about=path + (name,))
        else:
            report_schema_error(src, sub, f" (the {name} {kind})")
    return bool(mine)


def _unknown_entry(src: Source, err: SchemaError) -> bool:
    """Report a name that no registered trigger, action or widget type has, with the known names."""
    entry = yamlschemas.known(err.schema)
    if entry is None:
        return False
    kind, names = entry
    path = tuple(err.absolute_path)
    where = "/".join(str(p) for p in path) or "top level"
    if err.validator == "enum":
        bad = [str(err.instance)]
    elif isinstance(err.instance, dict) and not any(k in names for k in err.instance):
        branches = err.validator_value if err.validator == "oneOf" and isinstance(err.validator_value, list) else []
        some = {k for b in branches for k in _branch_keys(b)}  # a key some entry takes is not the misspelt name
        bad = [str(k) for k in err.instance if k not in some] or [str(k) for k in err.instance]
    else:
        return False
    for word in bad:
        hint = "; ".join(x for x in (did_you_mean(word, names), f"known {kind}s: {', '.join(names)}") if x)
        if err.validator == "enum":
            src.error(path, f"unknown {kind} '{word}' in {where}", hint, doc=DOCS)
        else:
            src.error(path + (word,), f"unknown {kind} '{word}' in {where}", hint, key=True, doc=DOCS)
    if not bad:
        src.error(path, f"{where}: no {kind} given", f"known {kind}s: {', '.join(names)}", doc=DOCS)
    return True


def report_schema_error(src: Source, err: SchemaError, about: str = "") -> None:
    """Report one JSON Schema error as a plain sentence at its key (`about`: what the path is, e.g. " (the date trigger)")."""
    if err.validator == "oneOf" and _meant_entry(src, err):
        return
    if err.validator in ("enum", "oneOf", "additionalProperties", "minProperties") and _unknown_entry(src, err):
        return
    if err.context:
        unknown_keys = [e for e in err.context if e.validator in ("additionalProperties", "unevaluatedProperties")]
        deepest = best_match(err.context)
        if unknown_keys:
            err = max(unknown_keys, key=lambda e: len(e.absolute_path))
        elif deepest is not None and len(deepest.absolute_path) > len(err.absolute_path):
            err = deepest
    path = tuple(err.absolute_path)
    where = ("/".join(str(p) for p in path) or "top level") + about
    match = re.search(r"\(((?:'[^']+', )*'[^']+') (?:was|were) unexpected\)", err.message)
    if err.validator in ("additionalProperties", "unevaluatedProperties") and match:
        allowed = _allowed_keys(err.schema, err.instance) if isinstance(err.schema, dict) else []
        missing = [k for k in _allowed_keys(err.schema, err.instance, "required") if k not in err.instance] \
            if isinstance(err.schema, dict) and isinstance(err.instance, dict) else []
        for bad in re.findall(r"'([^']+)'", match.group(1)):
            if bad in allowed:
                continue  # "unevaluated" only because a sibling failed: that failure is reported on its own
            hint = did_you_mean(bad, missing) or did_you_mean(bad, allowed) or (f"it takes: {', '.join(allowed)}" if allowed and "filter" not in path else "")
            noun = "operator" if "filter" in path else "key"
            src.error(path + (bad,), f"unknown {noun} '{bad}' in {where}", hint, key=True, doc=DOCS)
        return
    if err.validator == "required":
        if _misspelt(err):
            return
        src.error(path, f"{where}: {err.message}", doc=DOCS)
        return
    if err.validator == "pattern":
        examples = err.schema.get("examples", []) if isinstance(err.schema, dict) else []
        hint = f"for example: {', '.join(map(str, examples[:3]))}" if examples else ""
        src.error(path, f"{where}: '{err.instance}' is not in the expected form", hint, doc=DOCS)
        return
    if err.validator == "propertyNames":
        src.error(path, f"{where}: invalid key ({err.message})", key=True, doc=DOCS)
        return
    if err.validator == "const" and isinstance(err.schema, dict) and err.schema.get("description"):
        # A value the schema allows only one of says why in its description (English before " / ").
        src.error(path, f"{where}: {str(err.schema['description']).split(' / ')[0].rstrip('.')}", doc=DOCS)
        return
    if err.validator == "enum":
        hint = did_you_mean(err.instance, err.validator_value)
        src.error(path, f"{where}: '{err.instance}' is not one of {', '.join(map(str, err.validator_value))}", hint, doc=DOCS)
        return
    src.error(path, f"{where}: {err.message}", doc=DOCS)


def load_workspace(root: str | os.PathLike[str]) -> WorkspaceConfig:
    """Load and check a workspace folder; raise ConfigError with every issue found."""
    root_path = Path(root).resolve()
    issues: list[ConfigIssue] = []
    ws_file = root_path / "workspace.yaml"
    if not root_path.is_dir():
        raise ConfigError([ConfigIssue(str(root), 1, 1, "no such workspace folder")])
    if not ws_file.exists():
        raise ConfigError([ConfigIssue(str(Path(root_path.name) / "workspace.yaml"), 1, 1,
                                       "workspace.yaml is missing", "run `gridbase init DIR` to make one")])
    src = read_source(ws_file, root_path, issues)
    config = WorkspaceConfig(key=root_path.name, name=root_path.name, root=str(root_path))
    ws_src = None
    if src is not None and schema_check(src, "workspace"):
        ws_src = src
        config = build_workspace(src.data, root_path)
        check_retention(config, src)
        allowlist.check(config, src)
        groupreader.check(config, src)
    elif src is not None:  # reported; its names still count, so the bases are not blamed for its mistake
        config = salvage_workspace(src.data, root_path)
    sources: list[Source] = []
    base_dir = root_path / "bases"
    files = sorted(base_dir.glob("*.yaml")) + sorted(base_dir.glob("*.yml")) if base_dir.is_dir() else []
    for path in files:
        bsrc = read_source(path, root_path, issues)
        if bsrc is not None and schema_check(bsrc, "base"):
            sources.append(bsrc)
    check_workspace(config, ws_src, [(src, build_base(src)) for src in sources])
    check_filter_limits(config, sources)
    check_entries(config, sources)
    hooks.check(config, sources)
    mailintake.check(config, sources)  # mailboxes (issue 21)
    hl7intake.check(config, sources)  # HL7 v2 intake mappings (hl7:)
    fhir.check(config, sources)  # FHIR R4 intake mappings (fhir:)
    if any(not i.warning for i in issues):
        raise ConfigError(issues)
    config.warnings = issues
    return config


def build_workspace(data: dict[str, Any], root: Path) -> WorkspaceConfig:
    config = WorkspaceConfig(
        key=data.get("workspace", root.name), name=data.get("name", root.name), root=str(root),
        timezone=data.get("timezone", "Asia/Shanghai"), locale=data.get("locale", "zh-CN"),
        allowed_hosts=list(data.get("allowed_hosts", [])), attachments=dict(data.get("attachments", {})),
        sign_in=dict(data.get("sign_in") or {}), chart_refresh=float(data.get("chart_refresh", 10.0)),
        hl7_allow_from=None if (data.get("hl7_listener") or {}).get("allow_from") is None
        else [str(a) for a in data["hl7_listener"]["allow_from"]])
    for key, node, parent, where in org.flatten(data.get("departments") or {}):
        if key in config.departments:
            config.department_clashes.append((where, key))
        else:
            config.departments[key] = org.department(key, node, parent, where)
    for key, r in (data.get("roles") or {}).items():
        config.roles[key] = Role(key, r.get("name", key), r.get("description", ""), bool(r.get("admin", False)),
                                 (r.get("import") or {}).get("max_rows"))
    for key, p in (data.get("people") or {}).items():
        found = org.memberships(p, ("people", key))
        primary, nodes = org.placed(found)
        config.people[key] = Person(key, p.get("name", key), primary, list(p.get("roles", [])),
                                    p.get("email"), None if p.get("phone") is None else str(p.get("phone")),
                                    list(p.get("channels", [])), p.get("password"), p.get("locale"),
                                    {str(c): {str(k): str(v) for k, v in (ids or {}).items()}
                                     for c, ids in (p.get("accounts") or {}).items()}, nodes, found)
    for key, c in (data.get("channels") or {}).items():
        options = {k: v for k, v in c.items() if k not in ("type", "as_role", "as_person")}
        config.channels[key] = Channel(key, c["type"], options, as_role=c.get("as_role"), as_person=c.get("as_person"))
    # -- sign-in providers --
    for key, sp in ((data.get("sign_in") or {}).get("providers") or {}).items():
        config.sign_in_providers[str(key)] = SignInProvider(
            str(key), str(sp.get("type", "")), str(sp.get("app_id") or sp.get("client_id") or ""),
            str(sp.get("app_secret_env") or sp.get("client_secret_env") or ""), name=str(sp.get("name") or ""),
            issuer=str(sp.get("issuer") or "").rstrip("/"), scope=str(sp.get("scope") or ""),
            match=[str(m) for m in (sp.get("match") if isinstance(sp.get("match"), list) else [sp.get("match")] if sp.get("match") else [])],
            channel=sp.get("channel"), base_url=str(sp.get("base_url") or "").rstrip("/"),
            accounts_url=str(sp.get("accounts_url") or "").rstrip("/"), tenant_key=str(sp.get("tenant_key") or ""))
    kept = data.get("retention") or {}
    config.retention = Retention(
        audit=Period.parse(kept["audit"]) if kept.get("audit") else None,
        access_log=Period.parse(kept["access_log"]) if kept.get("access_log") else None,
        archive_dir=str(kept.get("archive_dir") or Retention.archive_dir),
        hl7_messages=Period.parse(kept["hl7_messages"]) if kept.get("hl7_messages") else None,
        mail_failed=Period.parse(kept["mail_failed"]) if kept.get("mail_failed") else None)
    return config


def salvage_workspace(data: dict[str, Any], root: Path) -> WorkspaceConfig:
    """The workspace of a workspace.yaml that failed its schema check (each failure reported already).

    Built as far as it can be, or else its departments, roles, people and channels by key alone:
    a base naming `role:handler` is not blamed because a channel of workspace.yaml is wrong (one
    mistake, one error)."""
    try:
        return build_workspace(data, root)
    except (AttributeError, KeyError, TypeError, ValueError):
        pass
    config = WorkspaceConfig(key=root.name, name=root.name, root=str(root))

    def keys(section: str) -> list[str]:
        value = data.get(section)
        return [str(k) for k in value] if isinstance(value, dict) else []

    config.departments = {key: Department(key, key) for key, *_ in org.flatten(data.get("departments"))}
    config.roles = {k: Role(k, k) for k in keys("roles")}
    config.people = {k: Person(k, k) for k in keys("people")}
    config.channels = {k: Channel(k, "") for k in keys("channels")}
    return config


def check_filter_limits(config: WorkspaceConfig, sources: list[Source]) -> None:
    """A view's filter or sort, or a role's row rule, past engine.limits is an error at its
    line (it could never be queried)."""
    by_file = {src.rel: src for src in sources}
    for base in config.bases.values():
        src = by_file.get(base.file)
        if src is None:
            continue
        # a list given to a field of several values is a test per value
        arrays = {t.key: {k for k, f in t.fields.items() if field_instance(f, config).kind == "array"}
                  for t in base.tables.values()}
        places: list[tuple[YPath, str, Any]] = []
        for table in base.tables.values():
            places += [(("tables", table.key, "views", v.key, "filter"), table.key, v.filter) for v in table.views.values()]
            for view in table.views.values():
                if len(view.sort) > limits.SORT_ENTRIES.value:
                    where = ("tables", table.key, "views", view.key, "sort")
                    src.error(where, f"{'/'.join(where)}: {limits.LimitExceeded(limits.SORT_ENTRIES, len(view.sort))}",
                              doc="docs/api.md#limits")
        for role, grants in base.grants.items():
            for tkey, grant in grants.items():
                places += [(("roles", role, tkey, rule), tkey, getattr(grant, rule)) for rule in ("rows", "edit_rows")]
        for path, tkey, flt in places:
            try:
                limits.check_filter(flt, arrays.get(tkey, set()))
            except limits.LimitExceeded as exc:
                src.error(path, f"{'/'.join(map(str, path))}: {exc}", doc="docs/api.md#limits")


# China's Cybersecurity Law (网络安全法, art. 21) asks that network logs be kept at least six months.
MIN_RETENTION = Period(6, "m")


def check_retention(config: WorkspaceConfig, src: Source) -> None:
    """A log kept less than MIN_RETENTION is an error at its line in workspace.yaml."""
    for log in ("audit", "access_log"):
        period = getattr(config.retention, log)
        if period is not None and period.days() < MIN_RETENTION.days():
            src.error(("retention", log), f"retention/{log}: {period} is shorter than {MIN_RETENTION}",
                      "keep logs at least 6 months (网络安全法 art. 21), e.g. 6y; see docs/operations.md")


COMMON_FIELD_KEYS = {"type", "name", "description", "required", "default", "index", "renamed_from", "unique"}


def build_field(key: str, d: dict[str, Any]) -> FieldDef:
    options = {k: v for k, v in d.items() if k not in COMMON_FIELD_KEYS}
    return FieldDef(key=key, type=d["type"], name=str(d.get("name", key)), options=options,
                    description=d.get("description", ""), required=bool(d.get("required", False)),
                    default=d.get("default"), index=bool(d.get("index", False)), renamed_from=d.get("renamed_from"),
                    unique=bool(d.get("unique", False)))


def build_base(src: Source) -> BaseDef:
    data = src.data
    tables: dict[str, TableDef] = {}
    for tkey, t in (data.get("tables") or {}).items():
        fields = {fkey: build_field(fkey, f) for fkey, f in (t.get("fields") or {}).items()}
        primary = t.get("primary") or next(iter(fields), "")
        table = TableDef(key=tkey, name=t.get("name", tkey), fields=fields, primary=primary,
                         description=t.get("description", ""), sensitive=bool(t.get("sensitive", False)))
        for vkey, v in (t.get("views") or {}).items():
            sort = v.get("sort", [])
            table.views[vkey] = ViewDef(vkey, v.get("type", "grid"), v.get("name", vkey), v.get("fields"),
                                        v.get("filter"), [sort] if isinstance(sort, str) else list(sort),
                                        v.get("group_by"), v.get("date_field"), v.get("cover"), v.get("roles"),
                                        dict(v.get("options") or {}))
        for fkey, f in (t.get("forms") or {}).items():
            ffields = [FormField(x) if isinstance(x, str) else
                       FormField(x["field"], x.get("label"), x.get("help", ""), x.get("required"), x.get("default"),
                                 dict(x["show_if"]) if x.get("show_if") else None, x.get("link_filter"))
                       for x in f.get("fields", [])]
            table.forms[fkey] = FormDef(fkey, tkey, f.get("name", fkey), f.get("description", ""),
                                        bool(f.get("public", False)), ffields, dict(f.get("prefill") or {}),
                                        f.get("submitter"), f.get("thanks", ""), list(f.get("link_prefill") or []),
                                        f.get("one_per"), f.get("status"), f.get("editable_for"))
        tables[tkey] = table
    base = BaseDef(key=data["base"], name=data.get("name", data["base"]), file=src.rel, tables=tables,
                   description=data.get("description", ""))
    base.hooks = hooks.build(base.key, data.get("hooks"))
    base.mailboxes = mailintake.build(base.key, data.get("mailboxes"))  # mailboxes (issue 21)
    base.hl7 = hl7intake.build(base.key, data.get("hl7"))  # HL7 v2 intake (engine.hl7intake)
    base.fhir = fhir.build(base.key, data.get("fhir"))  # FHIR R4 intake (engine.fhir)
    for rkey, grants in (data.get("roles") or {}).items():
        base.grants[rkey] = {tkey: build_grant(g) for tkey, g in (grants or {}).items()}
    for dkey, d in (data.get("dashboards") or {}).items():
        widgets = [Widget(w["type"], w.get("title", ""), w["table"], w.get("aggregate", "count"), w.get("field"),
                          w.get("filter"), w.get("where"), w.get("group_by"), w.get("bucket"),
                          {k: v for k, v in w.items() if k not in WIDGET_KEYS}) for w in d.get("widgets", [])]
        filters = [DashFilter(fkey, f["type"], f.get("name", fkey),
                              dict(f["field"]) if isinstance(f.get("field"), dict) else {"*": str(f.get("field", ""))},
                              f.get("default")) for fkey, f in (d.get("filters") or {}).items()]
        base.dashboards[dkey] = DashboardDef(dkey, d.get("name", dkey), widgets, d.get("roles"), filters)
    for akey, a in (data.get("automations") or {}).items():
        when = a.get("when") or {}
        known = triggers()
        trigger = next((t for t in known if t in when), "created")
        actions = [next(iter(step.items())) for step in a.get("do", [])]
        entry = known.get(trigger)
        base.automations[akey] = AutomationDef(akey, a.get("name", akey), trigger, when, a.get("if"), actions,
                                               bool(a.get("enabled", True)), entry.table(when) if entry else None)
    return base


def build_grant(g: dict[str, Any]) -> TableGrant:
    access = g.get("access", "read")
    fields: dict[str, FieldGrant] = {}
    for fkey, fg in (g.get("fields") or {}).items():
        fields[fkey] = FieldGrant(fg, None) if isinstance(fg, str) else FieldGrant(
            fg.get("access", "read"), fg.get("mask"), tuple(str(o) for o in fg["options"]) if "options" in fg else None)
    default_other = "read" if access == "read" else ("none" if access == "none" else "edit")
    return TableGrant(access=access, create=bool(g.get("create", access in ("edit", "manage"))),
                      delete=bool(g.get("delete", access == "manage")), rows=g.get("rows"),
                      edit_rows=g.get("edit_rows"), fields=fields, other_fields=g.get("other_fields", default_other))
