"""Who reads a group channel: `as_role:` / `as_person:` of a channel in workspace.yaml.

A group channel (a Feishu, WeCom or DingTalk group bot, a webhook) posts one message per
action to a whole chat, whose members are not known to Gridbase, so its message cannot be
rendered as each recipient may read the record. It is rendered as its *reader* instead:

- `as_person: KEY`: what that person may read (a disabled or unknown person reads nothing);
- `as_role: ROLE`: what someone holding only that role may read (`role_actor`; a row rule
  on `$me` or a department matches nobody, since the group is nobody in particular);
- left out, the *least reader*: a field only when every role that may read the table reads it,
  masked when any of them masks it, left out when any of them may not read it or they see it
  differently (linked records, lookups).

A record its reader may not read is not posted at all (automations.actions). An `email:`
action's plain addresses (nobody of workspace.yaml) get the least reader's view too. This module owns
the two keys' check at load time (a known role or person, not both, and only on a group
channel: a personal channel already sends each person what they may read) and the reader's
actor; rendering is automations.templates'.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.hints import did_you_mean
from engine.model import WorkspaceConfig
from engine.permissions import Actor
from engine.plugins import channel_types

if TYPE_CHECKING:
    from engine.sources import Source

ACTOR_PREFIX = "channel:"  # a role reader's actor key: no person has one (keys have no colon)


def role_actor(label: str, role: str) -> Actor:
    """Someone holding only `role`, reading for `label` (a channel's key: its group)."""
    return Actor(key=f"{ACTOR_PREFIX}{label}", name=label, roles=(role,))


def check(config: WorkspaceConfig, src: Source) -> None:
    """`as_role` names a role, `as_person` a person, not both, and only on a group channel."""
    known = channel_types()
    for key, channel in config.channels.items():
        if channel.as_role is None and channel.as_person is None:
            continue
        where = ("channels", key)
        cls = known.get(channel.type)
        if cls is not None and cls.PERSONAL:
            name = "as_role" if channel.as_role is not None else "as_person"
            src.error(where + (name,), f"channel '{key}' ({channel.type}) sends each person what they may read: "
                                       f"'{name}' is only for a group channel (a bot or a webhook)", key=True)
            continue
        if channel.as_role is not None and channel.as_person is not None:
            src.error(where + ("as_person",), f"channel '{key}': give as_role or as_person, not both",
                      "the group's messages are rendered as one reader", key=True)
            continue
        if channel.as_role is not None and channel.as_role not in config.roles:
            src.error(where + ("as_role",), f"unknown role '{channel.as_role}' for channel '{key}'",
                      did_you_mean(str(channel.as_role), config.roles))
        if channel.as_person is not None and channel.as_person not in config.people:
            src.error(where + ("as_person",), f"unknown person '{channel.as_person}' for channel '{key}'",
                      did_you_mean(str(channel.as_person), config.people))
