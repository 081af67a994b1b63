"""The `approval:` step: ask named people to approve or reject, park the run, go on with the chosen branch.

```yaml
- approval:
    approvers: [{head: "{department}"}, {role: qc}]   # or {field: owner}, {person: KEY}; one or a list
    mode: sequence            # or any: everyone at once, the first decision wins
    title: "请审批结案：{{ record.title }}"
    message: "处理结果：{{ record.result }}"
    timeout: 3d               # optional: then on_timeout (or on_reject) runs
    on_approve: [{update: {status: 已办结}}]
    on_reject: [{update: {status: 处理中}}]
```

When the step runs, each approver (who may read the record) gets a request (engine.approvals,
title and message rendered with what that person may read), an inbox notification and a
message on their personal channels (an app's card opens the record page, where they decide);
in `sequence` only the first is asked, the next after the one before approved. The run parks
(engine.runs, like `wait:`) with the step itself as where it goes on (`Park(again=True)`).

`decide` records a decision (only by the request's approver, only once: a conditional UPDATE in
one transaction), writes it to the record's history (an audit note) and as a comment, and when
the flow has its outcome makes the parked run due in that same transaction. Then, after the
commit, the run goes on at once (`automations.runner.resume_key`); if the process stops in
between, the scheduler's minutely check goes on with it, since it is due: exactly once either
way, as the continuing run's key is unique. On going on, the step runs the `on_approve`,
`on_reject` or (timeout) `on_timeout` steps — their templates see `approval.decision`,
`approval.comment` and `approval.by`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from automations import delivery
from automations.actions import ActionError, Park, RunContext, _can_read, _personal, builtin_schema
from automations.recipients import directory, resolve
from automations.runner import resume_key
from automations.steps import (
    LoopChecks,
    check_steps,
    duration,
    nested_problems,
    nested_writes,
    run_steps,
)
from automations.templates import MAX_BODY, MAX_TITLE
from engine import approvals, inbox, runs
from engine import comments as engine_comments
from engine.automation import Action, Checks, Path, Problem, Write
from engine.channels import APPROVAL_EVENT
from engine.errors import GridbaseError, NotFoundError
from engine.model import BaseDef, TableDef

if TYPE_CHECKING:
    from engine.workspace import Workspace

log = logging.getLogger(__name__)

BRANCHES = ("on_approve", "on_reject", "on_timeout")
KINDS = {"field": "{%s}", "role": "role:%s", "head": "head:%s", "person": "person:%s"}
NEVER = datetime(9999, 12, 31, tzinfo=UTC)  # a flow without a timeout waits for its decision, however long
# The comment a decision leaves on the record, in the workspace's language (with the approver's words after it).
LABELS = {"zh": {"approved": "已批准：", "rejected": "已驳回："}, "en": {"approved": "Approved: ", "rejected": "Rejected: "}}


def expressions(spec: Any) -> list[str]:
    """The approvers of a step as recipient expressions (automations.recipients), in the order named."""
    items = spec if isinstance(spec, list) else [spec] if spec else []
    out: list[str] = []
    for item in items:
        if isinstance(item, dict) and len(item) == 1:
            kind, value = next(iter(item.items()))
            if kind in KINDS:
                text = str(value).strip()
                out.append(KINDS[kind] % (text[1:-1] if kind == "field" and text.startswith("{") else text))
    return out


class ApprovalChecks(LoopChecks):
    """The base checker as a branch's steps see it: their templates may read `approval` (not `item`)."""

    def err(self, path: Path, message: str, hint: str = "", *, key: bool = False) -> None:
        if not message.startswith("unknown variable 'approval' "):
            self._checks.err(path, message, hint, key=key)


class Approval(Action):
    """Ask people to approve or reject; the run waits, then goes on with on_approve or on_reject."""

    type = "approval"
    top_level_only: ClassVar[bool] = True  # the run parks and goes on at this step (automations.runner)
    schema: ClassVar[dict[str, Any]] = builtin_schema(
        "approval", "Ask people to approve or reject, then branch. / 审批",
        {"approvers": {"role": "qc"}, "mode": "any", "message": "请审批：{{ record.title }}",
         "on_approve": [{"update": {"status": "已办结"}}], "on_reject": [{"update": {"status": "处理中"}}]})

    def check(self, checks: Checks, path: Path, spec: Any, table: TableDef | None, what: str) -> None:
        if not isinstance(spec, dict):
            return
        if table is None:
            checks.err(path, f"approval in {what} needs a record, and this automation's trigger has no table")
            return
        raw = spec.get("approvers")
        for i, expr in enumerate(expressions(raw)):
            checks.recipient(path + (("approvers", i) if isinstance(raw, list) else ("approvers",)), expr, table, what)
        if "timeout" in spec and duration(spec["timeout"]) is None:
            checks.err(path + ("timeout",), f"'{spec['timeout']}' in {what} is not a duration",
                       "write e.g. 30m, 4h, 2d or 1w")
        for key in BRANCHES:
            check_steps(ApprovalChecks(checks), path + (key,), spec.get(key), table, what)

    def writes(self, spec: Any, base: BaseDef, table: TableDef | None) -> list[Write]:
        return nested_writes(spec, BRANCHES, base, table)

    def problems(self, spec: Any, base: BaseDef, table: TableDef | None) -> list[Problem]:
        return nested_problems(spec, BRANCHES, base, table)

    def run(self, ctx: Any, index: Any, spec: Any) -> dict[str, Any]:
        if ctx.table is None or ctx.record_id is None:
            raise ActionError("approval needs a record, and this run has none")
        flows = ctx.extra.setdefault("_approvals", {})
        mine = flows.get(str(index))
        if mine is None:
            flows[str(index)] = mine = ask(ctx, index, spec)
            raise Park(datetime.fromisoformat(mine["due"]) if mine["due"] else NEVER, again=True)
        conn, now = ctx.ws.storage.conn, ctx.ws.now()
        result = approvals.outcome(conn, mine["flow"])
        if result is None:
            due = datetime.fromisoformat(mine["due"]) if mine["due"] else None
            if due is None or due > now:  # woken too early: wait on, parked under this run's key now
                approvals.move(conn, mine["flow"], ctx.run_key)
                raise Park(due or NEVER, again=True)
            approvals.expire(conn, mine["flow"], now)
            result = {"decision": "expired", "by": "", "comment": "", "at": None}
        people = ctx.people()
        by = people[result["by"]].name if result["by"] in people else result["by"]
        ctx.extra["approval"] = {"decision": result["decision"], "comment": result["comment"], "by": by}
        branch = {"approved": "on_approve", "rejected": "on_reject"}.get(result["decision"]) or \
            ("on_timeout" if spec.get("on_timeout") else "on_reject")
        ctx.refresh()
        return {"decision": result["decision"], "by": result["by"], "branch": branch,
                "steps": run_steps(ctx, f"{index}.{branch}", spec.get(branch))}


def ask(ctx: RunContext, index: int, spec: dict[str, Any]) -> dict[str, Any]:
    """Make the step's requests and ask the first approver(s); the flow key and its due time (UTC text)."""
    ws = ctx.ws
    try:
        people, _ = resolve(ws, expressions(spec.get("approvers")), ctx.table, ctx.row, people=ctx.people())
    except ValueError as exc:
        raise ActionError(str(exc)) from exc
    readers = [p for p in people if _can_read(ctx, p.key)]
    if not readers:
        raise ActionError("approval: no approver found who may read the record")
    mode = "any" if spec.get("mode") == "any" else "sequence"
    span = duration(spec["timeout"]) if spec.get("timeout") else None
    due = ws.now() + span if span is not None else None
    flow = f"{ctx.run_key}:{index}"
    title_t, body_t = spec.get("title") or ctx.auto.name, spec.get("message") or ""
    requests = [(p.key, str(ctx.render(title_t, p.key))[:MAX_TITLE], str(ctx.render(body_t, p.key))[:MAX_BODY])
                for p in readers]
    asked = approvals.ask(ws.storage.conn, flow=flow, run_key=ctx.run_key, base=ctx.base, automation=ctx.auto.key,
                          table=ctx.table.key, record=ctx.record_id, mode=mode, requests=requests, link=ctx.link,
                          due=due, now=ws.now())
    for request in asked:
        tell(ws, request)
    return {"flow": flow, "due": due.isoformat() if due else None}


def tell(ws: Workspace, request: dict[str, Any]) -> None:
    """Tell an approver they are asked: an inbox notification and a message on each personal channel."""
    person = directory(ws).get(request["approver"])
    if person is None:
        return
    key = f"{request['flow']}:{request['seq']}:ask"
    link = f"{request['link']}#approval" if request["link"] else ""  # the record page's Approve / Reject
    nid, new = inbox.add(ws.storage.conn, person=person.key, at=ws.now(), title=request["title"], body=request["body"],
                         link=link, base=request["base"], table=request["tbl"],
                         record=request["record"], key=key)
    if not new:
        return
    approvals.noted(ws.storage.conn, int(request["id"]), nid)
    for name in dict.fromkeys(c for c in person.channels if c != "inbox"):
        if name not in ws.config.channels or not _personal(ws, name):
            continue
        delivery.queue(ws, channel=name, key=f"{key}:{name}", person=person.key, notification=nid,
                       message={"title": request["title"], "body": request["body"], "link": link,
                                "event": APPROVAL_EVENT, "recipient_name": person.name, "recipient_email": person.email,
                                "recipient_phone": person.phone, "recipient_ids": person.accounts.get(name, {})})


def decide(ws: Workspace, ident: int, person: str, decision: str, comment: str = "",
           *, go_on: bool = True) -> dict[str, Any]:
    """`person` approves or rejects request `ident` (with a comment); the run goes on once the flow is decided.

    Raises PermissionDenied (not their request), NotFoundError (no such request, or about a record they
    may no longer read: deleted, say) or GridbaseError
    (`approval_decided`: decided already, by them or another approver). `go_on=False` leaves the
    continuation to the scheduler's next check (as a process stopped right after the commit would)."""
    comment = (comment or "").strip()[:2000]
    actor = ws.actor(person)
    asked = approvals.one(ws.storage, ident)
    if asked is not None and asked["approver"] == person and asked["tbl"] and asked["record"] and not \
            engine_comments.may_read(ws.base(asked["base"]).table(asked["tbl"]), person, asked["record"]):
        raise NotFoundError(code="approval_unknown")  # the record was deleted, or is out of their reach now
    with ws.storage.transaction() as conn:
        found = approvals.decide(conn, ident, person, decision, comment, ws.now())
        request = found["request"]
        for done in approvals.of_flow(conn, request["flow"]):  # the notifications that asked and need nothing more
            if done["notification"] and done["status"] not in approvals.OPEN:
                inbox.mark_read(ws.storage, done["approver"], int(done["notification"]), ws.now())
        ws.audit.note(actor, request["base"], request["tbl"] or "", request["record"] or "", decision,
                      {"approval": ident, "comment": comment})
        if request["tbl"] and request["record"]:
            label = LABELS["zh" if ws.config.locale.startswith("zh") else "en"][decision]
            body = label + comment if comment else label.rstrip(":： ")
            try:
                engine_comments.add(ws.base(request["base"]).table(request["tbl"]), request["record"],
                                    body, actor=actor)
            except GridbaseError:
                pass  # an approver who may not read the record leaves no comment there, only the history entry
        if found["next"] is not None:
            tell(ws, found["next"])
        elif found["outcome"] is not None:
            runs.wake(conn, request["run_key"], ws.now())
    if go_on and found["outcome"] is not None:
        try:
            resume_key(ws, request["run_key"])
        except Exception:  # the decision is kept and the run is due: the scheduler's next check goes on with it
            log.exception("the run waiting for approval %s could not go on now", ident)
    return found
