"""`body_limit()`: refuse request bodies over a size, before the handler runs.

Rules:
- The bytes actually received are counted, not what `Content-Length` claims:
  a chunked body (no length) and a lying length (says small, sends more) are
  both cut off as soon as they pass `max_size`. A `Content-Length` over the
  limit is refused without reading anything.
- The body is read here, up to `max_size`, into the request's cached body,
  so the handler, `c.req.json()`/`form()`, and any `app.mount`ed ASGI app
  behind the route (which is replayed the cached body) see exactly the bytes
  that were counted: no later reader can pull more past the limit (Hono
  CVE-2026-44456 was a limit that a second reader bypassed).
- Over the limit: 413 with a message, or what `on_error(c)` returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..compose import MiddlewareFunction, Next, awaited, create_middleware
from ..describe import Description, describe
from ..exceptions import HTTPException
from ._options import count

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["body_limit"]


def body_limit(
    max_size: int, on_error: Callable[[Context], Any] | None = None
) -> MiddlewareFunction:
    """Body limit middleware.

    Options:
    - `max_size` (int bytes, required): the most request body allowed.
    - `on_error` (callable | None, default None): `on_error(c)` (plain or async) answers
      a body over the limit instead of the plain 413.
    """
    count(max_size, "body_limit()", "max_size", "bytes")

    @create_middleware
    async def body_limit_middleware(c: Context, next: Next) -> Any:
        try:
            await c.req.read_body(max_size)
        except HTTPException as err:
            if err.status != 413 or on_error is None:
                raise
            return await awaited(on_error(c))
        await next()
        return None

    return describe(
        body_limit_middleware,
        Description(responses={413: f"The request body is over {max_size} bytes"}),
    )
