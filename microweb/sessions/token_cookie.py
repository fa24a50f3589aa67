"""The cookie of a session that holds nothing but its CSRF token.

Rules:
- On the server-side drivers (memory, file, redis) a session whose only data
  is its CSRF token is not stored: its cookie carries the token instead of an
  id, so a visitor who only saw a form costs the server nothing. The cookie
  driver needs none of this: every session already lives in its cookie.
- The value is `t~<created>~<seen>~<token>`: creation and last-activity times
  in integer milliseconds since the epoch, then the token. With `secret` set
  the manager signs it exactly as it signs ids. An id never has `~` as its
  second character, so neither form can be taken for the other, and a token
  cookie never reaches a store lookup (strict ids stay strict).
- A token is what `Session.token()` makes, 43 url-safe characters; times are
  ASCII digits. Any other value reads as no token cookie at all.
- The times let the manager enforce `lifetime` and `absolute_lifetime` on the
  server, as a store does for ids: see `SessionManager`.
"""

from __future__ import annotations

import re
from typing import NamedTuple, TypeGuard

__all__ = ["CarriedToken", "is_token", "read_token_cookie", "token_cookie"]

_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")
# perf: one fullmatch parses and checks the whole value; {1,15} digits keep int() small.
_COOKIE_RE = re.compile(r"t~([0-9]{1,15})~([0-9]{1,15})~([A-Za-z0-9_-]{43})")


class CarriedToken(NamedTuple):
    """What a token cookie carries: the token, and when its session was created and
    last used (epoch seconds)."""

    token: str
    created: float
    seen: float


def is_token(value: object) -> TypeGuard[str]:
    """True when `value` has the shape of a token `Session.token()` makes."""
    return isinstance(value, str) and _TOKEN_RE.fullmatch(value) is not None


def token_cookie(token: str, created: float, seen: float) -> str:
    """The (unsigned) cookie value carrying `token`, with the creation and
    last-activity times `created` and `seen` (epoch seconds)."""
    return f"t~{int(created * 1000)}~{int(seen * 1000)}~{token}"


def read_token_cookie(value: str) -> CarriedToken | None:
    """What the (unsigned) cookie `value` carries, or None when it is not a token cookie."""
    found = _COOKIE_RE.fullmatch(value)
    if found is None:
        return None
    created, seen, token = found.groups()
    return CarriedToken(token, int(created) / 1000, int(seen) / 1000)
