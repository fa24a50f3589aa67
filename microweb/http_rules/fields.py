"""Header fields: the token grammar, comma-separated lists, and request headers read
straight from an ASGI scope.

Rules:
- A token is RFC 9110's `1*tchar`; header names, cookie names, Server-Timing metric
  names and media type parts are tokens, and all of them are checked by `is_token`.
- A comma list is split on commas, each member stripped, empty members dropped.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ..types import Scope

__all__ = ["TOKEN", "header_tokens", "is_token", "scope_headers"]

# RFC 9110 section 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" /
# "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def is_token(text: str) -> bool:
    """Whether `text` is an RFC 9110 token (one or more tchar)."""
    return TOKEN.fullmatch(text) is not None


def header_tokens(value: str | None) -> list[str]:
    """The comma-separated members of a header value, stripped, empty ones dropped."""
    if not value:
        return []
    return [token.strip() for token in value.split(",") if token.strip()]


def scope_headers(scope: Scope, name: bytes) -> list[str]:
    """Every value of the request header `name` (lower-case bytes), in order, read from the
    ASGI scope itself: for code that runs without a `Request`, or must not trip its header
    limits (an ASGI middleware, a WebSocket handshake, the answer to a 431)."""
    # perf: a plain loop (no comprehension's frame), and lengths compared first so
    # other headers' names are not lower-cased: error answers read Accept this way.
    values: list[str] = []
    size = len(name)
    for header in scope.get("headers", ()):
        key = header[0]  # perf: indexed, not unpacked (see Request._cookie_header)
        if len(key) == size and key.lower() == name:
            values.append(header[1].decode("latin-1"))
    return values
