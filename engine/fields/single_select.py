"""Field type `single_select`: one option out of a declared list."""

from __future__ import annotations

from typing import Any

from engine.fields.base import Editor, FieldType, Invalid


def option_names(options: dict[str, Any]) -> list[str]:
    out = []
    for item in options.get("options", []):
        out.append(str(item["name"]) if isinstance(item, dict) else str(item))
    return out


def match_option(names: list[str], value: Any, exact: set[str] | None = None) -> str:
    text = value.strip() if isinstance(value, str) else str(value).strip()
    if text in (exact if exact is not None else names):
        return text
    folded = {n.casefold(): n for n in names}
    if text.casefold() in folded:
        return folded[text.casefold()]
    raise Invalid(code="option_expected", params={"options": ", ".join(names)})


class SingleSelectField(FieldType):
    type = "single_select"
    holds_names = True
    repeats = True
    kind = "text"
    indexed = True
    description = "One option out of `options` (names, or {name, color})."
    good = [({"options": ["待受理", "处理中"]}, "处理中", "处理中"), ({"options": [{"name": "Open", "color": "red"}]}, "open", "Open")]
    bad = [({"options": ["待受理", "处理中"]}, "已删除"), ({"options": ["a"]}, ["a", "b"])]

    airtable_type = "singleSelect"
    shown_as = "badges"

    def editor(self) -> Editor:
        return Editor("select", "select", choices="options")

    def json_schema(self) -> dict[str, Any]:
        names = option_names(self.options)
        return {"type": "string", "enum": names} if names else {"type": "string"}

    def __init__(self, fdef: Any, ctx: Any = None) -> None:
        super().__init__(fdef, ctx)
        self.names = option_names(self.options)
        self.exact = set(self.names)

    def parse(self, value: Any) -> Any:
        if isinstance(value, (list, dict)):
            raise Invalid(code="option_expected", params={"options": ", ".join(self.names)})
        return match_option(self.names, value, self.exact)

    def sort_sql(self, column: str) -> str:
        # Sort by the declared option order, as Airtable does.
        return in_order(column, option_names(self.options))


MOST_RANKED = 200  # past this many names, a CASE is longer than it is worth: sort by the value


def in_order(expr: str, names: list[str]) -> str:
    """A sort key: the place of `expr`'s value among *declared* `names` (after them: any other)."""
    if not names or len(names) > MOST_RANKED:
        return expr
    cases = " ".join(f"WHEN {quote_literal(n)} THEN {i}" for i, n in enumerate(names))
    return f"(CASE {expr} {cases} ELSE {len(names)} END)"


def quote_literal(text: str) -> str:
    """An SQL string literal for a *declared* option name (from YAML, never user input)."""
    return "'" + text.replace("'", "''") + "'"
