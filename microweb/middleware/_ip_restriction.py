"""`ip_restriction()`: allow and deny lists of addresses and networks.

Rules:
- The address is read as `http_rules.addresses` reads it (strict `ipaddress`
  parsing, an IPv4-mapped IPv6 address as its IPv4 one), the same as rate_limit().
- Deny wins. With an allow list, nothing outside it passes. A peer address
  that is missing or does not parse is refused (403).
- The address is the peer's (`c.req.client`), never a header, unless
  `get_ip(c)` (plain or async) says otherwise (behind a trusted proxy).
- A rule that does not parse is a ValueError when the factory is called.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from ..compose import MiddlewareFunction, Next, awaited, create_middleware
from ..exceptions import ForbiddenError
from ..http_rules import NO_ADDRESS, client_address, peer_address
from ._options import strings

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["ip_restriction"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def ip_restriction(
    allow: Iterable[str] = (),
    deny: Iterable[str] = (),
    get_ip: Callable[[Context], str | Awaitable[str | None] | None] | None = None,
) -> MiddlewareFunction:
    """IP restriction middleware: 403 for a denied address, or one outside `allow`.

    Options:
    - `allow` (list[str], default `()`): addresses and CIDRs let in; when given, only
      these.
    - `deny` (list[str], default `()`): addresses and CIDRs refused (deny wins).
    - `get_ip` (callable | None, default None): `get_ip(c) -> str | None` (plain or
      async) gives the client's address, for a trusted proxy's header; the peer's
      address otherwise.
    """
    allowed = [_network(rule) for rule in strings(allow, "ip_restriction()", "allow")]
    denied = [_network(rule) for rule in strings(deny, "ip_restriction()", "deny")]

    @create_middleware
    async def ip_restriction_middleware(c: Context, next: Next) -> None:
        if get_ip is None:
            address = peer_address(c.req.client)
        else:
            given = client_address(await awaited(get_ip(c)))
            if given is None:
                raise ForbiddenError(NO_ADDRESS)
            address = given
        if any(address in net for net in denied if net.version == address.version) or (
            allowed and not any(address in n for n in allowed if n.version == address.version)
        ):
            raise ForbiddenError("Forbidden")
        await next()

    return ip_restriction_middleware


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
