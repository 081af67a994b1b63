"""The getting-started tutorials run exactly as written, and print what the pages say.

How a page is read (the convention the tutorial pages follow):

- A fenced block opened with ```` ```console ```` is run. Each line starting with `$ ` is a
  command, run with bash in a fresh temporary folder (the reader's "current folder"), with
  this checkout's `.venv/bin` first on PATH so that `gridbase` is this Gridbase. The lines
  after it, up to the next `$ ` line or the end of the block, are its expected output
  (standard output and standard error together), compared line by line after trimming
  trailing spaces. Every command must exit with 0.
- In expected output, `<TOKEN>`, `<DATE>`, `<TIME>`, `<ID>`, `<PATH>` (any `<UPPERCASE>` word)
  stand for text that differs on every run; each matches any text on that line.
- An HTML comment `<!-- tutorial-edit: FILE after "TEXT" -->` followed by a ```` ```yaml ````
  block is an edit the reader makes by hand: the block's lines are inserted into FILE after
  the first line containing TEXT.
- Any other block (```` ```sh ````, ```` ```yaml ````) is for reading only; `gridbase serve`
  is described that way, since it runs until stopped.

Nothing is substituted in the commands: they use folder names relative to the current folder.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests_support import ROOT

PAGES = ("docs/getting-started.md", "docs/getting-started.zh-CN.md")
PLACEHOLDER = re.compile(r"<[A-Z]+>")
EDIT = re.compile(r'<!-- tutorial-edit: (?P<file>\S+) after "(?P<after>[^"]+)" -->')


@dataclass
class Step:
    """A command with its expected output, or a hand edit of a file."""

    line: int
    command: str = ""
    expected: list[str] = field(default_factory=list)
    edit_file: str = ""
    edit_after: str = ""
    edit_text: str = ""


def steps_of(text: str) -> list[Step]:
    """The runnable steps of a tutorial page, in order."""
    steps: list[Step] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = EDIT.match(lines[i].strip())
        if match:
            start = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            end = next(j for j in range(start + 1, len(lines)) if lines[j].startswith("```"))
            steps.append(Step(i + 1, edit_file=match["file"], edit_after=match["after"],
                              edit_text="\n".join(lines[start + 1:end]) + "\n"))
            i = end + 1
            continue
        if lines[i].strip() == "```console":
            i += 1
            while not lines[i].startswith("```"):
                if lines[i].startswith("$ "):
                    steps.append(Step(i + 1, command=lines[i][2:]))
                elif steps:
                    steps[-1].expected.append(lines[i])
                i += 1
        i += 1
    return steps


def line_matches(expected: str, actual: str) -> bool:
    parts = PLACEHOLDER.split(expected.rstrip())
    pattern = ".+?".join(re.escape(p) for p in parts)
    return re.fullmatch(pattern, actual.rstrip()) is not None


def apply_edit(folder: Path, step: Step) -> None:
    path = folder / step.edit_file
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(n for n, line in enumerate(lines) if step.edit_after in line)
    lines[at + 1:at + 1] = [step.edit_text]
    path.write_text("".join(lines), encoding="utf-8")


def run(folder: Path, command: str) -> tuple[int, list[str]]:
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
           "COLUMNS": "100", "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    output = (proc.stdout + proc.stderr).replace("\r\n", "\n")
    return proc.returncode, output.rstrip("\n").split("\n") if output.strip() else []


@pytest.mark.parametrize("page", PAGES)
def test_tutorial_runs_as_written(page: str, tmp_path: Path) -> None:
    steps = steps_of((ROOT / page).read_text(encoding="utf-8"))
    assert sum(1 for s in steps if s.command) >= 10, "the tutorial lost its commands"
    for step in steps:
        if step.edit_file:
            apply_edit(tmp_path, step)
            continue
        code, actual = run(tmp_path, step.command)
        where = f"{page}:{step.line}: $ {step.command}"
        assert code == 0, f"{where}\nexited with {code}:\n" + "\n".join(actual)
        expected = [e for e in step.expected]
        while expected and not expected[-1].strip():
            expected.pop()
        shown = "\n".join(actual)
        assert len(actual) == len(expected), f"{where}\nexpected {len(expected)} lines, got:\n{shown}"
        for n, (want, got) in enumerate(zip(expected, actual, strict=True)):
            assert line_matches(want, got), f"{where}\noutput line {n + 1}:\n  page: {want}\n  got:  {got}"


def test_placeholders_match_one_line_only() -> None:
    assert line_matches("token <TOKEN>", "token gbt_abc")
    assert not line_matches("token <TOKEN>", "token")
    assert line_matches("$schema=<PATH>/base.schema.json", "$schema=/x/y/base.schema.json")
