"""Outgoing-URL safety: may Gridbase send a request to this URL?

A workspace admin types webhook URLs into YAML, and a redirect can send a request anywhere, so
every outgoing HTTP request is checked first (server-side request forgery guard). The words:

- *allowed host*: a host name listed in the workspace's `allowed_hosts`; matched exactly
  (case-insensitive, a trailing dot ignored) and then trusted without looking at its address.
- *blocked address*: loopback, link-local, private, unspecified, multicast, reserved or any
  other non-global address. IPv4 addresses inside IPv6 (mapped, 6to4, Teredo, NAT64) are
  judged by the IPv4 address they carry, and legacy IPv4 spellings (`2130706433`,
  `0x7f.0.0.1`, `0177.1`) are read the way the C library reads them.

`check_url` resolves the host with `socket.getaddrinfo` and refuses the URL if any address is
blocked. Messages name the host only, never the path or query, which often hold a bot token.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# Characters of the legacy inet_aton spellings (decimal, octal, hex parts; 1 to 4 parts).
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$", re.IGNORECASE)


class UnsafeURL(Exception):
    """The URL may not be requested; `.reason` says why, for a person to read."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class UnresolvableHost(UnsafeURL):
    """The host name did not resolve (possibly a passing DNS failure, so worth a retry)."""


def split_url(url: str) -> tuple[str, str, int]:
    """The scheme, host and port of an http(s) URL, or `UnsafeURL` if it is not one.

    Parses with httpx, the same parser that later makes the request, so the host checked here
    is the host connected to (no parser differential between check and use).
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise UnsafeURL("the URL cannot be parsed") from exc
    scheme = parsed.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"'{scheme}'" if scheme else "none"
        raise UnsafeURL(f"only http and https URLs may be used (scheme: {shown})")
    host = parsed.host
    if not host:
        raise UnsafeURL("the URL has no host")
    port = parsed.port or (443 if scheme == "https" else 80)
    return scheme, host, port


def origin(url: str) -> str:
    """`scheme://host[:port]` of a URL: safe to show, since paths and queries may hold tokens."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "(unparsable URL)"
    port = f":{parsed.port}" if parsed.port else ""
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{parsed.scheme}://{host}{port}"


def check_url(url: str, allowed_hosts: Iterable[str]) -> None:
    """Raise `UnsafeURL` unless `url` is http(s) and its host is allowed or public."""
    scheme, host, port = split_url(url)
    if _normal_host(host) in {_normal_host(h) for h in allowed_hosts}:
        return
    literal = _literal_ip(host)
    addresses = [literal] if literal is not None else _resolve(host, port)
    for address in addresses:
        why = blocked_reason(address)
        if why:
            shown = f"[{host}]" if ":" in host else host
            raise UnsafeURL(
                f"{scheme}://{shown} resolves to {address} ({why} address); "
                "list the host in allowed_hosts if this is intended"
            )


def blocked_reason(address: IPAddress) -> str | None:
    """Why Gridbase will not connect to `address` ("loopback", "private", ...), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = blocked_reason(embedded)
            if inner:
                return f"{inner} (IPv4 {embedded} inside IPv6)"
            if address.ipv4_mapped is not None:
                # A mapped address *is* its IPv4 address; judge nothing else about it.
                return None
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    )
    for label, hit in checks:
        if hit:
            return label
    if not address.is_global:
        return "non-public"
    return None


def _normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _literal_ip(host: str) -> IPAddress | None:
    """The address a host written as an IP literal stands for, in any spelling, else None."""
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare.split("%", 1)[0])
    except ValueError:
        pass
    if _LEGACY_IPV4.match(bare):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(bare))
        except OSError:
            return None
    return None


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnresolvableHost(f"the host {host} cannot be resolved") from exc
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        text = str(sockaddr[0]).split("%", 1)[0]
        try:
            addresses.append(ipaddress.ip_address(text))
        except ValueError:
            continue
    if not addresses:
        raise UnresolvableHost(f"the host {host} has no IP address")
    return addresses


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None
