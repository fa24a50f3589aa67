"""The cookie of a session that holds nothing but its CSRF token.

Rules:
- On the server-side drivers (memory, file, redis) a session whose only data
  is its CSRF token is not stored: its cookie carries the token instead of an
  id, so a visitor who only saw a form costs the server nothing. The cookie
  driver needs none of this: every session already lives in its cookie.
- The value is `t~<created>~<seen>~<token>`: creation and last-activity times
  in integer milliseconds since the epoch, then the token. With `secret` set
  it is signed by the signer of ids, exactly as they are. An id never has `~` as its
  second character, so neither form can be taken for the other, and a token
  cookie never reaches a store lookup (strict ids stay strict).
- A token is what `Session.token()` makes, 43 url-safe characters; times are
  ASCII digits. Any other value reads as no token cookie at all.
- `TokenCookies.read` enforces `lifetime` and `absolute_lifetime` on the
  server from those times, as a store does for ids: a token cookie idle longer
  than the one or created longer ago than the other reads as none. The cookie
  is re-sent, with a new last-activity time, by every response that used the
  session, so that is what activity means for it.
"""

from __future__ import annotations

import re
import time
from typing import NamedTuple, TypeGuard

from itsdangerous import Signer

__all__ = ["CarriedToken", "TokenCookies", "is_token", "read_token_cookie", "token_cookie"]

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


class TokenCookies:
    """The token cookies of one `SessionManager`: its idle and absolute lifetimes
    (seconds; `absolute_s` None for none), and the signer of its ids, if any."""

    __slots__ = ("absolute_s", "idle_s", "signer")

    def __init__(self, idle_s: float, absolute_s: float | None, signer: Signer | None) -> None:
        self.idle_s = idle_s
        self.absolute_s = absolute_s
        self.signer = signer

    def read(self, value: str) -> CarriedToken | None:
        """What a cookie `value` (its signature already checked) carries; None when it is
        not a token cookie, or one idle or alive too long."""
        carried = read_token_cookie(value)
        if carried is None:
            return None
        now = time.time()
        if now - carried.seen > self.idle_s:
            return None
        if self.absolute_s is not None and now - carried.created >= self.absolute_s:
            return None
        return carried

    def write(self, token: str, created: float) -> str:
        """The cookie value carrying `token` of a session created at `created` and used
        now, signed when the manager signs its ids."""
        value = token_cookie(token, created, time.time())
        return value if self.signer is None else self.signer.sign(value).decode()
