"""`trusted_host()`: refuse requests for hosts the app does not serve (Host header attacks).

Rules:
- The `Host` header's host name, parsed (`http_rules.parse_host`: port
  and a trailing dot ignored, case-insensitive), must match one of `hosts`:
  an exact name, `"*.example.com"` (any subdomain, not the bare domain), or
  `"*"` (anything). Otherwise 400 "Invalid Host header", the app's answer
  to a malformed one. (A Host that is not a valid host[:port] never gets
  here: the app answers it 400 before routing.)
- With `www_redirect=True`, a request for `example.com` when only
  `www.example.com` is listed is redirected (301) there, path and query kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..compose import MiddlewareFunction, Next, create_middleware
from ..exceptions import HTTPException
from ..http_rules import INVALID_HOST, parse_host
from ._options import strings

if TYPE_CHECKING:
    from ..context import Context
    from ..response import Response

__all__ = ["trusted_host"]


def trusted_host(hosts: Iterable[str], www_redirect: bool = False) -> MiddlewareFunction:
    """Trusted host middleware.

    Options:
    - `hosts` (list[str], required): the host names served (`"example.com"`,
      `"*.example.com"` for any subdomain, `"*"` for any); a request for another is 400.
    - `www_redirect` (bool, default False): redirect `example.com` to a listed
      `www.example.com`.
    """
    patterns = [h.strip().lower() for h in strings(hosts, "trusted_host()", "hosts")]
    if not patterns:
        raise ValueError("trusted_host(): give at least one host")
    for pattern in patterns:
        if not pattern or ("*" in pattern and pattern != "*" and not pattern.startswith("*.")):
            raise ValueError(
                f"trusted_host(): {pattern!r}: a wildcard is only allowed as '*' or '*.domain'"
            )
        if "*" in pattern[1:] or "/" in pattern or ":" in pattern:
            raise ValueError(f"trusted_host(): {pattern!r} is not a host name pattern")
    any_host = "*" in patterns

    def trusted(host: str) -> bool:
        return any_host or any(
            host == p or (p.startswith("*.") and host.endswith(p[1:])) for p in patterns
        )

    @create_middleware
    async def trusted_host_middleware(c: Context, next: Next) -> Response | None:
        parsed = parse_host(c.req.header("host") or "")
        host = parsed[0] if parsed is not None else None
        if host is not None and trusted(host):
            await next()
            return None
        if host is not None and www_redirect and trusted("www." + host):
            url = urlsplit(c.req.url)
            netloc = "www." + (url.netloc or "")
            return c.redirect(url._replace(netloc=netloc).geturl(), 301)
        raise HTTPException(400, INVALID_HOST)

    return trusted_host_middleware
