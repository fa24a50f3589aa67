"""`trailing_slash()`: redirect a 404 to the other form of the path, as Hono's
`trimTrailingSlash` / `appendTrailingSlash` do.

Rules:
- Only when the app answered 404 to a GET or HEAD: a route that exists is
  never redirected away from.
- `"trim"`: `/about/` -> `/about`; `"append"`: `/about` -> `/about/`. The
  root `/` is left alone. 301, the query kept, and a relative `Location`
  (a path, so the redirect never leaves the host).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..compose import MiddlewareFunction, Next, create_middleware
from ..urls import encode_location
from ._options import choice

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["trailing_slash"]


def trailing_slash(mode: str = "trim") -> MiddlewareFunction:
    """Trailing slash middleware.

    Options:
    - `mode` (str, default `"trim"`): `"trim"` redirects `/a/` to `/a`, `"append"` the
      other way, when the app answered 404 to a GET or HEAD.
    """
    choice(mode, "trailing_slash()", "mode", ("trim", "append"))

    @create_middleware
    async def trailing_slash_middleware(c: Context, next: Next) -> None:
        await next()
        res = c.res
        if res is None or res.status != 404 or c.req.method not in ("GET", "HEAD"):
            return
        raw_path = c.req.scope.get("raw_path") or c.req.scope["path"].encode()
        path = encode_location(raw_path.partition(b"?")[0])  # the bytes sent, as ASCII
        if mode == "trim":
            if len(path) <= 1 or not path.endswith("/"):
                return
            target = path.rstrip("/") or "/"
        else:
            if path.endswith("/"):
                return
            target = path + "/"
        if target.startswith("//"):
            target = "/" + target.lstrip("/")  # never a scheme-relative URL to another host
        query = encode_location(c.req.scope.get("query_string", b""))
        c.res = c.redirect(target + ("?" + query if query else ""), 301)

    return trailing_slash_middleware
