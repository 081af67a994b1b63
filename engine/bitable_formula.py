"""Bitable formulas in Gridbase's formula language, where the two agree (owner of that translation).

A Bitable formula names fields as `bitable::$table[tbl…].$field[fld…]`; one of its own table
becomes `{key}`, and the result must then parse in Gridbase's language (engine.formula), which
shares most functions and operators. Formulas reading other tables (`.FILTER(CurrentValue…)`,
a reference to another table) or using a function Gridbase does not have are not translated:
`translate_formula` says why, and engine.bitable keeps such a field as text with a note.
"""

from __future__ import annotations

import re

from engine.formula import FormulaSyntaxError, parse, references

_REF = re.compile(r"bitable::\$table\[(\w+)\]\.\$field\[(\w+)\]")
_BARE_REF = re.compile(r"\$field\[(\w+)\]")


def translate_formula(expr: str, table_id: str, keys: dict[str, str]) -> tuple[str | None, str]:
    """A Bitable formula in Gridbase's language, or (None, why not). `keys`: field id → key, this table."""
    if not expr:
        return None, "it has no expression"
    outside: list[str] = []

    def ref(match: re.Match[str]) -> str:
        if match.group(1) != table_id or match.group(2) not in keys:
            outside.append(match.group(0))
            return "{?}"
        return "{" + keys[match.group(2)] + "}"

    text = _REF.sub(ref, expr)
    if outside:
        return None, "it reads another table (cross-table formulas have no Gridbase equivalent; use a link and a lookup or rollup)"
    text = _BARE_REF.sub(lambda m: "{" + keys[m.group(1)] + "}" if m.group(1) in keys else "{?}", text)
    if "{?}" in text or "CurrentValue" in text or ".FILTER" in text.upper():
        return None, "it filters or reads records of other tables"
    try:
        refs = references(parse(text))
    except FormulaSyntaxError as exc:
        return None, f"Gridbase's formula language does not read it ({exc})"
    unknown = refs - set(keys.values())
    if unknown:
        return None, f"it names unknown fields {sorted(unknown)}"
    return text, ""
