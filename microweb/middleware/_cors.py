"""`cors()`: Cross-Origin Resource Sharing, Hono's `cors` with its pitfalls closed.

Rules:
- A preflight is an OPTIONS request with both `Origin` and
  `Access-Control-Request-Method`; the middleware answers it (204) without
  calling the route. An OPTIONS request without them is an ordinary request
  and reaches the route.
- Only an allowed origin is ever echoed in `Access-Control-Allow-Origin`; a
  disallowed one gets no CORS headers at all, so the browser blocks the read.
- `"*"` with `credentials=True` is refused at start-up (browsers ignore it, and
  reflecting any origin with credentials would hand every site the user's data).
- Whenever the answer depends on the request's origin, `Vary: Origin` is
  appended to whatever `Vary` the response has (never overwritten: a
  `Vary: Cookie` from the session stays).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..compose import MiddlewareFunction, Next, create_middleware
from ..datastructures import Headers
from ..header_values import append_vary
from ..response import Response

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["cors"]

OriginRule = str | Iterable[str] | Callable[[str, "Context"], "str | None"]

DEFAULT_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE", "PATCH")


def cors(
    origin: OriginRule = "*",
    allow_methods: Iterable[str] = DEFAULT_METHODS,
    allow_headers: Iterable[str] = (),
    expose_headers: Iterable[str] = (),
    max_age: int | None = None,
    credentials: bool = False,
) -> MiddlewareFunction:
    """CORS middleware.

    `origin` is `"*"`, one origin (`"https://app.example"`), a list of them, or
    `callable(origin, c) -> str | None` returning the origin to allow (or None).
    `allow_headers=()` echoes the preflight's `Access-Control-Request-Headers`.
    Raises ValueError for `"*"` with `credentials=True` and for a malformed origin.
    """
    allowed: frozenset[str] | None = None
    decide: Callable[[str, Context], str | None] | None = None
    wildcard = False
    if isinstance(origin, str):
        if origin == "*":
            wildcard = True
        else:
            allowed = frozenset({_checked_origin(origin)})
    elif callable(origin):
        decide = origin
    else:
        origins = [_checked_origin(o) for o in origin]
        if "*" in origins:
            raise ValueError('cors(): "*" cannot be one origin among others; pass origin="*"')
        allowed = frozenset(origins)
    if wildcard and credentials:
        raise ValueError(
            'cors(origin="*", credentials=True) is refused: browsers reject it, and echoing any '
            "origin with credentials would let every site read the user's data; list the origins"
        )
    methods = ", ".join(m.upper() for m in allow_methods)
    fixed_headers = ", ".join(allow_headers)
    exposed = ", ".join(expose_headers)
    # The answer depends on the Origin unless every origin gets the same "*".
    varies = not wildcard

    def allow_origin(request_origin: str | None, c: Context) -> str | None:
        if wildcard:
            return "*"
        if request_origin is None:
            return None
        if decide is not None:
            return decide(request_origin, c)
        assert allowed is not None
        return request_origin if request_origin in allowed else None

    def grant(headers: Headers, granted: str | None) -> None:
        """The headers every answer gets: the granted origin, credentials, Vary."""
        if granted is not None:
            headers["access-control-allow-origin"] = granted
            if credentials:
                headers["access-control-allow-credentials"] = "true"
        if varies:
            append_vary(headers, "Origin")

    @create_middleware
    async def cors_middleware(c: Context, next: Next) -> Response | None:
        request_origin: str | None = c.req.header("origin")
        granted = allow_origin(request_origin, c)
        request_method = c.req.header("access-control-request-method")
        if c.req.method == "OPTIONS" and request_origin is not None and request_method:
            response = Response(b"", 204)
            headers = response.headers
            grant(headers, granted)
            if granted is not None:
                if methods:
                    headers["access-control-allow-methods"] = methods
                echo = fixed_headers or c.req.header("access-control-request-headers")
                if echo:
                    headers["access-control-allow-headers"] = echo
                if max_age is not None:
                    headers["access-control-max-age"] = str(max_age)
            if not fixed_headers:
                append_vary(headers, "Access-Control-Request-Headers")
            return response
        await next()
        if c.res is not None:
            grant(c.res.headers, granted)
            if granted is not None and exposed:
                c.res.headers["access-control-expose-headers"] = exposed
        return None

    def shares_credentials_with(request_origin: str, c: Context) -> bool:
        """Whether this middleware lets `request_origin` read credentialed answers (what
        csrf() names in its refusal, so the two lists are kept together)."""
        return credentials and not wildcard and allow_origin(request_origin, c) is not None

    cors_middleware.shares_credentials_with = shares_credentials_with  # type: ignore[attr-defined]
    return cors_middleware


def _checked_origin(origin: str) -> str:
    if origin == "*":
        return origin
    scheme, sep, rest = origin.partition("://")
    if not sep or scheme not in ("http", "https") or not rest or "/" in rest:
        raise ValueError(
            f"cors(): {origin!r} is not an origin; write scheme://host[:port], no path"
        )
    return origin
