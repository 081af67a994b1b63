"""The command registry of the `gridbase` command line, and what every command uses.

A command is one function taking the parsed arguments and returning an exit code, registered
with `@command(name)` in `COMMANDS`; its arguments are declared in gridbase.arguments, which
also names the module that runs it. `gridbase.cli` parses the arguments, imports that module
and runs the chosen command. `out` and `err` print a line; `open_ws` opens the workspace a command names.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from engine import Workspace

Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    def register(func: Command) -> Command:
        COMMANDS[name] = func
        return func
    return register


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def err(text: str) -> None:
    sys.stderr.write(text + "\n")


def open_ws(args: argparse.Namespace) -> Workspace:
    return Workspace.open(args.dir, db=getattr(args, "db", None))
