"""The command line starts with only what the chosen command needs (gridbase.arguments names the
module that runs each command), and every command it lists is run by the module it names."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys

from gridbase.arguments import build_parser
from gridbase.commands import COMMANDS
from tests_support import ROOT

# What only serving, FHIR, automations or spreadsheets need: none of it is loaded for a command
# that does not use it (each costs a `gridbase` start tenths of a second of CPU).
HEAVY = ("gridbase.app", "views", "altair", "uvicorn", "fhir", "automations", "openpyxl")

PROBE = """
import importlib, json, sys
from gridbase.arguments import build_parser
loaded = {}
for argv in json.loads(sys.argv[1]):
    importlib.import_module(build_parser().parse_args(argv).runs_in)
    loaded[argv[0]] = sorted({m.split(".")[0] if m.split(".")[0] != "gridbase" else m for m in sys.modules})
print(json.dumps(loaded))
"""


def subcommands() -> dict[str, str]:
    """{command: the module arguments names to run it}."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {name: p.get_default("runs_in") for name, p in sub.choices.items()}


def test_every_command_is_run_by_the_module_arguments_names() -> None:
    named = subcommands()
    assert {"validate", "apply", "import", "export", "serve", "demo", "runs", "init", "template", "fhir"} <= set(named)
    for name, module in named.items():
        assert module, f"{name}: no module named to run it"
        importlib.import_module(module)
        runner = COMMANDS[name]
        assert runner.__module__ == module, f"{name} is run by {runner.__module__}, arguments names {module}"


def test_the_tutorial_commands_start_without_the_app_fhir_or_spreadsheets() -> None:
    # In order, one process: each command adds only its own module to those before it.
    argv = [["validate", "ws"], ["plan", "ws"], ["passwd", "ws", "admin"], ["token", "ws", "list", "admin"],
            ["init", "ws"], ["export", "ws", "t"]]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    for command in ("validate", "plan", "passwd", "token", "init"):
        assert not set(HEAVY) & set(loaded[command]), (command, set(HEAVY) & set(loaded[command]))
    assert "openpyxl" in loaded["export"] and "gridbase.app" not in loaded["export"]  # XLSX export
