"""`gridbase init DIR`: a new workspace that validates, applies and takes a form submission.

The files come from `gridbase/templates_init/<lang>/` (a *template* folder per language).
Each YAML file gets a first line pointing editors at its JSON Schema (the *schema comment*):

    # yaml-language-server: $schema=../../schemas/base.schema.json

The path is relative when the new workspace lies inside this Gridbase checkout, and the
absolute path of the installed `schemas/` folder otherwise, so completion works either way.
`.vscode/settings.json` maps the same schemas for VS Code's YAML extension. `init` never
overwrites: a folder that exists and is not empty is refused.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path
from typing import Any

from engine.errors import GridbaseError
from gridbase.commands import command, out

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "schemas"
TEMPLATES = Path(__file__).resolve().parent / "templates_init"
LANGS = ("en", "zh-CN")
# template file (relative to the template folder) -> the schema it is checked against
YAML_FILES = {"workspace.yaml": "workspace", "bases/requests.yaml": "base"}
OTHER_FILES = ("README.md",)


def schema_ref(schema: str, yaml_file: Path) -> str:
    """How `yaml_file` should name `schemas/<schema>.schema.json`: relative inside the repo."""
    target = SCHEMA_DIR / f"{schema}.schema.json"
    folder = yaml_file.resolve().parent
    if folder.is_relative_to(ROOT):
        return Path(os.path.relpath(target, folder)).as_posix()
    return target.as_posix()


def workspace_key(folder: Path) -> str:
    """A valid workspace key made from the folder's name (`My Clinic` -> `my_clinic`)."""
    key = re.sub(r"[^a-z0-9_]+", "_", folder.resolve().name.lower()).strip("_")
    if not key or not key[0].isalpha():
        key = "ws_" + key
    return key.rstrip("_") or "workspace"


def vscode_settings(target: Path) -> dict[str, Any]:
    """`.vscode/settings.json`: which schema checks which files (yaml-language-server)."""
    inside = target.resolve().is_relative_to(ROOT)
    schemas = {}
    for rel, schema in YAML_FILES.items():
        path = SCHEMA_DIR / f"{schema}.schema.json"
        ref = Path(os.path.relpath(path, target.resolve())).as_posix() if inside else path.as_posix()
        pattern = "bases/*.yaml" if rel.startswith("bases/") else rel
        schemas[ref] = [pattern]
    return {"yaml.schemas": schemas, "files.associations": {"*.yaml": "yaml"}}


def check_target(target: Path) -> None:
    """Refuse a file, or a folder that already holds anything."""
    if target.exists() and not target.is_dir():
        raise GridbaseError(f"{target} exists and is not a folder")
    if target.is_dir() and any(target.iterdir()):
        raise GridbaseError(f"{target} is not empty; gridbase init only writes into a new or empty folder "
                            "(nothing was changed)")


def run_init(target: Path, lang: str) -> list[Path]:
    """Write a new workspace into `target` (new or empty) in language `lang`; return the files."""
    if lang not in LANGS:
        raise GridbaseError(f"unknown language '{lang}'; choose one of {', '.join(LANGS)}")
    target = Path(target)
    check_target(target)
    source = TEMPLATES / lang
    written: list[Path] = []
    for rel, schema in YAML_FILES.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = (source / rel).read_text(encoding="utf-8")
        if rel == "workspace.yaml":
            text = text.replace("workspace: my_workspace ", f"workspace: {workspace_key(target)} ", 1)
        path.write_text(f"# yaml-language-server: $schema={schema_ref(schema, path)}\n{text}", encoding="utf-8")
        written.append(path)
    for rel in OTHER_FILES:
        path = target / rel
        path.write_text((source / rel).read_text(encoding="utf-8"), encoding="utf-8")
        written.append(path)
    settings = target / ".vscode" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps(vscode_settings(target), indent=2) + "\n", encoding="utf-8")
    written.append(settings)
    return written


@command("init")
def cmd_init(args: argparse.Namespace) -> int:
    """Write the workspace and say what to do next."""
    target = Path(args.dir)
    files = run_init(target, args.lang)
    out(f"created a new workspace in {args.dir} ({args.lang}):")
    for path in files:
        out(f"  {path.relative_to(target).as_posix()}")
    out("the first admin is 'admin' with password 'change-me-now': change it with gridbase passwd")
    out(f"next: gridbase validate {args.dir}")
    return 0
