"""Record functions: RECORD_ID."""

from __future__ import annotations

from engine.formula.env import Env
from engine.formula.registry import function


@function("RECORD_ID", category="record", signature="RECORD_ID()", max_args=0,
          description="The id of the record.",
          example="LEN(RECORD_ID()) > 0", example_result="TRUE")
def record_id(env: Env) -> str | None:
    return env.record_id
