"""Origins (RFC 6454): what one is, and when two are the same.

Rules:
- An origin is `scheme://host[:port]` with scheme `http` or `https`, a host as the
  `Host` header allows it (see `hosts`), and no path, query or user info.
- Two origins are the same when their normal forms are equal: scheme and host in
  lower case, a trailing dot and the scheme's default port dropped
  (`https://App.example:443` is `https://app.example`). Every list of origins
  microweb is given (cors, csrf, the app's WebSocket origins) is normalised when it
  is given, and every `Origin` a browser sends is normalised before it is compared.
- A request's own origin is its scheme (`ws`/`wss` read as `http`/`https`) and its
  `Host` header.
"""

from __future__ import annotations

import functools
from typing import Final

from .hosts import parse_host

__all__ = ["DEFAULT_PORTS", "checked_origin", "normalize_origin", "own_origin"]

DEFAULT_PORTS: Final = {"http": 80, "ws": 80, "https": 443, "wss": 443}
_WEB_SCHEME: Final = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


# perf: a browser sends the same few origins again and again; each is parsed once.
@functools.lru_cache(maxsize=1024)
def normalize_origin(text: str) -> str | None:
    """The normal form of the origin `text`, or None when it is not an origin (`null`,
    a path, another scheme)."""
    scheme, sep, rest = text.strip().partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("http", "https"):
        return None
    if rest.endswith("/"):
        rest = rest[:-1]  # "https://app.example/" as people write it in settings
    parsed = parse_host(rest) if rest else None
    if parsed is None or not parsed[0]:
        return None
    name, port = parsed
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{name}"
    return f"{scheme}://{name}:{port}"


def checked_origin(origin: str, who: str) -> str:
    """The normal form of a configured origin; a ValueError naming `who` (the factory)
    when it is not an origin."""
    normal = normalize_origin(origin) if isinstance(origin, str) else None
    if normal is None:
        raise ValueError(f"{who}: {origin!r} is not an origin; write scheme://host[:port], no path")
    return normal


def own_origin(scheme: str, host: str | None) -> str | None:
    """The origin of a request made with `scheme` to `host` (its Host header), or None
    when the host is missing or malformed."""
    if not host:
        return None
    return normalize_origin(f"{_WEB_SCHEME.get(scheme, 'http')}://{host}")
