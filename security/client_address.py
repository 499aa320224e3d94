"""The client's address, the one thing the lockout, the throttles and the audit key on.

Behind reverse proxies, REMOTE_ADDR is the nearest proxy and X-Forwarded-For lists the
addresses each proxy saw, every proxy appending its own peer on the right. Only the right-hand
part was written by our proxies; everything to its left is whatever the client sent. So the
header is read from the right, and only as far as the configuration says the proxies go:

- `TRUSTED_PROXY_COUNT = n`: n proxies stand in front of the service, and the client is the
  n-th entry from the right (the address the outermost proxy saw). A header with fewer
  entries did not come through those proxies, so it is ignored and REMOTE_ADDR is used.
- `TRUSTED_PROXIES = [networks]`: the proxies are known by address. Starting from
  REMOTE_ADDR, each hop that is one of them vouches for the entry on its left; the first hop
  that is not a trusted proxy is the client. When REMOTE_ADDR itself is not a proxy (someone
  reached the service directly), X-Forwarded-For is ignored altogether.
- Neither (the default): REMOTE_ADDR, and X-Forwarded-For is never read.

Whatever a client puts at the left of the header, the result does not move: rotating a fake
address there cannot escape a lockout or a throttle, nor write a chosen address into the
audit trail. An entry that is not an IP address (a proxy that wrote "unknown", a client's
garbage reached because a trusted hop passed it on) stops the walk at the last good hop,
which the trusted proxies vouch for. Ports ("203.0.113.7:5123", "[2001:db8::1]:443") and
IPv6 zone ids are dropped; IPv4-mapped IPv6 addresses are given as IPv4, so that one client
has one spelling.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# An X-Forwarded-For entry longer than this is not an address (the longest IPv6 with a port
# and brackets is 47 characters): skip parsing it.
_MAX_ENTRY_LENGTH = 64


def client_address(request: HttpRequest) -> str:
    """The client's IP address as the outermost trusted proxy saw it ("" when unknown)."""
    remote = parse_address(request.META.get("REMOTE_ADDR", ""))
    forwarded = _forwarded_entries(request)
    networks = trusted_networks(tuple(settings.TRUSTED_PROXIES))
    if networks:
        address = _walk_trusted_networks(remote, forwarded, networks)
    else:
        address = _walk_trusted_count(remote, forwarded, settings.TRUSTED_PROXY_COUNT)
    return str(address) if address is not None else ""


def parse_address(value: str) -> IPAddress | None:
    """One address as proxies write it, or None when it is not an IP address."""
    value = value.strip()
    if not value or len(value) > _MAX_ENTRY_LENGTH:
        return None
    if value.startswith("["):  # "[2001:db8::1]:443" or "[2001:db8::1]"
        value, bracket, port = value[1:].partition("]")
        if not bracket or (port and not (port[0] == ":" and port[1:].isdigit())):
            return None
    elif value.count(":") == 1:  # "203.0.113.7:5123"; a bare IPv6 has at least two colons
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value.partition("%")[0])  # no zone id
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=8)
def trusted_networks(specs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """TRUSTED_PROXIES parsed once (the settings checked them when the service started)."""
    return tuple(ipaddress.ip_network(spec) for spec in specs)


def _forwarded_entries(request: HttpRequest) -> list[str]:
    # Several X-Forwarded-For headers reach us joined by commas, in order (WSGI servers do
    # that), so the right-most entry stays the nearest proxy's.
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return header.split(",") if header else []


def _walk_trusted_count(
    remote: IPAddress | None, forwarded: list[str], count: int
) -> IPAddress | None:
    if count <= 0 or len(forwarded) < count:
        return remote
    address = remote
    for entry in reversed(forwarded[-count:]):  # from the nearest proxy outwards
        parsed = parse_address(entry)
        if parsed is None:
            break
        address = parsed
    return address


def _walk_trusted_networks(
    remote: IPAddress | None, forwarded: list[str], networks: tuple[IPNetwork, ...]
) -> IPAddress | None:
    address = remote
    for entry in reversed(forwarded):
        if address is None or not _is_trusted(address, networks):
            break  # a hop we do not know: it, not what it claims, is the client
        parsed = parse_address(entry)
        if parsed is None:
            break
        address = parsed
    return address


def _is_trusted(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    # `in` between an IPv4 address and an IPv6 network is simply False.
    return any(address in network for network in networks)
