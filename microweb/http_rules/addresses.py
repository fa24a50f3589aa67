"""The client's address, as ip_restriction() and rate_limit() read it.

Rules:
- Parsing is the standard library's `ipaddress`, strict: an octet over 255, a leading
  zero, a non-canonical or otherwise odd form is not an address (Hono had two bypass
  CVEs from a hand-written parser). Brackets around an IPv6 literal are dropped.
- An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is its IPv4 address, so a rule on
  `10.0.0.0/8` and a rate limit's count see one client whichever form the server
  reports. An IPv6 address with a zone (`fe80::1%eth0`) is not a client address.
- A request without a peer (no `client` in the scope) has no client address: both
  middleware refuse it with 403 (`NO_ADDRESS`) rather than guess, since one shared
  "unknown" client would let any such request use up the others' limit. A peer the
  server names by something other than an IP address (Starlette's test client says
  "testclient") is refused by ip_restriction, whose rules cannot apply to it, and
  counted under that name by rate_limit.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from ..exceptions import ForbiddenError

__all__ = ["NO_ADDRESS", "Address", "client_address", "peer_address", "peer_key"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
NO_ADDRESS = "Forbidden: the client's address is unknown"


# perf: a server sees the same clients again and again; each text is parsed once.
@functools.lru_cache(maxsize=4096)
def client_address(text: str | None) -> Address | None:
    """The address in `text` (an IPv4-mapped IPv6 one as IPv4), or None when it is not one."""
    if not text or not isinstance(text, str):
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


def peer_address(client: Sequence[object] | None) -> Address:
    """The address of the request's peer (`c.req.client`); 403 when there is none."""
    address = client_address(client[0]) if client and isinstance(client[0], str) else None
    if address is None:
        raise ForbiddenError(NO_ADDRESS)
    return address


def peer_key(client: Sequence[object] | None) -> str:
    """The peer as a rate limit counts it: its address in normal form (an IPv4-mapped
    one as IPv4), or the name the server gives a peer that is not an IP address; 403
    when there is no peer."""
    name = client[0] if client else None
    if not name or not isinstance(name, str):
        raise ForbiddenError(NO_ADDRESS)
    address = client_address(name)
    return name if address is None else str(address)
