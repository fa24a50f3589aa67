"""`pretty_json()`: indent JSON answers when the query asks (`?pretty`), as Hono's does.

Rules:
- Only complete bodies whose Content-Type is JSON (`application/json` or
  `+json`) are re-indented; a body that does not parse is left as it was.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..compose import MiddlewareFunction, Next, create_middleware
from ..http_rules import is_json, media_type
from ._options import count

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["pretty_json"]


def pretty_json(space: int = 2, query: str = "pretty") -> MiddlewareFunction:
    """Pretty JSON middleware.

    Options:
    - `space` (int spaces, default 2): the indent.
    - `query` (str, default `"pretty"`): the query parameter that asks for it (`?pretty`).
    """
    count(space, "pretty_json()", "space", "spaces")

    @create_middleware
    async def pretty_json_middleware(c: Context, next: Next) -> None:
        await next()
        res = c.res
        if res is None or (res.stream is None and not res.body) or c.req.query(query) is None:
            return
        if res.stream is not None or not is_json(media_type(res.headers.get("content-type"))):
            return
        try:
            value = json.loads(res.body)
        except ValueError:
            return
        res.body = json.dumps(value, indent=space, ensure_ascii=False).encode()
        del res.headers["content-length"]

    return pretty_json_middleware
