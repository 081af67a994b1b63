"""Automations: rules that react to records and time, and notifications delivered once.

The parts, one module each: `triggers` (events to runs), `scheduler` (cron and dates),
`manual` (the record-page button), `runner` (one run, its history row), `actions` (notify,
update, create, webhook, email), `steps` (if, find, for_each, delete, wait), `approval` (the
approval step and `decide`, which the inbox and the record page call), `recipients`, `templates`, `delivery` (the channel queue
with retries and a dead letter), `worker` (the outbox loop and `start`/`stop`), `history`.

The web app calls: `start(ws)` / `stop()`, `run_manual(...)`, `manual_buttons(...)`,
`list_runs(...)`, `list_deliveries(...)`, `retry_dead(...)`.
"""

from automations.delivery import deliver_due, list_deliveries, recover_sending, retry_dead
from automations.history import get_run, list_runs
from automations.manual import manual_buttons, run_manual
from automations.scheduler import tick
from automations.worker import nudge, process_pending, start, stop

__all__ = ["deliver_due", "get_run", "list_deliveries", "list_runs", "manual_buttons", "nudge", "process_pending",
           "recover_sending", "retry_dead", "run_manual", "start", "stop", "tick"]
