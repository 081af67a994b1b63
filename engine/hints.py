"""Hints for a name that does not exist: "did you mean 'status'?".

A leaf: the YAML checks, the loader and formula references all suggest the nearest known name
the same way, from here.
"""

from __future__ import annotations

import difflib
from typing import Any


def did_you_mean(word: str, choices: Any) -> str:
    """"did you mean 'X'?" for the choice closest to `word`, or "" when none is close."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""
