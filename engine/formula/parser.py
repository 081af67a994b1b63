"""The formula parser: text in, syntax tree (`engine.formula.nodes`) out.

Words: the *lexer* cuts the text into tokens (numbers, quoted strings, `{references}`,
identifiers, operators, parentheses and commas); the *parser* is a precedence-climbing
parser over those tokens. Anything it cannot read raises `FormulaSyntaxError` with the
0-based position of the offending character and what was expected there. Function names are
case-insensitive, checked against the registry, and so is each call's number of arguments.
A bare word that is not followed by `(` is a field reference, as in Airtable (`Price * 2`).
A regular expression written as a literal is checked here too, so that a pattern RE2 refuses
is reported with its position rather than as an error value on every record.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from engine.formula.errors import FormulaSyntaxError
from engine.formula.functions import FUNCTIONS
from engine.formula.functions.text import REGEX_FUNCTIONS, regex_problem
from engine.formula.nodes import (
    PRECEDENCE,
    Binary,
    Boolean,
    Call,
    Field,
    Node,
    Number,
    String,
    Unary,
)

MAX_DEPTH = 100  # levels of parentheses, function calls and signs inside each other
MAX_LENGTH = 100_000  # characters
MAX_TOKENS = 20_000  # numbers, texts, names, operators, parentheses and commas
_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_DIGITS = "0123456789"
_OPERATORS = ("<=", ">=", "!=", "<>", "=", "<", ">", "+", "-", "*", "/", "&")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


@dataclass(frozen=True)
class Token:
    kind: str  # num, str, field, ident, op, (, ), ",", end
    text: str
    pos: int
    value: object = None


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    if n > MAX_LENGTH:
        raise FormulaSyntaxError(
            MAX_LENGTH, "a shorter formula",
            f"formula too long: {n} characters, at most {MAX_LENGTH} are allowed; shorten it or"
            f" split it into several filters; the limit is passed at position {MAX_LENGTH}",
        )
    while i < n:
        if len(tokens) >= MAX_TOKENS:
            raise FormulaSyntaxError(
                i, "a shorter formula",
                f"formula too long: more than {MAX_TOKENS} values, names and operators; shorten it"
                f" or split it into several filters; the limit is passed at position {i}",
            )
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in _DIGITS or (ch == "." and i + 1 < n and text[i + 1] in _DIGITS):
            match = _NUMBER.match(text, i)
            assert match is not None
            raw = match.group(0)
            value: int | float = int(raw) if raw.isdigit() else float(raw)
            if isinstance(value, float) and math.isinf(value):
                raise FormulaSyntaxError(i, "a smaller number", f"number too large at position {i}")
            tokens.append(Token("num", raw, i, value))
            i = match.end()
        elif ch in "'\"":
            value_text, i2 = _read_quoted(text, i + 1, ch, "closing " + ("quote" if ch == '"' else "'"))
            tokens.append(Token("str", text[i:i2], i, value_text))
            i = i2
        elif ch == "{":
            name, i2 = _read_quoted(text, i + 1, "}", "'}'")
            if name == "":
                raise FormulaSyntaxError(i + 1, "a field name")
            tokens.append(Token("field", text[i:i2], i, name))
            i = i2
        elif ch.isalpha() or ch == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(Token("ident", text[i:j], i))
            i = j
        elif ch in "(),":
            tokens.append(Token(ch, ch, i))
            i += 1
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                raise FormulaSyntaxError(
                    i, "an expression", f"unexpected character {ch!r} at position {i}"
                )
            tokens.append(Token("op", "!=" if op == "<>" else op, i))
            i += len(op)
    tokens.append(Token("end", "", n))
    return tokens


def _read_quoted(text: str, i: int, close: str, expected: str) -> tuple[str, int]:
    """Read up to the unescaped `close`; return the unescaped content and the index after it."""
    out: list[str] = []
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == close:
            return "".join(out), i + 1
        if ch == "\\" and i + 1 < n:
            nxt = text[i + 1]
            out.append(_ESCAPES.get(nxt, nxt) if close != "}" else nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    raise FormulaSyntaxError(n, expected)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, kind: str, expected: str) -> Token:
        if self.token.kind != kind:
            raise FormulaSyntaxError(self.token.pos, expected)
        return self.advance()

    def formula(self) -> Node:
        if self.token.kind == "end":
            raise FormulaSyntaxError(self.token.pos, "an expression")
        node = self.expression(1)
        if self.token.kind != "end":
            raise FormulaSyntaxError(self.token.pos, "an operator or the end of the formula")
        return node

    def expression(self, min_level: int) -> Node:
        left = self.unary()
        while self.token.kind == "op" and PRECEDENCE[self.token.text] >= min_level:
            op = self.advance().text
            right = self.expression(PRECEDENCE[op] + 1)
            left = Binary(op, left, right)
        return left

    def unary(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            pos = self.token.pos
            raise FormulaSyntaxError(
                pos, "a simpler formula",
                f"formula nested too deeply: more than {MAX_DEPTH} levels of parentheses, function"
                f" calls or signs inside each other; make it flatter; the limit is passed at position {pos}",
            )
        try:
            if self.token.kind == "op" and self.token.text == "-":
                self.advance()
                return Unary("-", self.unary())
            return self.primary()
        finally:
            self.depth -= 1

    def primary(self) -> Node:
        token = self.token
        if token.kind == "num":
            self.advance()
            assert isinstance(token.value, int | float)
            return Number(token.value)
        if token.kind == "str":
            self.advance()
            return String(str(token.value))
        if token.kind == "field":
            self.advance()
            return Field(str(token.value))
        if token.kind == "(":
            self.advance()
            node = self.expression(1)
            self.expect(")", "')'")
            return node
        if token.kind == "ident":
            self.advance()
            if self.token.kind == "(":
                return self.call(token)
            if token.text.upper() in ("TRUE", "FALSE"):
                return Boolean(token.text.upper() == "TRUE")
            return Field(token.text)
        raise FormulaSyntaxError(token.pos, "an expression")

    def call(self, name_token: Token) -> Node:
        name = name_token.text.upper()
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise FormulaSyntaxError(
                name_token.pos, "a function name",
                f"unknown function {name_token.text!r} at position {name_token.pos}",
            )
        self.advance()  # (
        args: list[Node] = []
        starts: list[int] = []
        if self.token.kind != ")":
            starts.append(self.token.pos)
            args.append(self.expression(1))
            while self.token.kind == ",":
                self.advance()
                starts.append(self.token.pos)
                args.append(self.expression(1))
            self.expect(")", "',' or ')'")
        else:
            self.advance()
        if len(args) < spec.min_args or (spec.max_args is not None and len(args) > spec.max_args):
            raise FormulaSyntaxError(
                name_token.pos, f"{_arity(spec.min_args, spec.max_args)} for {name}",
                f"{name} takes {_arity(spec.min_args, spec.max_args)}, got {len(args)}"
                f" at position {name_token.pos}",
            )
        if name in REGEX_FUNCTIONS and isinstance(args[1], String):
            problem = regex_problem(args[1].value)
            if problem is not None:
                raise FormulaSyntaxError(starts[1], "a regular expression", f"{problem} (at position {starts[1]})")
        return Call(name, tuple(args))


def _arity(low: int, high: int | None) -> str:
    if high is None:
        return f"at least {low} argument{'s' if low != 1 else ''}"
    if low == high:
        return f"{low} argument{'s' if low != 1 else ''}"
    return f"{low} to {high} arguments"


def parse(text: str) -> Node:
    """Parse formula text into a tree; raise `FormulaSyntaxError` if it is not a formula."""
    return _Parser(text).formula()
