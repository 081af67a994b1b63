"""Shared fixtures: a temporary workspace factory and the dental example."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine import Workspace
from tests_support import DENTAL, ROOT, WORKSPACE_YAML, write_workspace  # noqa: F401 (re-exported)


@pytest.fixture
def make_workspace(tmp_path: Path) -> Iterator[Callable[..., Workspace]]:
    """make_workspace(bases={name: yaml}, workspace=yaml) -> applied Workspace on a temp SQLite file."""
    opened: list[Workspace] = []

    def make(bases: dict[str, str], workspace: str = WORKSPACE_YAML, *, apply: bool = True) -> Workspace:
        root = write_workspace(tmp_path / "ws", bases, workspace)
        ws = Workspace.open(root, db=tmp_path / "test.db")
        if apply:
            ws.apply()
        opened.append(ws)
        return ws

    yield make
    for ws in opened:
        ws.close()


@pytest.fixture
def dental_copy(tmp_path: Path) -> Path:
    target = tmp_path / "dalian_dental"
    shutil.copytree(DENTAL, target, ignore=shutil.ignore_patterns("data"))
    return target
