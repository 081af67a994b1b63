"""Bitable formulas in Gridbase's formula language, where the two agree (owner of that translation).

A Bitable formula names fields as `bitable::$table[tbl…].$field[fld…]`; one of its own table
becomes `{key}`, and the result must then parse in Gridbase's language (engine.formula), which
shares most functions and operators. Formulas reading other tables (`.FILTER(CurrentValue…)`,
a reference to another table) or using a function Gridbase does not have are not translated:
`translate_formula` says why, and engine.bitable keeps such a field as text with a note.

Bitable's (Excel's) `DATEDIF(start, end, unit)` becomes `DATETIME_DIFF(end, start, units)`:
"D" days, "M" whole months, "Y" whole years, as both count them; the units Gridbase has no
counterpart for ("MD", "YM", "YD": days or months past the whole ones) are not translated.
"""

from __future__ import annotations

import re

from engine.formula import FormulaSyntaxError, parse, references

_REF = re.compile(r"bitable::\$table\[(\w+)\]\.\$field\[(\w+)\]")
_BARE_REF = re.compile(r"\$field\[(\w+)\]")
_DATEDIF = re.compile(r"\bDATEDIF\s*\(", re.I)
DATEDIF_UNITS = {"D": "days", "M": "months", "Y": "years"}


def _arguments(text: str, start: int) -> tuple[list[str], int] | None:
    """The comma-separated arguments of the call whose "(" is at `start` (strings and nested
    calls kept whole), and the index after its ")"; None when it does not close."""
    args: list[str] = []
    depth, quote, begin, i = 0, "", start + 1, start + 1
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                args.append(text[begin:i].strip())
                return args, i + 1
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(text[begin:i].strip())
            begin = i + 1
        i += 1
    return None


def translate_datedif(text: str) -> tuple[str | None, str]:
    """Every DATEDIF(start, end, unit) of `text` as DATETIME_DIFF(end, start, units), or (None, why not)."""
    out, pos = [], 0
    while (match := _DATEDIF.search(text, pos)) is not None:
        found = _arguments(text, match.end() - 1)
        if found is None or len(found[0]) != 3:
            return None, "its DATEDIF does not have three arguments"
        (start, end, unit), after = found
        units = DATEDIF_UNITS.get(unit.strip("\"' ").upper()) if unit[:1] in "\"'" else None
        if units is None:
            return None, f"DATEDIF with the unit {unit} has no Gridbase equivalent (only \"D\", \"M\" and \"Y\")"
        inner_start, why = translate_datedif(start)
        inner_end, why_end = translate_datedif(end)
        if inner_start is None or inner_end is None:
            return None, why or why_end
        out.append(text[pos:match.start()] + f"DATETIME_DIFF({inner_end}, {inner_start}, '{units}')")
        pos = after
    out.append(text[pos:])
    return "".join(out), ""


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
    translated, why = translate_datedif(text)
    if translated is None:
        return None, why
    text = translated
    try:
        refs = references(parse(text))
    except FormulaSyntaxError as exc:
        return None, f"Gridbase's formula language does not read it ({exc})"
    unknown = refs - set(keys.values())
    if unknown:
        return None, f"it names unknown fields {sorted(unknown)}"
    return text, ""
