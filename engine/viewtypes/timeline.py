"""The timeline (Gantt) view type: records as bars on a time axis, from a start to an end.

YAML (under a table's `views:`):

```yaml
timeline:
  type: timeline
  name: 时间线
  date_field: received_at        # where a bar starts: a date or datetime field
  group_by: owner                # optional: one lane per person, option or linked record
  options:
    end: deadline                # where it ends: a date or datetime field…
    # duration: days             # …or a number field of days (one of end/duration; neither: one-day bars)
    color_by: status             # optional: bars take the colours of a select's options
```

This module is the registry entry and its checks; views/pages/timeline.py draws the page
and moves bars through the record service.
"""

from __future__ import annotations

from typing import Any

from engine.model import TableDef, ViewDef
from engine.viewtypes import KindOf, Problem, ViewType

DATE_KINDS = ("date", "datetime")
OPTIONS = ("end", "duration", "color_by")


class TimelineView(ViewType):
    """Records as bars from `date_field` to `options.end` (or for `options.duration` days)."""

    type = "timeline"
    path = "timeline"

    def problems(self, view: ViewDef, table: TableDef, kind_of: KindOf) -> list[Problem]:
        out: list[Problem] = []
        opts: dict[str, Any] = view.options or {}
        if not view.date_field:
            out.append(Problem((), f"timeline view '{view.key}' needs date_field",
                               "name the date or datetime field where each bar starts"))
        elif view.date_field in table.fields and kind_of(view.date_field) not in DATE_KINDS:
            out.append(Problem(("date_field",), f"date_field '{view.date_field}' of view '{view.key}' is not a date "
                                                "or datetime field"))
        for key in opts:
            if key not in OPTIONS:
                out.append(Problem(("options", key), f"unknown option '{key}' of timeline view '{view.key}'",
                                   "use end, duration or color_by"))
        if "end" in opts and "duration" in opts:
            out.append(Problem(("options",), f"timeline view '{view.key}' has both end and duration",
                               "give one: end (a date field) or duration (a number of days)"))
        for key, kinds, what in (("end", DATE_KINDS, "a date or datetime field"), ("duration", ("number",),
                                 "a number field (days)"), ("color_by", ("text",), "a single select field")):
            name = opts.get(key)
            if name is None:
                continue
            if not isinstance(name, str) or name not in table.fields:
                out.append(Problem(("options", key), f"unknown field '{name}' in options.{key} of view '{view.key}'"))
            elif kind_of(name) not in kinds or (key == "color_by" and not table.fields[name].options.get("options")):
                out.append(Problem(("options", key), f"options.{key} '{name}' of view '{view.key}' is not {what}"))
        return out
