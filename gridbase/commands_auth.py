"""`gridbase` commands about signing in: passwd, token and second-factor.

Thin wrappers over engine.signins (passwords), engine.tokens (scoped personal API tokens)
and engine.second_factor (TOTP and recovery codes). A password must pass
engine.auth.password_problem; a token is shown once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from engine import people, second_factor, sessions, signins, tokens
from engine.auth import hash_password, password_problem
from engine.errors import GridbaseError, NotFoundError
from engine.group import is_group
from gridbase.commands import command, open_ws, out
from gridbase.group_open import open_workspaces

Adder = Callable[..., argparse.ArgumentParser]


def _known(ws: Any, person: str) -> None:
    if not people.exists(ws.storage, person):
        raise NotFoundError(f"unknown person '{person}'")


def _group_passwd(args: argparse.Namespace) -> int:
    """`gridbase passwd GROUP_DIR KEY`: a directory person's password, set in each of their workspaces."""
    config, workspaces = open_workspaces(args.dir)
    try:
        names = config.member_of(args.person)
        if not names:
            raise NotFoundError(f"'{args.person}' is not in the group directory (group.yaml); for a person of one "
                                "workspace run: gridbase passwd GROUP_DIR/WORKSPACE KEY")
        password = sys.stdin.readline().rstrip("\r\n")
        first = workspaces[names[0]]
        problem = password_problem(password, person=args.person, email=signins.email_of(first, args.person))
        if problem:
            raise GridbaseError(f"{problem}; nothing was changed")
        hashed = hash_password(password)
        for name in names:
            signins.set_password(workspaces[name], args.person, hashed)
        out(f"password set for {args.person} in {', '.join(names)}")
    finally:
        for ws in workspaces.values():
            ws.close()
    return 0


@command("passwd")
def cmd_passwd(args: argparse.Namespace) -> int:
    if is_group(args.dir) and not getattr(args, "db", None):
        return _group_passwd(args)
    ws = open_ws(args)
    ws.apply()
    password = sys.stdin.readline().rstrip("\r\n")
    problem = password_problem(password, person=args.person, email=signins.email_of(ws, args.person))
    if problem:
        raise GridbaseError(f"{problem}; nothing was changed")
    if not signins.set_password(ws, args.person, hash_password(password)):
        raise NotFoundError(f"unknown person '{args.person}'")
    out(f"password set for {args.person}")
    return 0


@command("token")
def cmd_token(args: argparse.Namespace) -> int:
    ws = open_ws(args)
    ws.apply()
    _known(ws, args.person)
    if args.action == "list":
        for t in tokens.of_person(ws, args.person):
            where = ",".join(t.bases) if t.bases is not None else "all bases"
            out("\t".join([str(t.id), t.name, t.created_at, t.expires_at or "", t.revoked_at or "",
                           " ".join(t.scopes), where]))
        return 0
    if args.action == "revoke":
        count = tokens.revoke(ws, args.person, token_id=args.id, name=None if args.id is not None else args.name)
        out(f"revoked {count} token(s)")
        return 0
    secret, token = tokens.create(ws, args.person, name=args.name, scopes=args.scope, bases=args.base,
                                  expires_days=args.expires)
    narrowed = (f", scopes {' '.join(token.scopes)}" if args.scope else "") + (
        f", bases {' '.join(token.bases)}" if token.bases else "")
    out(f"token '{token.name}' for {args.person}" + (f", expires {token.expires_at[:10]}" if token.expires_at else "")
        + narrowed + "; it is shown only once:")
    out(secret)
    return 0


@command("second-factor")
def cmd_second_factor(args: argparse.Namespace) -> int:
    ws = open_ws(args)
    ws.apply()
    _known(ws, args.person)
    if args.action == "status":
        state = "on" if second_factor.enrolled(ws, args.person) else "off"
        out(f"{args.person}: second factor {state}, {second_factor.recovery_codes_left(ws, args.person)} recovery code(s) left")
        return 0
    had = second_factor.reset(ws, args.person)
    sessions.end_all(ws, args.person)
    out(f"second factor of {args.person} {'removed' if had else 'was not set up'}; their sessions were ended;"
        " they set up a new one from their account page (or at sign-in, if the workspace requires one)")
    return 0
