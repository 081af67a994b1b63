"""`gridbase mail DIR fetch|list-failed|retry ID`: read the mailboxes of `mailboxes:` once, and their dead letters.

`fetch` runs one pass over every mailbox (or `--mailbox NAME`) — the same pass the server's
poller (automations.mailpoll) makes every `poll_seconds`. `list-failed` lists the mails that
could not be taken, with why; `retry ID` takes one again (after the YAML or the person's role
was fixed) and removes it from the list when it is taken.
"""

from __future__ import annotations

import argparse

from automations import mailpoll
from engine import mailintake
from gridbase.commands import command, err, open_ws, out


@command("mail")
def cmd_mail(args: argparse.Namespace) -> int:
    ws = open_ws(args)
    try:
        boxes = mailintake.mailboxes_of(ws.config)
        if args.mailbox is not None and args.mailbox not in boxes:
            err(f"no mailbox '{args.mailbox}'; the mailboxes are: {', '.join(sorted(boxes)) or 'none'}")
            return 2
        if args.action == "fetch":
            if not boxes:
                out("no mailboxes: add mailboxes: to a base (see docs/intake.md)")
            for key, box in sorted(boxes.items()):
                if args.mailbox in (None, key):
                    out(mailpoll.fetch(ws, box).summary())
        elif args.action == "list-failed":
            rows = mailintake.failed(ws, args.mailbox)
            for row in rows:
                kept = "" if row["kept"] else " (not kept: cannot be retried)"
                out(f"{row['id']}  {row['at']}  {row['mailbox']}  {row['message_id']}  tries {row['attempts']}{kept}")
                out(f"    {row['error']}")
            out(f"{len(rows)} failed mail(s)")
        else:
            if args.id is None:
                err("retry needs the id of a failed mail: gridbase mail DIR retry ID (ids from list-failed)")
                return 2
            taken = mailintake.retry(ws, args.id)
            what = f"comment {taken.comment} on record {taken.record}" if taken.comment else f"record {taken.record}"
            out(f"taken: {what}")
    finally:
        ws.close()
    return 0
