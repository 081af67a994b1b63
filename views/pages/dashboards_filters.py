"""A dashboard's filter bar: the viewer's picks read from the link, and the form that changes them.

Words: the *selection* (engine.dashfilters.Selection) is read from the page's query string
(`?period=this_month&dept=口腔正畸中心`, a custom period as `period=custom&period_from=…&period_to=…`),
so a link reproduces what its sender saw; each filter's *controls* are a labelled <select> of its
*choices* (the date presets; a select field's options; the people; the workspace's departments)
and, for a date filter, two labelled day inputs used by "custom". The form is a plain GET form
with an Apply button; static/dashfilters.js submits it on change and shows the day inputs only
for "custom", so it works without JavaScript too. A value not among the choices is left out and
said on the page, never a failure.
"""

from __future__ import annotations

from typing import Any

from engine import Actor
from engine.dashfilters import PRESETS, Selection, choose, field_of
from engine.model import DashboardDef, DashFilter
from engine.workspace import Base

PRESET_LABELS = {"all": "All time", "today": "Today", "this_week": "This week", "this_month": "This month",
                 "last_month": "Last month", "this_quarter": "This quarter", "this_year": "This year",
                 "custom": "Custom range"}


def filter_choices(base: Base, ddef: DashboardDef, flt: DashFilter, actor: Actor, _: Any) -> list[tuple[str, str]]:
    """(value, label) a viewer may pick for `flt`, "" (all) first."""
    if flt.kind == "date":
        return [(p, str(_(PRESET_LABELS[p]))) for p in PRESETS]
    out = [("", str(_("All")))]
    if flt.kind == "department":
        return out + [(d.key, d.name) for d in base.ws.config.departments.values()]
    for widget in ddef.widgets:
        tdef = base.bdef.tables.get(widget.table)
        key = field_of(flt, tdef) if tdef is not None else None
        if key is None:
            continue
        table = base.table(widget.table)
        access = table.access(actor)
        if not access.can_read or not access.readable(key) or access.mask(key):
            continue
        if flt.kind == "person":
            people = sorted(table.fields[key].ctx.people.values(), key=lambda p: p.name)
            return out + [(p.key, p.name) for p in people]
        options = table.tdef.fields[key].options.get("options", [])
        return out + [(n, n) for n in (str(o.get("name", "")) if isinstance(o, dict) else str(o) for o in options)]
    return out


def selection_of(base: Base, ddef: DashboardDef, params: Any, actor: Actor, _: Any) -> tuple[Selection, list[dict[str, Any]]]:
    """(the viewer's selection from the query string, the filter bar's controls showing it)."""
    choices = {flt.key: filter_choices(base, ddef, flt, actor, _) for flt in ddef.filters}

    def known(flt: DashFilter, value: str) -> bool:
        return any(v == value for v, _label in choices[flt.key])

    today = base.ws.now().astimezone(base.ws.tz).date()
    names = {d.key: d.name for d in base.ws.config.departments.values()}
    sel = choose(ddef, params, today, known, names)
    controls = []
    for flt, chosen in zip(ddef.filters, sel.choices, strict=True):
        value = chosen.value or ("all" if flt.kind == "date" else "")
        control: dict[str, Any] = {"key": flt.key, "name": flt.name, "kind": flt.kind, "value": value,
                                   "choices": choices[flt.key]}
        if flt.kind == "date":
            control["from"] = chosen.start.isoformat() if chosen.start and value == "custom" else params.get(f"{flt.key}_from", "")
            control["to"] = chosen.end.isoformat() if chosen.end and value == "custom" else params.get(f"{flt.key}_to", "")
            if chosen.start and chosen.end and value != "custom":
                control["days"] = period_text(chosen.start.isoformat(), chosen.end.isoformat())
        controls.append(control)
    return sel, controls


def period_text(start: str, end: str) -> str:
    """A period as its days: "2026-12-01 – 2026-12-31", one day once."""
    return start if start == end else f"{start} – {end}"
