"""Text functions: CONCATENATE, LEN, LEFT, RIGHT, MID, FIND, SEARCH, SUBSTITUTE, REPLACE,
REPT, LOWER, UPPER, TRIM, T, VALUE, ENCODE_URL_COMPONENT and the REGEX_* functions.

Words: positions are 1-based, as in Airtable; every argument is read as text (`to_text`)
and every count as a number. A text a function builds has at most MAX_TEXT characters
(engine.formula.limits).

Regular expressions run on RE2, as in Airtable: matching takes time linear in the text (no
backtracking, so `(a+)+$` cannot take exponential time) and does not hold the interpreter,
so other requests go on meanwhile. RE2 has no look-around and no back-references; a pattern
it refuses is a syntax error when written as a literal (`regex_problem`, used by the parser)
and an error value when it comes from a field. One search costs at most the pattern's
program size times the text's length in bytes; a pair whose product passes MAX_REGEX_WORK
(one to three seconds at RE2's slowest, when its automaton does not fit its cache) fails
instead of running, since a search in progress cannot be stopped at a deadline. REGEX_REPLACE checks the time between its matches.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import re2

from engine.formula.env import Env
from engine.formula.errors import Fail
from engine.formula.limits import room, tick
from engine.formula.registry import function
from engine.formula.values import to_number, to_text

TEXT = "text"
REGEX_FUNCTIONS = ("REGEX_MATCH", "REGEX_EXTRACT", "REGEX_REPLACE")  # each takes its pattern second
MAX_REGEX_WORK = 100_000_000  # pattern program size × text bytes of one search (a 500-word list over 25 KB)
_RE2 = re2.Options()
_RE2.log_errors = False  # a bad pattern is the formula's error, not a line on the server's log
_GROUP = re.compile(r"\$(\d+)")  # $1 in a replacement


def _count(value: Any, name: str) -> int:
    number = int(to_number(value))
    if number < 0:
        raise Fail(f"{name} must not be negative")
    return number


@function("CONCATENATE", category=TEXT, signature="CONCATENATE(text1, [text2, ...])",
          description="Joins the text of all arguments into one text (the same as `&`).",
          example="CONCATENATE('Bob', ' - ', 42)", example_result="Bob - 42", min_args=1)
def concatenate(env: Env, *args: Any) -> str:
    texts = [to_text(arg) for arg in args]
    room(sum(map(len, texts)), "CONCATENATE's text")
    return "".join(texts)


@function("LEN", category=TEXT, signature="LEN(text)", result="number",
          description="The number of characters in a text.",
          example="LEN('quick brown fox')", example_result="15", min_args=1, max_args=1)
def length(env: Env, value: Any) -> int:
    return len(to_text(value))


@function("LEFT", category=TEXT, signature="LEFT(text, howMany)",
          description="The first `howMany` characters of a text.",
          example="LEFT('quick brown fox', 5)", example_result="quick", min_args=2, max_args=2)
def left(env: Env, value: Any, count: Any) -> str:
    return to_text(value)[: _count(count, "howMany")]


@function("RIGHT", category=TEXT, signature="RIGHT(text, howMany)",
          description="The last `howMany` characters of a text.",
          example="RIGHT('quick brown fox', 3)", example_result="fox", min_args=2, max_args=2)
def right(env: Env, value: Any, count: Any) -> str:
    text = to_text(value)
    n = _count(count, "howMany")
    return text[-n:] if n else ""


@function("MID", category=TEXT, signature="MID(text, whereToStart, count)",
          description="`count` characters of a text, starting at position `whereToStart` (1-based).",
          example="MID('quick brown fox', 7, 5)", example_result="brown", min_args=3, max_args=3)
def mid(env: Env, value: Any, start: Any, count: Any) -> str:
    begin = max(int(to_number(start)), 1) - 1
    return to_text(value)[begin : begin + _count(count, "count")]


def _start(position: Any) -> int:
    return max(int(to_number(position)) - 1, 0) if position is not None else 0


@function("FIND", category=TEXT, signature="FIND(stringToFind, whereToSearch, [startFromPosition])",
          result="number",
          description="Position (1-based) of the first occurrence of `stringToFind`, from an "
          "optional start position; 0 when not found. Case-sensitive.",
          example="FIND('fox', 'quick brown fox')", example_result="13", min_args=2, max_args=3)
def find(env: Env, needle: Any, haystack: Any, position: Any = None) -> int:
    return to_text(haystack).find(to_text(needle), _start(position)) + 1


@function("SEARCH", category=TEXT,
          signature="SEARCH(stringToFind, whereToSearch, [startFromPosition])", result="number",
          description="Like FIND, but ignores case and gives a blank when not found.",
          example="SEARCH('Brown', 'quick brown fox')", example_result="7", min_args=2, max_args=3)
def search(env: Env, needle: Any, haystack: Any, position: Any = None) -> int | None:
    found = to_text(haystack).lower().find(to_text(needle).lower(), _start(position))
    return found + 1 if found >= 0 else None


@function("SUBSTITUTE", category=TEXT, signature="SUBSTITUTE(string, old_text, new_text, [index])",
          description="Replaces every occurrence of `old_text` with `new_text`, or only the "
          "`index`-th occurrence when given.",
          example="SUBSTITUTE('gold mold', 'old', 'et')", example_result="get met",
          min_args=3, max_args=4)
def substitute(env: Env, value: Any, old: Any, new: Any, index: Any = None) -> str:
    text, old_text, new_text = to_text(value), to_text(old), to_text(new)
    if old_text == "":
        return text
    if index is None:
        if len(new_text) > len(old_text):
            room(len(text) + text.count(old_text) * (len(new_text) - len(old_text)), "SUBSTITUTE's text")
        return text.replace(old_text, new_text)
    wanted = int(to_number(index))
    start = -1
    for _ in range(max(wanted, 1)):
        start = text.find(old_text, start + 1)
        if start < 0:
            return text
    if wanted < 1:
        return text
    room(len(text) - len(old_text) + len(new_text), "SUBSTITUTE's text")
    return text[:start] + new_text + text[start + len(old_text) :]


@function("REPLACE", category=TEXT,
          signature="REPLACE(string, start_character, number_of_characters, replacement)",
          description="Replaces `number_of_characters` characters from `start_character` "
          "(1-based) with `replacement`.",
          example="REPLACE('database', 2, 5, 'o')", example_result="dose", min_args=4, max_args=4)
def replace(env: Env, value: Any, start: Any, count: Any, new: Any) -> str:
    text, new_text = to_text(value), to_text(new)
    begin = max(int(to_number(start)), 1) - 1
    room(len(text) + len(new_text), "REPLACE's text")
    return text[:begin] + new_text + text[begin + _count(count, "number_of_characters") :]


@function("REPT", category=TEXT, signature="REPT(string, number)",
          description="Repeats a text `number` times.",
          example="REPT('Hi! ', 3)", example_result="Hi! Hi! Hi! ", min_args=2, max_args=2)
def rept(env: Env, value: Any, count: Any) -> str:
    text = to_text(value)
    times = _count(count, "number")
    room(len(text) * times, "REPT's text")
    return text * times


@function("LOWER", category=TEXT, signature="LOWER(string)", description="Text in lower case.",
          example="LOWER('Hello!')", example_result="hello!", min_args=1, max_args=1)
def lower(env: Env, value: Any) -> str:
    return to_text(value).lower()


@function("UPPER", category=TEXT, signature="UPPER(string)", description="Text in upper case.",
          example="UPPER('Hello!')", example_result="HELLO!", min_args=1, max_args=1)
def upper(env: Env, value: Any) -> str:
    return to_text(value).upper()


@function("TRIM", category=TEXT, signature="TRIM(string)",
          description="Removes whitespace at the beginning and end of a text.",
          example="TRIM('  Hello!  ')", example_result="Hello!", min_args=1, max_args=1)
def trim(env: Env, value: Any) -> str:
    return to_text(value).strip()


@function("T", category=TEXT, signature="T(value)",
          description="The argument if it is text, otherwise a blank.",
          example="T('Hello') & T(42)", example_result="Hello", min_args=1, max_args=1)
def t(env: Env, value: Any) -> str | None:
    if isinstance(value, list):
        return to_text(value) if all(isinstance(v, str) for v in value) and value else None
    return value if isinstance(value, str) else None


@function("VALUE", category=TEXT, signature="VALUE(text)", result="number",
          description="Reads a number from a text, ignoring currency signs, thousands "
          "separators and other characters that are not part of a number.",
          example="VALUE('$10,000')", example_result="10000", min_args=1, max_args=1)
def value(env: Env, text: Any) -> int | float | None:
    if isinstance(text, int | float):
        return text
    raw = to_text(text).strip()
    percent = raw.endswith("%")
    cleaned = re.sub(r"[^0-9.eE+-]", "", raw)
    if cleaned in ("", "+", "-", "."):
        return None
    try:
        number: int | float = int(cleaned) if re.fullmatch(r"[+-]?\d+", cleaned) else float(cleaned)
    except ValueError:
        raise Fail(f"{raw!r} is not a number") from None
    return number / 100 if percent else number


@function("ENCODE_URL_COMPONENT", category=TEXT, signature="ENCODE_URL_COMPONENT(component_string)",
          description="Escapes a text for use in a URL, like JavaScript's encodeURIComponent.",
          example="'https://example.com/?q=' & ENCODE_URL_COMPONENT('chicken & waffles')",
          example_result="https://example.com/?q=chicken%20%26%20waffles", min_args=1, max_args=1)
def encode_url_component(env: Env, value: Any) -> str:
    return quote(to_text(value), safe="-_.!~*'()")


def _compile(pattern: str) -> Any:
    """The compiled RE2 pattern (RE2 keeps the last 128); Fail saying why when RE2 refuses it."""
    try:
        return re2.compile(pattern, _RE2)
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise Fail(f"bad regular expression: {detail}; regular expressions use RE2 syntax, which has no"
                   " look-around such as (?=...) and no back-references such as \\1") from None
    except UnicodeError:
        raise Fail("bad regular expression: it holds a broken character") from None


def regex_problem(pattern: str) -> str | None:
    """Why `pattern` is not a regular expression the REGEX_* functions accept, or None."""
    try:
        _compile(pattern)
    except Fail as exc:
        return exc.reason
    return None


def _regex(pattern: Any, text: str) -> Any:
    """The compiled pattern, once it is known that one search of `text` stays affordable."""
    regexp = _compile(to_text(pattern))
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    if size * regexp.programsize > MAX_REGEX_WORK:
        raise Fail(f"the regular expression is too complex for a text of {len(text):,} characters; use a"
                   " simpler pattern or a shorter text")
    return regexp


@function("REGEX_MATCH", category=TEXT, signature="REGEX_MATCH(string, regex)", result="boolean",
          description="Whether the text contains a match of the regular expression.",
          example="REGEX_MATCH('Hello World', 'W.r')", example_result="TRUE", min_args=2, max_args=2)
def regex_match(env: Env, value: Any, pattern: Any) -> bool:
    text = to_text(value)
    return _regex(pattern, text).search(text) is not None


@function("REGEX_EXTRACT", category=TEXT, signature="REGEX_EXTRACT(string, regex)",
          description="The first part of the text that matches the regular expression; an "
          "error value when nothing matches.",
          example="REGEX_EXTRACT('Order 1234 shipped', '[0-9]+')", example_result="1234",
          min_args=2, max_args=2)
def regex_extract(env: Env, value: Any, pattern: Any) -> str:
    text = to_text(value)
    found = _regex(pattern, text).search(text)
    if found is None:
        raise Fail("REGEX_EXTRACT found no match")
    return str(found.group(0))


@function("REGEX_REPLACE", category=TEXT, signature="REGEX_REPLACE(string, regex, replacement)",
          description="Replaces every match of the regular expression with `replacement` "
          "(`$1` refers to the first group).",
          example="REGEX_REPLACE('a1b22c333', '[0-9]+', '#')", example_result="a#b#c#",
          min_args=3, max_args=3)
def regex_replace(env: Env, value: Any, pattern: Any, new: Any) -> str:
    text = to_text(value)
    regexp = _regex(pattern, text)
    # The replacement as literal texts (even places) and group numbers (odd places).
    parts: list[Any] = _GROUP.split(to_text(new))
    for i in range(1, len(parts), 2):
        parts[i] = int(parts[i])
        if parts[i] > regexp.groups:
            raise Fail(f"bad replacement: ${parts[i]} names group {parts[i]}, but the regular expression"
                       f" has {regexp.groups}")
    out: list[str] = []
    length = end = 0
    for found in regexp.finditer(text):
        tick()  # each match is a search of the rest of the text: check the time between them
        piece = text[end : found.start()] + "".join(
            part if i % 2 == 0 else (found.group(part) or "") for i, part in enumerate(parts))
        length += len(piece)
        room(length + len(text) - found.end(), "REGEX_REPLACE's text")
        out.append(piece)
        end = found.end()
    out.append(text[end:])
    return "".join(out)
