"""Parsing and building header values: comma lists, q-values, `Vary` and entity tags,
the `Host` header, and request headers read straight from an ASGI scope.

Shared by the built-in middleware, static files, the app and the session middleware,
so that every part of microweb reads `Accept-Encoding`, `If-None-Match` and `Vary`
the same way.
"""

from __future__ import annotations

import ipaddress
import re

from .datastructures import Headers
from .types import Scope

__all__ = [
    "answer_form",
    "append_vary",
    "etag_matches",
    "header_tokens",
    "host_is_valid",
    "negotiate",
    "parse_host",
    "scope_headers",
]

# RFC 9110 host [":" port], kept to what DNS names and IP literals use: letters, digits,
# "-", "." and "_" (no "/?#@\\", spaces, commas or other sub-delims, which would change a
# URL rebuilt from the header), or an IPv6 literal in brackets.
_HOST = re.compile(
    r"(?:([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?)|\[([0-9A-Fa-f:.]+)\])(?::([0-9]*))?"
)
# perf: Host values already found valid (most apps see a handful), checked once each.
_VALID_HOSTS: set[bytes] = set()
_VALID_HOSTS_MAX = 1024


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


def host_is_valid(headers: list[tuple[bytes, bytes]] | tuple[()]) -> bool:
    """Whether an ASGI request's headers hold at most one `Host`, and a valid one (or an
    empty one, which HTTP/1.1 sends when the URL has no host)."""
    found: bytes | None = None
    for key, value in headers:
        if key == b"host":
            if found is not None:
                return False  # two Host headers (RFC 9112: answer 400)
            found = value
    if not found or found in _VALID_HOSTS:
        return True
    if parse_host(found.decode("latin-1")) is None:
        return False
    if len(_VALID_HOSTS) < _VALID_HOSTS_MAX:
        _VALID_HOSTS.add(found)
    return True


def scope_headers(scope: Scope, name: bytes) -> list[str]:
    """Every value of the request header `name` (lower-case bytes), in order, read from the
    ASGI scope itself: for code that runs without a `Request`, or must not trip its header
    limits (an ASGI middleware, a WebSocket handshake, the answer to a 431)."""
    # perf: a plain loop (no comprehension's frame), and lengths compared first so
    # other headers' names are not lower-cased: error answers read Accept this way.
    values: list[str] = []
    size = len(name)
    for key, value in scope.get("headers", ()):
        if len(key) == size and key.lower() == name:
            values.append(value.decode("latin-1"))
    return values


def answer_form(scope: Scope) -> str:
    """The form in which to answer an error, read from the request's `Accept`: "html"
    when it names text/html (a browser), "json" when it names a JSON type, else "text"
    (curl's `*/*`, or no `Accept` at all)."""
    values = scope_headers(scope, b"accept")
    accept = values[0] if values else ""
    if "text/html" in accept:
        return "html"
    if "json" in accept:
        return "json"
    return "text"


def header_tokens(value: str | None) -> list[str]:
    """The comma-separated tokens of a header value, stripped, empty ones dropped."""
    if not value:
        return []
    return [token.strip() for token in value.split(",") if token.strip()]


def append_vary(headers: Headers, name: str) -> None:
    """Add `name` to `Vary` unless it (or `*`) is there already; never overwrite it."""
    values = headers.getall("vary")
    present = [t.lower() for value in values for t in header_tokens(value)]
    if "*" in present or name.lower() in present:
        return
    headers["vary"] = ", ".join([*values, name])


def etag_matches(if_none_match: str | None, tag: str) -> bool:
    """Whether `If-None-Match` matches `tag`, by the weak comparison (W/ ignored)."""
    tokens = header_tokens(if_none_match)
    if "*" in tokens:
        return True
    opaque = tag.removeprefix("W/")
    return any(token.removeprefix("W/") == opaque for token in tokens)


def negotiate(accept: str | None, offered: list[str]) -> str | None:
    """The coding of `offered` an `Accept-Encoding` prefers: highest q first, then the
    order of `offered`; `q=0` refuses, `*` stands for codings not named. None means
    identity (nothing offered is acceptable)."""
    if not accept:
        return None
    weights: dict[str, float] = {}
    for token in header_tokens(accept):
        name, _, params = token.partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[name.strip().lower()] = max(0.0, min(q, 1.0))
    star = weights.get("*")
    best: str | None = None
    best_q = 0.0
    for coding in offered:
        q = weights.get(coding, star if star is not None else 0.0)
        if q > best_q:
            best, best_q = coding, q
    return best
