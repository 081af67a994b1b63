"""Registers Gridbase's built-in triggers and actions through the same hooks a third-party plugin uses.

Found through the `gridbase.automations` entry point (pyproject.toml), as a plugin package's
module is: triggers `created`, `updated`, `matches`, `form` (automations.triggers), `schedule`,
`date` (automations.scheduler) and `manual` (automations.manual); actions `notify`, `update`,
`create`, `webhook` and `email` (automations.actions); the steps `if`, `find`, `for_each`, `delete`
and `wait` (automations.steps), and `approval` (automations.approval).
"""

from __future__ import annotations

from typing import Any

from automations.actions import BUILTIN_ACTIONS
from automations.approval import Approval
from automations.manual import ManualTrigger
from automations.scheduler import DateTrigger, ScheduleTrigger
from automations.steps import STEP_ACTIONS
from automations.triggers import BUILTIN_EVENT_TRIGGERS
from engine.hookspecs import hookimpl


@hookimpl
def gridbase_triggers() -> list[Any]:
    """The built-in triggers, in the order the YAML reference lists them."""
    return [*BUILTIN_EVENT_TRIGGERS, ScheduleTrigger, DateTrigger, ManualTrigger]


@hookimpl
def gridbase_actions() -> list[Any]:
    """The built-in actions: notify, update, create, webhook, email; the steps if, find, for_each, delete, wait, approval."""
    return [*BUILTIN_ACTIONS, *STEP_ACTIONS, Approval]
