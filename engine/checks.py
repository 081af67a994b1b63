"""Semantic checks of a workspace, after the JSON Schema: every reference must resolve.

Checks that people, departments and roles exist; that each base's fields, links, lookups,
rollups and formulas point at real things and form no cycle; and that views, forms, roles,
dashboards and automations name real tables and fields; that a value given for a field with
options (a filter's, a form default) is one of them; that templates name real fields. Every
problem is reported with its position and, where a near name exists, a "did you mean" hint.

This module owns the order of the checks and the checks of a base's parts (`BaseChecker`: keys,
links, computed fields, defaults, views, forms, grants, dashboards, automations) and of the
people of workspace.yaml. What names one thing (a table, a field, an option, a template's
`record.KEY`, a recipient) and a filter are checked by engine.checkrefs (`RefChecker`, which
`BaseChecker` extends). An automation's trigger and actions are registry entries: this module
resolves what every automation has (its table, `if:`, templates) and then asks each entry to
`check` its own YAML (engine.automation), never branching on an entry's name.
One mistake gives one error: a field whose type is unknown is reported once, and what names it
is not reported again.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine import org
from engine.checkrefs import RefChecker, describe_kind, field_kind
from engine.hints import did_you_mean
from engine.model import BaseDef, FieldDef, TableDef, WorkspaceConfig
from engine.plugins import actions, channel_types, field_types, triggers, view_types, widget_types
from engine.rolecheck import check_automation_writes, check_embedded
from engine.schema import FormulaRefs, computed_deps, field_instance, resolve_computed, value_kind
from engine.sources import Source

KEY = re.compile(r"^[^\W\d_]\w*$")



def check_workspace(config: WorkspaceConfig, ws: Source | None, bases: list[tuple[Source, BaseDef]]) -> None:
    """Check the people of `ws` (workspace.yaml), then each base, as built from its source;
    each checked base is added to `config`."""
    if ws is not None:
        _check_people(config, ws)
    seen: dict[str, str] = {}
    for src, base in bases:
        if base.key in seen:
            src.error(("base",), f"base key '{base.key}' is already used by {seen[base.key]}", "give each base its own key")
            continue
        seen[base.key] = src.rel
        BaseChecker(config, base, src).run()
        config.bases[base.key] = base


def _check_people(config: WorkspaceConfig, src: Source) -> None:
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        src.error(("timezone",), f"unknown timezone '{config.timezone}'", "use an IANA name such as Asia/Shanghai")
    org.check(config, src)  # the organisation tree and who belongs where
    for key, person in config.people.items():
        for i, role in enumerate(person.roles):
            if role not in config.roles:
                src.error(("people", key, "roles", i), f"unknown role '{role}' for person '{key}'", did_you_mean(role, config.roles))
        for i, ch in enumerate(person.channels):
            if ch not in config.channels and ch != "inbox":
                src.error(("people", key, "channels", i), f"unknown channel '{ch}' for person '{key}'",
                          did_you_mean(ch, config.channels))
    for pkey, provider in config.sign_in_providers.items():
        if provider.channel is not None and provider.channel not in config.channels:
            src.error(("sign_in", "providers", pkey, "channel"),
                      f"unknown channel '{provider.channel}' for sign-in provider '{pkey}'",
                      did_you_mean(provider.channel, config.channels))
    known = channel_types()
    for ckey, chan in config.channels.items():
        if known.keys() and chan.type not in known:
            src.error(("channels", ckey, "type"), f"unknown channel type '{chan.type}'", did_you_mean(chan.type, known.keys()))
    for key, person in config.people.items():
        for ch, ids in person.accounts.items():
            if ch not in config.channels:
                src.error(("people", key, "accounts", ch), f"unknown channel '{ch}' in the accounts of person '{key}'",
                          did_you_mean(ch, config.channels), key=True)
                continue
            cls = known.get(config.channels[ch].type)
            if cls is None:
                continue  # an unknown type is reported above
            takes: tuple[str, ...] = tuple(getattr(cls, "ACCOUNT_IDS", ()))
            for kind in ids:
                if kind not in takes:
                    what = ", ".join(takes) if takes else "no ids"
                    src.error(("people", key, "accounts", ch, kind),
                              f"channel '{ch}' ({config.channels[ch].type}) takes {what}, not '{kind}'", key=True)


class BaseChecker(RefChecker):
    """The checks of one base: its keys, links, computed fields (no cycle), defaults, views,
    forms, grants, dashboards and automations. What names a table, a field, an option, a
    template or a recipient is checked by `RefChecker` (engine.checkrefs), which a trigger or
    action entry's `check` is handed too (this checker dispatches to each entry, never
    branching on its name)."""

    def run(self) -> None:
        for tkey, table in self.base.tables.items():
            for key, path in [(tkey, ("tables", tkey))] + [(f, ("tables", tkey, "fields", f)) for f in table.fields]:
                if not KEY.match(key):
                    self.err(path, f"'{key}' is not a valid key", "keys start with a letter and hold letters, digits and _",
                             key=True)
        types = field_types()
        for tkey, table in self.base.tables.items():
            for fkey, fdef in list(table.fields.items()):
                if fdef.type not in types:
                    self.err(("tables", tkey, "fields", fkey, "type"), f"unknown field type '{fdef.type}' for field '{fkey}'",
                             did_you_mean(fdef.type, types.keys()))
                    del table.fields[fkey]
                    self.broken.add((tkey, fkey))
        self._links()
        self._computed()
        resolve_computed(self.config, self.base)  # result kinds first: views, widgets and triggers check them
        self._linked_filters()
        for tkey, table in self.base.tables.items():
            if table.primary not in table.fields and (tkey, table.primary) not in self.broken:
                self.err(("tables", tkey, "primary"), f"unknown field '{table.primary}' as primary of table '{tkey}'",
                         did_you_mean(table.primary, table.fields))
            for fkey, fdef in table.fields.items():
                self._field_default(tkey, table, fkey, fdef)
            self._views(tkey, table)
            self._forms(tkey, table)
        self._grants()
        self._dashboards()
        self._automations()
        self._embeds()
        if not any(not i.warning for i in self.src.issues):  # warnings only about a base that holds together
            check_embedded(self.config, self.base, self.src)
            check_automation_writes(self.config, self.base, self.src)

    def _embeds(self) -> None:
        """`embeds:` names fields of the same table (see engine.rolecheck)."""
        for tkey, table in self.base.tables.items():
            for fkey, fdef in table.fields.items():
                embeds = fdef.options.get("embeds")
                for i, other in enumerate(embeds if isinstance(embeds, list) else []):
                    path = ("tables", tkey, "fields", fkey, "embeds", i)
                    if self._field_ref(path, table, other, f"embeds of field '{fkey}'") is not None and other == fkey:
                        self.err(path, f"field '{fkey}' cannot embed itself")

    def _links(self) -> None:
        for tkey, table in list(self.base.tables.items()):
            for fkey, fdef in list(table.fields.items()):
                if not field_types()[fdef.type].links or fdef.inverse_of:
                    continue
                path = ("tables", tkey, "fields", fkey)
                target = self._table_ref(path + ("table",), fdef.options.get("table"), f"link field '{fkey}'")
                inverse = fdef.options.get("inverse")
                if target is None or not inverse:
                    continue
                existing = target.fields.get(inverse)
                if existing is not None:
                    if not field_types()[existing.type].links or existing.options.get("table") != tkey:
                        self.err(path + ("inverse",), f"inverse field '{inverse}' of '{fkey}' already exists in table "
                                 f"'{target.key}' and is not a link back to '{tkey}'", "choose another inverse key")
                    else:
                        existing.inverse_of = f"{tkey}.{fkey}"
                        existing.options.setdefault("inverse", fkey)
                    continue
                target.fields[inverse] = FieldDef(  # the other side, of the same type
                    key=inverse, type=fdef.type, name=str(fdef.options.get("inverse_name", inverse)),
                    options={"table": tkey, "multiple": True, "inverse": fkey}, inverse_of=f"{tkey}.{fkey}")

    def _computed(self) -> None:
        graph: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for tkey, table in self.base.tables.items():
            for fkey, fdef in table.fields.items():
                path = ("tables", tkey, "fields", fkey)
                ftype = field_types()[fdef.type]
                if ftype.through_link:
                    link = self._field_ref(path + ("link",), table, fdef.options.get("link"), f"{fdef.type} field '{fkey}'")
                    if link is None:
                        continue
                    if not field_types()[link.type].links:
                        self.err(path + ("link",), f"field '{link.key}' used by {fdef.type} '{fkey}' is a {link.type}, not a link")
                        continue
                    target = self.base.tables.get(link.options.get("table", ""))
                    if target is not None:
                        self._field_ref(path + ("field",), target, fdef.options.get("field"), f"{fdef.type} field '{fkey}'")
                elif ftype.from_formula:
                    try:
                        FormulaRefs(table, fdef)
                    except ValueError as exc:
                        self.err(path + ("formula",), f"formula of field '{fkey}': {exc}")
                        fdef.options["broken"] = True
                        continue
                graph[(tkey, fkey)] = computed_deps(self.base, table, fdef)
        # Cycle detection, reported once per cycle at its first field.
        state: dict[tuple[str, str], int] = {}
        stack: list[tuple[str, str]] = []

        def visit(node: tuple[str, str]) -> None:
            state[node] = 1
            stack.append(node)
            for dep in graph.get(node, []):
                if state.get(dep) == 1:
                    cycle = stack[stack.index(dep):] + [dep]
                    self.err(("tables", dep[0], "fields", dep[1]), "computed fields form a cycle: " +
                             " → ".join(f"{t}.{f}" for t, f in cycle), "break the cycle by removing one reference", key=True)
                    for t, f in cycle:
                        self.base.tables[t].fields[f].options["broken"] = True
                elif state.get(dep) is None and dep in graph:
                    visit(dep)
            stack.pop()
            state[node] = 2

        for node in graph:
            if node not in state:
                visit(node)

    def _linked_filters(self) -> None:
        """A lookup's or rollup's `where:` is a filter over the linked table."""
        for tkey, table in self.base.tables.items():
            for fkey, fdef in table.fields.items():
                through = self.base.linked_through(table, fdef) if field_types()[fdef.type].through_link else None
                if through is not None and fdef.options.get("where") is not None:
                    self.filter(("tables", tkey, "fields", fkey, "where"), through[1], fdef.options["where"],
                                f"{fdef.type} field '{fkey}'")

    def _field_default(self, tkey: str, table: TableDef, fkey: str, fdef: FieldDef) -> None:
        if fdef.default is None:
            return

        path = ("tables", tkey, "fields", fkey, "default")
        if isinstance(fdef.default, str) and fdef.default.startswith("$"):
            if fdef.default not in field_types()[fdef.type].default_variables:
                self.err(path, f"default '{fdef.default}' cannot be used for a {fdef.type} field",
                         "$me suits person fields, $now and $today suit date and datetime fields")
            return
        try:
            field_instance(fdef, self.config).coerce(fdef.default)
        except ValueError as exc:
            self.err(path, f"default of field '{fkey}' is invalid: {exc}")

    # -- views and forms ---------------------------------------------------------------
    def _views(self, tkey: str, table: TableDef) -> None:
        for vkey, view in table.views.items():
            path = ("tables", tkey, "views", vkey)
            what = f"view '{vkey}'"
            for i, fkey in enumerate(view.fields or []):
                self._field_ref(path + ("fields", i), table, fkey, what)
            for i, item in enumerate(view.sort):
                self._field_ref(path + ("sort", i), table, str(item).lstrip("-+"), what)
            self.filter(path + ("filter",), table, view.filter, what)
            for ref in ("group_by", "date_field", "cover"):
                if getattr(view, ref):
                    self._field_ref(path + (ref,), table, getattr(view, ref), what)
            vtype = view_types().get(view.type)
            if vtype is None:
                self.err(path + ("type",), f"unknown view type '{view.type}' for view '{vkey}'",
                         did_you_mean(view.type, view_types().keys()))
            else:
                for problem in vtype.problems(view, table, lambda key, t=table: field_kind(t, key) if key in t.fields else None):
                    self.err(path + problem.path, problem.message, problem.hint)
            for i, role in enumerate(view.roles or []):
                if role not in self.config.roles:
                    self.err(path + ("roles", i), f"unknown role '{role}' in {what}", did_you_mean(role, self.config.roles))

    def _forms(self, tkey: str, table: TableDef) -> None:
        for fkey, form in table.forms.items():
            path = ("tables", tkey, "forms", fkey)
            what = f"form '{fkey}'"
            for i, ff in enumerate(form.fields):
                fdef = self._field_ref(path + ("fields", i), table, ff.field, what)
                if fdef and field_types()[fdef.type].computed:
                    self.err(path + ("fields", i), f"field '{fdef.key}' in {what} is computed and cannot be filled in")
                elif fdef and ff.default is not None and not (isinstance(ff.default, str) and ff.default.startswith("$")):
                    if self.option_value(path + ("fields", i, "default"), table, fdef.key, ff.default, what):
                        try:
                            field_instance(fdef, self.config).coerce(ff.default)
                        except ValueError as exc:
                            self.err(path + ("fields", i, "default"), f"default of '{fdef.key}' in {what} is invalid: {exc}")
            earlier: list[str] = []
            for i, ff in enumerate(form.fields):
                cond = ff.show_if
                if cond and cond.get("field") not in earlier:
                    self.err(path + ("fields", i, "show_if", "field"),
                             f"show_if of '{ff.field}' in {what} must name an earlier question", did_you_mean(
                                 str(cond.get("field")), earlier) or "put the question it depends on before it")
                elif cond and ("is" in cond or "in" in cond):
                    self.option_value(path + ("fields", i, "show_if", "in" if "in" in cond else "is"), table,
                                      cond["field"], cond["in"] if "in" in cond else cond["is"], what)
                earlier.append(ff.field)
            for i, ff in enumerate(form.fields):
                fdef = table.fields.get(ff.field)
                if ff.link_filter is None or fdef is None:
                    continue
                other = self.base.tables.get(str(fdef.options.get("table", ""))) if getattr(field_types().get(fdef.type), "links", False) else None
                if other is None:
                    self.err(path + ("fields", i, "link_filter"), f"link_filter of '{ff.field}' in {what} needs a link field")
                else:
                    self.filter(path + ("fields", i, "link_filter"), other, ff.link_filter, what)
            for i, key in enumerate(form.link_prefill):
                self._field_ref(path + ("link_prefill", i), table, key, what)
            if form.status:
                self._field_ref(path + ("status",), table, form.status, what)
            if form.editable_for and not form.submitter:
                self.err(path + ("editable_for",), f"editable_for of {what} needs a submitter field to know who submitted",
                         "add `submitter: <person field>`")
            if form.one_per and not form.submitter:
                self.err(path + ("one_per",), f"one_per of {what} needs a submitter field to know who submitted",
                         "add `submitter: <person field>`")
            for key, value in form.prefill.items():
                fdef = self._field_ref(path + ("prefill", key), table, key, what)
                if fdef and fdef.key in table.fields and not (isinstance(value, str) and value.startswith("$")):
                    try:
                        field_instance(fdef, self.config).coerce(value)
                    except ValueError as exc:
                        self.err(path + ("prefill", key), f"prefill of '{key}' in {what} is invalid: {exc}")
            if form.submitter:
                fdef = self._field_ref(path + ("submitter",), table, form.submitter, what)
                if fdef and (not field_types()[fdef.type].people or field_types()[fdef.type].computed):
                    self.err(path + ("submitter",), f"submitter field '{fdef.key}' of {what} must be a person field")

    # -- roles, dashboards, automations ------------------------------------------------
    def _grants(self) -> None:
        for rkey, grants in self.base.grants.items():
            if rkey not in self.config.roles:
                self.err(("roles", rkey), f"unknown role '{rkey}'", did_you_mean(rkey, self.config.roles)
                         or "declare roles in workspace.yaml", key=True)
            for tkey, grant in grants.items():
                table = self._table_ref(("roles", rkey, tkey), tkey, f"role '{rkey}'", key=True)
                if table is None:
                    continue
                what = f"role '{rkey}'"
                self.filter(("roles", rkey, tkey, "rows"), table, grant.rows, what)
                self.filter(("roles", rkey, tkey, "edit_rows"), table, grant.edit_rows, what)
                for fkey, fgrant in grant.fields.items():
                    fdef = self._field_ref(("roles", rkey, tkey, "fields", fkey), table, fkey, what, key=True)
                    if fdef is not None and fgrant.options is not None:
                        where = ("roles", rkey, tkey, "fields", fkey, "options")
                        if field_instance(fdef).editor().choices != "options":
                            self.err(where, f"options in {what} limit a single or multiple select; '{fkey}' is a "
                                            f"{self.describe(table, fdef)}", "leave 'options' out")
                        else:
                            self.option_value(where, table, fkey, list(fgrant.options), what)

    def _dashboards(self) -> None:
        for dkey, dash in self.base.dashboards.items():
            for i, w in enumerate(dash.widgets):
                path = ("dashboards", dkey, "widgets", i)
                what = f"dashboard '{dkey}'"
                table = self._table_ref(path + ("table",), w.table, what)
                if table is None:
                    continue
                if w.field:
                    fdef = self._field_ref(path + ("field",), table, w.field, what)
                    if fdef and fdef.key in table.fields and w.aggregate in ("sum", "avg") \
                            and value_kind(self.base, table, fdef.key, self.config) != "number":
                        self.err(path + ("field",), f"{w.aggregate} needs a number field (a number, a formula or rollup "
                                                    f"giving a number, a lookup of numbers), '{fdef.key}' is a "
                                                    f"{describe_kind(self.base, table, fdef)}")
                elif w.aggregate in ("sum", "avg"):
                    self.err(path, f"widget '{w.title}' with aggregate {w.aggregate} needs a field")
                if w.group_by:
                    self._field_ref(path + ("group_by",), table, w.group_by, what)
                elif getattr(widget_types().get(w.type), "needs_group", False):
                    self.err(path, f"{w.type} chart '{w.title}' needs group_by", "name the field to group by")
                self.filter(path + ("filter",), table, w.filter, what)
                self.filter(path + ("where",), table, w.where, what)
            for i, role in enumerate(dash.roles or []):
                if role not in self.config.roles:
                    self.err(("dashboards", dkey, "roles", i), f"unknown role '{role}'", did_you_mean(role, self.config.roles))

    def _automations(self) -> None:
        """What every automation has (its table, `if:`, templates); then its trigger's and actions' own checks."""
        for akey, auto in self.base.automations.items():
            path = ("automations", akey)
            what = f"automation '{akey}'"
            trigger = triggers().get(auto.trigger)
            table: TableDef | None = None
            if auto.table and trigger is not None:
                table = self._table_ref(path + ("when", trigger.table_key or trigger.type), auto.table, what)
            if table is not None:
                self.filter(path + ("if",), table, auto.condition, what)
            if trigger is not None:
                trigger.check(self, path + ("when",), auto.when, table, what)
            for i, (kind, spec) in enumerate(auto.actions):
                sub = path + ("do", i, kind)
                for key, value in (spec.items() if isinstance(spec, dict) else []):
                    for name, text in ([(None, value)] if isinstance(value, str) else
                                       value.items() if isinstance(value, dict) else []):
                        if isinstance(text, str):
                            self.template(sub + ((key,) if name is None else (key, name)), text, table, what)
                action = actions().get(kind)
                if action is not None:
                    action.check(self, sub, spec or {}, table, what)
