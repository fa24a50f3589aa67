"""The `Host` header: what a valid one is, and its name and port.

Rules:
- RFC 9110 host [":" port], kept to what DNS names and IP literals use: letters,
  digits, "-", "." and "_" (no "/?#@\\", spaces, commas or other sub-delims, which would
  change a URL rebuilt from the header), or an IPv6 literal in brackets. A port is at
  most 65535.
- A request carries at most one `Host`; an empty one is allowed (HTTP/1.1 sends it
  when the URL has no host).
- A Host refused, by the app (malformed) or by trusted_host (not served), is a 400
  saying `INVALID_HOST`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Final

__all__ = ["INVALID_HOST", "host_is_valid", "parse_host"]

# The 400 for a Host that is malformed (the app) or not served (trusted_host): one text.
INVALID_HOST: Final = "Invalid Host header"

_HOST: Final = re.compile(
    r"(?:([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?)|\[([0-9A-Fa-f:.]+)\])(?::([0-9]*))?"
)
# perf: Host values already found valid (most apps see a handful), checked once each.
_VALID_HOSTS: Final[set[bytes]] = set()
_VALID_HOSTS_MAX: Final = 1024


def parse_host(value: str) -> tuple[str, int | None] | None:
    """`Host` as (lower-case name without a trailing dot, port or None); an IPv6 literal
    keeps its brackets. None when the value is not a valid host[:port]."""
    match = _HOST.fullmatch(value.strip())
    if match is None:
        return None
    name, literal, port = match.groups()
    if literal is not None:
        try:
            ipaddress.IPv6Address(literal)
        except ValueError:
            return None
        name = f"[{literal.lower()}]"
    else:
        name = name.lower().rstrip(".")
    if port:
        if len(port) > 5 or int(port) > 65535:
            return None
        return name, int(port)
    return name, None


def host_is_valid(headers: Sequence[tuple[bytes, bytes]]) -> bool:
    """Whether an ASGI request's headers hold at most one `Host`, and a valid one (or an
    empty one, which HTTP/1.1 sends when the URL has no host)."""
    found: bytes | None = None
    # perf: header[0], not `for key, value in`: compiled, unpacking a pair of unknown type
    # takes an iterator and three calls to it (about 300 instructions a header).
    for header in headers:
        if header[0] == b"host":
            if found is not None:
                return False  # two Host headers (RFC 9112: answer 400)
            found = header[1]
    if not found or found in _VALID_HOSTS:
        return True
    if parse_host(found.decode("latin-1")) is None:
        return False
    if len(_VALID_HOSTS) < _VALID_HOSTS_MAX:
        _VALID_HOSTS.add(found)
    return True
