"""`etag()`: entity tags and conditional GETs (RFC 9110 sections 8.8.3 and 13.1.2).

Rules:
- A 2xx answer to GET or HEAD with a complete body gets an `ETag` (a hash of
  the body; `W/` prefixed with `weak=True`), unless the handler set one.
- A streamed body is never hashed: it may be endless (SSE) and must never be
  read to its end. It passes through untouched.
- `If-None-Match` (a list, `*`, weak comparison) matching the tag gives 304
  with no body, keeping only the headers RFC 9110 section 15.4.5 lists
  (`http_rules.caching`: Cache-Control, Content-Location, Date, ETag,
  Expires, Vary).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from ..compose import MiddlewareFunction, Next, create_middleware
from ..http_rules import etag_matches, kept_on_304
from ..response import Response

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["etag"]


def etag(weak: bool = False) -> MiddlewareFunction:
    """ETag middleware.

    Options:
    - `weak` (bool, default False): make the tags weak (`W/"..."`).
    """
    prefix = "W/" if weak else ""

    @create_middleware
    async def etag_middleware(c: Context, next: Next) -> Response | None:
        await next()
        res = c.res
        if res is None or c.req.method not in ("GET", "HEAD") or not 200 <= res.status < 300:
            return None
        headers = res.headers
        tag = headers.get("etag")
        if tag is None:
            if res.stream is not None:
                return None
            digest = hashlib.blake2b(res.body, digest_size=16).hexdigest()
            tag = f'{prefix}"{digest}"'
            headers["etag"] = tag
        if etag_matches(c.req.header("if-none-match"), tag):
            return Response.from_raw(b"", 304, kept_on_304(res.raw))
        return None

    return etag_middleware
