"""`gridbase people DIR sync-ids --channel KEY [--write]`: people's ids in a messaging app.

Owns this command only. The people of workspace.yaml with an e-mail or a mobile (`phone`) are
looked up through the channel's own API (`Channel.find_accounts`; for a `feishu_app` channel
Feishu's contact/v3/users/batch_get_id, by e-mail first, then mobile) and each one found gets
`accounts: {KEY: {open_id: …}}` (a `wecom_app` channel: `userid`, by WeCom's
user/get_userid_by_email and user/getuserid), the id the channel sends to. Without `--write` the lines to
paste are printed; with it workspace.yaml is edited in place, keeping its comments and layout:
only the text of each changed person's mapping is touched (a flow mapping `{…}` gets
`, accounts: {…}` before its closing brace, a block mapping a line at its indentation), then
the file is read back and checked. People not found, and people with neither an e-mail nor a
mobile, are reported, never guessed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node

from automations.delivery import build_channel
from engine.channels import DeliveryError
from engine.errors import GridbaseError
from engine.loader import load_workspace
from engine.model import WorkspaceConfig


@dataclass
class Synced:
    """What a sync found: ids by person, how each was matched, who was not found and why."""

    channel: str
    ids: dict[str, dict[str, str]] = field(default_factory=dict)  # person → {id kind: id}, new or changed
    matched_by: dict[str, str] = field(default_factory=dict)  # person → "e-mail" / "mobile"
    unchanged: list[str] = field(default_factory=list)
    unmatched: dict[str, str] = field(default_factory=dict)  # person → why


def mobile(phone: str | None) -> str:
    """A phone number as Feishu's contact API takes a mainland mobile: digits, no +86."""
    text = re.sub(r"[\s\-()]", "", phone or "")
    return text[3:] if text.startswith("+86") else text


def channel_key(config: WorkspaceConfig, wanted: str) -> str:
    """The channel `--channel` names: its key, or the one channel of that type."""
    if wanted in config.channels:
        return wanted
    of_type = [k for k, c in config.channels.items() if c.type == wanted]
    if len(of_type) == 1:
        return of_type[0]
    known = ", ".join(f"{k} ({c.type})" for k, c in config.channels.items()) or "none"
    raise GridbaseError(f"no channel '{wanted}' in workspace.yaml (channels: {known})")


def sync(root: Path, wanted: str) -> Synced:
    """Look the workspace's people up through the channel `wanted`; nothing is written."""
    config = load_workspace(root)
    key = channel_key(config, wanted)
    channel = build_channel(_Configured(config), key, None)  # type: ignore[arg-type]  # only .config is read
    result = Synced(key)
    asked = {p.key: ((p.email or "").strip(), mobile(p.phone)) for p in config.people.values()}
    emails = sorted({e for e, _ in asked.values() if e})
    mobiles = sorted({m for _, m in asked.values() if m})
    try:
        found = channel.find_accounts(emails, mobiles) if (emails or mobiles) else {}
    except DeliveryError as exc:  # the app's answer, in words (a wrong secret, a missing scope, ...)
        raise GridbaseError(str(exc)) from None
    by_email = {k.lower(): v for k, v in found.items()}
    for person, (email, phone) in asked.items():
        if not email and not phone:
            result.unmatched[person] = "no e-mail or mobile in workspace.yaml"
            continue
        ids, how = (by_email.get(email.lower()), "e-mail") if email else (None, "")
        if ids is None and phone:
            ids, how = found.get(phone), "mobile"
        if ids is None:
            result.unmatched[person] = "not found by " + " or ".join(
                w for w, v in (("e-mail " + email, email), ("mobile " + phone, phone)) if v)
            continue
        if config.people[person].accounts.get(key) == ids:
            result.unchanged.append(person)
            continue
        result.ids[person] = ids
        result.matched_by[person] = how
    return result


@dataclass
class _Configured:
    """What automations.delivery.build_channel reads of a workspace: its config."""

    config: WorkspaceConfig


def snippet(synced: Synced) -> str:
    """The YAML to paste under `people:`, one person a line."""
    return "\n".join(f"  {person}:\n    accounts: {{{synced.channel}: {_flow(ids)}}}"
                     for person, ids in synced.ids.items())


def _flow(ids: dict[str, str]) -> str:
    return "{" + ", ".join(f"{kind}: {json.dumps(value)}" for kind, value in ids.items()) + "}"


def write(root: Path, synced: Synced) -> None:
    """Put the found ids into workspace.yaml, editing only the changed people's text; the
    result is read back and must hold exactly those ids, else nothing is written."""
    path = root / "workspace.yaml"
    text = path.read_text(encoding="utf-8")
    top = yaml.compose(text)
    people = _value(top, "people")
    if not isinstance(people, MappingNode):
        raise GridbaseError(f"{path} has no people: mapping to write ids into")
    edits: list[tuple[int, int, str]] = []
    for person, ids in synced.ids.items():
        node = _value(people, person)
        if not isinstance(node, MappingNode):
            raise GridbaseError(f"person '{person}' in {path} is not a mapping: add their accounts by hand")
        edits.append(_edit(text, node, synced.channel, ids))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    check = load_workspace_text(text)
    for person, ids in synced.ids.items():
        if check.get(person, {}).get("accounts", {}).get(synced.channel) != ids:
            raise GridbaseError(f"could not write the ids of '{person}' into {path} safely: add them by hand")
    path.write_text(text, encoding="utf-8")


def load_workspace_text(text: str) -> dict[str, Any]:
    """The people of a workspace.yaml text (to check an edit before it is written)."""
    data = yaml.safe_load(text) or {}
    people = data.get("people") if isinstance(data, dict) else None
    return people if isinstance(people, dict) else {}


def _value(mapping: Node | None, key: str) -> Node | None:
    if not isinstance(mapping, MappingNode):
        return None
    return next((v for k, v in mapping.value if getattr(k, "value", None) == key), None)


def _edit(text: str, person: MappingNode, channel: str, ids: dict[str, str]) -> tuple[int, int, str]:
    """(start, end, replacement) putting `channel: ids` into the person's accounts."""
    accounts = _value(person, "accounts")
    if isinstance(accounts, MappingNode):
        current = _value(accounts, channel)
        if current is not None:
            return current.start_mark.index, current.end_mark.index, _flow(ids)
        return _add(text, accounts, f"{channel}: {_flow(ids)}")
    return _add(text, person, f"accounts: {{{channel}: {_flow(ids)}}}")


def _add(text: str, mapping: MappingNode, entry: str) -> tuple[int, int, str]:
    """An entry added at the end of a mapping, in its own style."""
    if mapping.flow_style:
        close = text.rindex("}", 0, mapping.end_mark.index)
        return close, close, (", " if mapping.value else "") + entry
    indent = mapping.value[0][0].start_mark.column if mapping.value else 2
    end = mapping.value[-1][1].end_mark.index if mapping.value else mapping.end_mark.index
    if end > 0 and text[end - 1] == "\n":
        at = end
        prefix = ""
    else:
        newline = text.find("\n", end)
        at = len(text) if newline < 0 else newline + 1
        prefix = "\n" if newline < 0 else ""
    return at, at, f"{prefix}{' ' * indent}{entry}\n"
