"""Regular expressions on RE2, and the limits of one evaluation (time, length of texts).

A pattern that backtracks exponentially in Python's `re` is linear in RE2; a pattern RE2
refuses is a syntax error naming its position when written in the formula, and an error value
when it comes from a field; an evaluation stops after its own time limit (an error value) or at
the query's deadline (QueryTimeout); a text a formula would build past 1,000,000 characters is
an error value before it is built.
"""

from __future__ import annotations

import time

import pytest

from engine import budget
from engine.errors import QueryTimeout
from engine.formula import Env, FormulaError, FormulaSyntaxError, evaluate, limits, parse


def _eval(formula: str, **values: object) -> object:
    return evaluate(parse(formula), Env(values=values))


def _reason(result: object) -> str:
    assert isinstance(result, FormulaError), result
    return result.reason


def test_the_issue_pattern_is_answered_at_once() -> None:
    # 2^30 steps of backtracking in Python's `re`; RE2 reads the text once.
    started = time.perf_counter()
    assert _eval("REGEX_MATCH(REPT('a', 30) & 'b', '(a+)+$')") is False
    assert _eval("REGEX_MATCH({t}, '^(a|aa)+$')", t="a" * 5000 + "b") is False
    assert time.perf_counter() - started < 0.5


def test_a_literal_pattern_re2_refuses_is_a_syntax_error_at_its_position() -> None:
    with pytest.raises(FormulaSyntaxError) as caught:
        parse("REGEX_MATCH({name}, '(?=x)a')")
    assert caught.value.position == 20
    assert "bad regular expression" in caught.value.message and "RE2" in caught.value.message
    assert "look-around" in caught.value.message
    with pytest.raises(FormulaSyntaxError, match="missing \\)"):
        parse("IF(TRUE(), REGEX_REPLACE('a', '(', 'b'))")
    with pytest.raises(FormulaSyntaxError, match="bad regular expression"):
        parse(r"REGEX_EXTRACT('aa', '(a)\\1')")  # back-references are not RE2


def test_a_pattern_from_a_field_that_re2_refuses_is_an_error_value() -> None:
    assert "bad regular expression" in _reason(_eval("REGEX_MATCH('abc', {p})", p="(?<=a)b"))


def test_regex_functions_keep_their_meaning() -> None:
    assert _eval("REGEX_REPLACE('John Smith', '(\\\\w+) (\\\\w+)', '$2, $1')") == "Smith, John"
    assert _eval("REGEX_REPLACE('a1b22', '([0-9]+)', '<$0|$1>')") == "a<1|1>b<22|22>"
    assert _eval("REGEX_REPLACE('abxd', 'x*', '-')") == "-a-b--d-"  # empty matches, as Python's re.sub
    assert _eval("REGEX_REPLACE('a.b', '\\\\.', '\\\\')") == "a\\b"  # a backslash in the replacement is itself
    assert "has 1" in _reason(_eval("REGEX_REPLACE('a1', '([0-9])', '$2')"))
    assert _eval("REGEX_EXTRACT('病历号：A-1234，复诊', '[A-Z]-[0-9]+')") == "A-1234"
    assert _eval("REGEX_EXTRACT('中文abc', '\\\\p{Han}+')") == "中文"
    assert _eval("REGEX_MATCH('Hello', '(?i)^hello$')") is True


def test_one_search_that_could_take_seconds_fails_instead() -> None:
    # A pattern whose automaton RE2 cannot cache, on a long text: about 6 s in one search,
    # which no deadline can interrupt; refused before it starts.
    started = time.perf_counter()
    reason = _reason(_eval("REGEX_MATCH(REPT('ab', 500000), '[ab]*a[ab]{200}c')"))
    assert "too complex for a text of 1,000,000 characters" in reason
    assert time.perf_counter() - started < 0.5
    # The same pattern on an ordinary text is fine.
    assert _eval("REGEX_MATCH(REPT('ab', 200) & 'bc', '[ab]*a[ab]{200}c')") is True


def test_an_evaluation_stops_after_its_own_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "EVAL_SECONDS", 0.05)
    started = time.perf_counter()
    reason = _reason(_eval("LEN(REGEX_REPLACE(REPT('ab', 300000), 'a', 'c'))"))
    assert "took longer than 0.05 s" in reason
    assert time.perf_counter() - started < 1
    assert _eval("LEN(REPT('ab', 10))") == 20  # the next evaluation has its own time again


def test_an_evaluation_stops_at_the_query_deadline() -> None:
    started = time.perf_counter()
    with pytest.raises(QueryTimeout), budget.within(0.05):
        _eval("LEN(REGEX_REPLACE(REPT('ab', 300000), 'a', 'c'))")
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize("formula", [
    "SUBSTITUTE(REPT('a', 1000000), 'a', 'bb')",
    "REPT('a', 600000) & REPT('b', 600000)",
    "CONCATENATE(REPT('a', 600000), REPT('b', 600000))",
    "REGEX_REPLACE(REPT('a', 1000000), 'a', 'bb')",
    "ARRAYJOIN(ARRAYFLATTEN('a', 'b', 'c'), REPT('-', 600000))",
    "REPLACE(REPT('a', 1000000), 1, 0, 'b')",
    "REPT('ab', 1000000)",
])
def test_a_text_longer_than_the_limit_is_an_error_value(formula: str) -> None:
    started = time.perf_counter()
    assert "at most 1,000,000 characters" in _reason(_eval(formula))
    assert time.perf_counter() - started < 1
