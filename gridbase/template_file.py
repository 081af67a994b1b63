"""The template file: one base, what it needs of a workspace, a README and optional sample data.

A *template* is a zip file (`.gbt`, written by `gridbase template export`) or, in the gallery
shipped with Gridbase (`gridbase/templates/<key>/`), the same files unpacked:

    template.yaml          the manifest: format, version, key, names and descriptions in English
                           and Chinese, the base, the workspace part it needs, a sha256 per file
    bases/<base>.yaml      the base, as written by its author (comments kept)
    README.md              what it is for and how to start
    data/<table>.json      optional sample records ({field key: value}, as an admin read them)

The *workspace part* of the manifest holds the roles, departments, people and channels the base
refers to (see gridbase.template_refs). People are *placeholders*: a key, why the base needs
them, their roles — never a name, e-mail, phone or password. `gridbase init --template` asks
whom they stand for.

Reading never trusts the file: paths must be plain relative names in the known folders (no
`..`, no absolute path, no link), sizes are bounded before anything is unpacked, the format and
version must be known, and every file must match the checksum in the manifest (an edited file
is "tampered"). Each problem is a `TemplateError` with a message that says what is wrong.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from engine.errors import GridbaseError

FORMAT = "gridbase-template"
VERSION = 1
MANIFEST = "template.yaml"
GALLERY = Path(__file__).resolve().parent / "templates"
MAX_ZIP_BYTES = 25 * 1024 * 1024        # the file itself
MAX_FILES = 200
MAX_TOTAL_BYTES = 50 * 1024 * 1024      # unpacked, all files
MAX_FILE_BYTES = 20 * 1024 * 1024       # unpacked, one file
MAX_RATIO = 200                         # unpacked / packed, per file (a zip bomb packs far tighter)
ALLOWED = re.compile(r"^(template\.yaml|README\.md|bases/[a-z][a-z0-9_]*\.yaml|data/[a-z][a-z0-9_]*\.json)$")
KEY = re.compile(r"^[a-z][a-z0-9_]*$")
LANGS = ("en", "zh-CN")
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's safe loader when built in
FIXED_TIME = (2020, 1, 1, 0, 0, 0)      # every zip entry's time: the same template, the same bytes


class TemplateError(GridbaseError):
    """A template file that cannot be used, and why."""


@dataclass
class Template:
    key: str
    base: str
    base_text: str
    name: dict[str, str]
    description: dict[str, str]
    workspace: dict[str, Any] = field(default_factory=dict)
    readme: str = ""
    data: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    origin: str = ""

    def text(self, what: str, lang: str) -> str:
        """The name or description in `lang`, else in the other language."""
        values: dict[str, str] = getattr(self, what)
        return values.get(lang) or next((v for v in values.values() if v), "")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def to_files(t: Template) -> dict[str, bytes]:
    """The files of template `t`, the manifest last computed over the others."""
    files: dict[str, bytes] = {f"bases/{t.base}.yaml": t.base_text.encode("utf-8"),
                               "README.md": t.readme.encode("utf-8")}
    for table, rows in sorted(t.data.items()):
        files[f"data/{table}.json"] = (json.dumps(rows, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
    manifest = {"format": FORMAT, "version": VERSION, "key": t.key, "base": t.base,
                "name": t.name, "description": t.description, "workspace": t.workspace,
                "files": {name: sha(data) for name, data in sorted(files.items())}}
    files[MANIFEST] = yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False, width=100).encode("utf-8")
    return files


def write_zip(t: Template, path: Path) -> None:
    """Write `t` as one zip file at `path` (byte for byte the same for the same template)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(to_files(t).items()):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(info, data)
    path.write_bytes(buffer.getvalue())


def write_folder(t: Template, folder: Path) -> None:
    """Write `t` unpacked into `folder` (the gallery's form)."""
    for name, data in to_files(t).items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _checked_name(name: str, origin: str) -> str:
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or "\\" in name or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
        raise TemplateError(f"{origin}: refused: the entry '{name}' would be written outside the workspace "
                            "(an absolute path or '..'); this file is not a safe template")
    if not ALLOWED.match(name):
        raise TemplateError(f"{origin}: refused: unexpected entry '{name}'; a template holds template.yaml, "
                            "README.md, bases/<key>.yaml and data/<table>.json only")
    return name


def read_zip(path: Path) -> Template:
    """Read and check a template zip file."""
    origin = path.name
    size = path.stat().st_size
    if size > MAX_ZIP_BYTES:
        raise TemplateError(f"{origin}: refused: the file is {size // (1024 * 1024)} MB; a template may be at most "
                            f"{MAX_ZIP_BYTES // (1024 * 1024)} MB")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise TemplateError(f"{origin}: not a template file (not a zip archive: {exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_FILES:
            raise TemplateError(f"{origin}: refused: {len(infos)} entries; a template holds at most {MAX_FILES}")
        total = 0
        for info in infos:
            _checked_name(info.filename, origin)
            if stat.S_ISLNK(info.external_attr >> 16) or info.is_dir():
                raise TemplateError(f"{origin}: refused: the entry '{info.filename}' is a link or a folder")
            total += info.file_size
            if info.file_size > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES or (
                    info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1)):
                raise TemplateError(f"{origin}: refused: '{info.filename}' unpacks to {info.file_size} bytes; "
                                    f"a template unpacks to at most {MAX_FILE_BYTES // (1024 * 1024)} MB per file and "
                                    f"{MAX_TOTAL_BYTES // (1024 * 1024)} MB in all")
        files: dict[str, bytes] = {}
        for info in infos:
            if info.filename in files:
                raise TemplateError(f"{origin}: refused: the entry '{info.filename}' appears twice")
            with zf.open(info) as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                raise TemplateError(f"{origin}: refused: '{info.filename}' unpacks to more than it claims")
            files[info.filename] = data
    return from_files(files, origin)


def read_folder(folder: Path) -> Template:
    """Read and check a template unpacked in `folder` (a gallery entry)."""
    files: dict[str, bytes] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = _checked_name(path.relative_to(folder).as_posix(), folder.name)
        files[name] = path.read_bytes()
    return from_files(files, folder.name)


def _yaml(data: bytes, name: str, origin: str) -> Any:
    try:
        text = data.decode("utf-8")
        if any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, Loader=LOADER)):
            raise TemplateError(f"{origin}: refused: {name} uses YAML aliases (*name); templates do not")
        return yaml.load(text, Loader=LOADER)
    except UnicodeDecodeError:
        raise TemplateError(f"{origin}: {name} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"{origin}: {name} is not valid YAML: {exc}") from None


def _texts(value: Any, what: str, origin: str) -> dict[str, str]:
    if isinstance(value, str):
        return {lang: value for lang in LANGS}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise TemplateError(f"{origin}: template.yaml: '{what}' must be a text or a mapping of language to text")
    return dict(value)


def from_files(files: dict[str, bytes], origin: str) -> Template:
    """A template from its files, after checking the manifest, the version and every checksum."""
    if MANIFEST not in files:
        raise TemplateError(f"{origin}: not a Gridbase template (no template.yaml inside)")
    manifest = _yaml(files[MANIFEST], MANIFEST, origin)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise TemplateError(f"{origin}: not a Gridbase template (template.yaml does not say format: {FORMAT})")
    version = manifest.get("version")
    if version != VERSION:
        raise TemplateError(f"{origin}: template format version {version!r} is not supported; this Gridbase "
                            f"reads version {VERSION} (export it again with this version, or upgrade Gridbase)")
    key, base = manifest.get("key"), manifest.get("base")
    if not isinstance(key, str) or not KEY.match(key) or not isinstance(base, str) or not KEY.match(base):
        raise TemplateError(f"{origin}: template.yaml: 'key' and 'base' must be keys (lower-case letters, digits, _)")
    sums = manifest.get("files")
    if not isinstance(sums, dict):
        raise TemplateError(f"{origin}: template.yaml lists no files with their checksums")
    listed = set(sums)
    present = set(files) - {MANIFEST}
    if present - listed:
        raise TemplateError(f"{origin}: tampered: {', '.join(sorted(present - listed))} not listed in template.yaml")
    if listed - present:
        raise TemplateError(f"{origin}: incomplete: {', '.join(sorted(listed - present))} missing")
    for name in sorted(present):
        if sums[name] != sha(files[name]):
            raise TemplateError(f"{origin}: tampered: {name} was changed after the template was exported "
                                "(its checksum does not match template.yaml)")
    base_name = f"bases/{base}.yaml"
    if base_name not in files or [n for n in present if n.startswith("bases/")] != [base_name]:
        raise TemplateError(f"{origin}: a template holds exactly one base, {base_name}")
    base_text = files[base_name].decode("utf-8", errors="strict")
    parsed = _yaml(files[base_name], base_name, origin)
    if not isinstance(parsed, dict) or parsed.get("base") != base:
        raise TemplateError(f"{origin}: {base_name} must declare `base: {base}`, as template.yaml says")
    workspace = manifest.get("workspace") or {}
    if not isinstance(workspace, dict):
        raise TemplateError(f"{origin}: template.yaml: 'workspace' must be a mapping")
    for part in ("roles", "departments", "people", "channels"):
        value = workspace.get(part) or {}
        if not isinstance(value, dict) or not all(isinstance(k, str) and KEY.match(k) and isinstance(v, dict)
                                                   for k, v in value.items()):
            raise TemplateError(f"{origin}: template.yaml: workspace.{part} must map keys to mappings")
    data: dict[str, list[dict[str, Any]]] = {}
    for name in sorted(n for n in present if n.startswith("data/")):
        try:
            rows = json.loads(files[name].decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise TemplateError(f"{origin}: {name} is not valid JSON") from None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise TemplateError(f"{origin}: {name} must be a list of records")
        data[PurePosixPath(name).stem] = rows
    return Template(key=key, base=base, base_text=base_text, name=_texts(manifest.get("name", key), "name", origin),
                    description=_texts(manifest.get("description", ""), "description", origin),
                    workspace=workspace, readme=files.get("README.md", b"").decode("utf-8", errors="replace"),
                    data=data, origin=origin)


def gallery() -> list[Template]:
    """The templates shipped with Gridbase, by key."""
    if not GALLERY.is_dir():
        return []
    return [read_folder(p) for p in sorted(GALLERY.iterdir()) if (p / MANIFEST).is_file()]


def find(name: str) -> Template:
    """A template by file, folder or gallery key."""
    path = Path(name)
    if path.is_file():
        return read_zip(path)
    if path.is_dir():
        return read_folder(path)
    if KEY.match(name) and (GALLERY / name / MANIFEST).is_file():
        return read_folder(GALLERY / name)
    known = ", ".join(t.key for t in gallery())
    raise TemplateError(f"no template file or gallery template named '{name}' (the gallery has: {known}; "
                        "see gridbase template list)")
