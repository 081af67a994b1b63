"""Who may connect to a listener: the source-address allow-lists of workspace.yaml (CIDR).

Owns `hl7_listener: allow_from:` (the MLLP listener of plugins/hl7_listener.py, which has no
other way to know its sender): the networks, each an IPv4 or IPv6 address or network in CIDR
form (`10.20.0.0/16`, `10.20.3.7`, `fd00::/8`), their check at load time (a line and column
for one that does not parse), and `admits`, asked once per connection. Left out, only the
machine itself may connect (`DEFAULT`: loopback); an empty list admits nobody. An IPv4 peer
seen through an IPv6 socket (`::ffff:10.20.3.7`) is judged as its IPv4 address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

from engine.model import WorkspaceConfig

if TYPE_CHECKING:
    from engine.sources import Source

DEFAULT = ("127.0.0.0/8", "::1/128")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: Iterable[str]) -> list[Network]:
    """The networks of an allow-list (ValueError for an entry that is not an address or network)."""
    return [ipaddress.ip_network(str(e).strip(), strict=False) for e in entries]


def hl7_networks(config: WorkspaceConfig) -> list[Network]:
    """Who may send HL7 over MLLP: workspace.yaml `hl7_listener: allow_from:`, else loopback."""
    return networks(DEFAULT if config.hl7_allow_from is None else config.hl7_allow_from)


def admits(allowed: Iterable[Network], address: str) -> bool:
    """True if the peer `address` (as a socket names it; a zone id is ignored) is in one of the networks."""
    try:
        ip = ipaddress.ip_address(address.partition("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in allowed)


def check(config: WorkspaceConfig, src: Source) -> None:
    """Each `allow_from` entry must be an address or a network in CIDR form."""
    for i, entry in enumerate(config.hl7_allow_from or ()):
        try:
            networks([entry])
        except ValueError:
            src.error(("hl7_listener", "allow_from", i),
                      f"hl7_listener/allow_from: '{entry}' is not an IP address or network",
                      "write an address or a network in CIDR form, e.g. 10.20.3.7 or 10.20.0.0/16")
