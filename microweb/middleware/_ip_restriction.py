"""`ip_restriction()`: allow and deny lists of addresses and networks.

Rules:
- Parsing is the standard library's `ipaddress`, strict: an octet over 255,
  a leading zero, a non-canonical or otherwise odd form is not an address
  (Hono had two bypass CVEs from a hand-written parser).
- An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) counts as its IPv4 address,
  so a rule on `10.0.0.0/8` sees it whichever form the server reports.
- Deny wins. With an allow list, nothing outside it passes. A peer address
  that is missing or does not parse is refused (403).
- The address is the peer's (`c.req.client`), never a header, unless
  `get_ip(c)` says otherwise (behind a trusted proxy).
- A rule that does not parse is a ValueError when the factory is called.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..compose import MiddlewareFunction, Next, create_middleware
from ..exceptions import ForbiddenError

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["ip_restriction"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def ip_restriction(
    allow: Iterable[str] = (),
    deny: Iterable[str] = (),
    get_ip: Callable[[Context], str | None] | None = None,
) -> MiddlewareFunction:
    """IP restriction middleware: 403 for a denied address, or one outside `allow`."""
    allowed = [_network(rule) for rule in _rules(allow, "allow")]
    denied = [_network(rule) for rule in _rules(deny, "deny")]

    def address_of(c: Context) -> str | None:
        if get_ip is not None:
            return get_ip(c)
        client = c.req.client
        return client[0] if client else None

    @create_middleware
    async def ip_restriction_middleware(c: Context, next: Next) -> None:
        address = parse_address(address_of(c))
        if (
            address is None
            or any(address in net for net in denied if net.version == address.version)
            or (allowed and not any(address in n for n in allowed if n.version == address.version))
        ):
            raise ForbiddenError("Forbidden")
        await next()

    return ip_restriction_middleware


def parse_address(text: str | None) -> Address | None:
    """The address in `text` (an IPv4-mapped IPv6 one as IPv4), or None when it is not one."""
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id is not None:
            return None
    return address


def _rules(rules: Iterable[str], name: str) -> list[str]:
    if isinstance(rules, str):
        return [rules]
    listed = list(rules)
    for rule in listed:
        if not isinstance(rule, str):
            raise ValueError(f"ip_restriction(): {name} rules are strings, got {rule!r}")
    return listed


def _network(rule: str) -> Network:
    text = rule.strip()
    if text == "*":
        raise ValueError('ip_restriction(): write "0.0.0.0/0" and "::/0" rather than "*"')
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as err:
        raise ValueError(f"ip_restriction(): {rule!r} is not an address or CIDR: {err}") from None
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
        # ::ffff:10.0.0.0/104 is the IPv4 network 10.0.0.0/8.
        mapped = network.network_address.ipv4_mapped
        return ipaddress.IPv4Network(f"{mapped}/{max(0, network.prefixlen - 96)}")
    return network
