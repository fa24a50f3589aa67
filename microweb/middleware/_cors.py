"""`cors()`: Cross-Origin Resource Sharing, Hono's `cors` with its pitfalls closed.

Rules:
- A preflight is an OPTIONS request with both `Origin` and
  `Access-Control-Request-Method`; the middleware answers it (204) without
  calling the route. An OPTIONS request without them is an ordinary request
  and reaches the route.
- Only an allowed origin is ever echoed in `Access-Control-Allow-Origin`; a
  disallowed one gets no CORS headers at all, so the browser blocks the read.
- Origins are compared in their normal form (`http_rules.origins`): a listed
  `https://App.example:443` allows the browser's `https://app.example`.
- `origin` may be a function `(origin, c) -> str | None`, plain or async.
- `"*"` with `credentials=True` is refused at start-up (browsers ignore it, and
  reflecting any origin with credentials would hand every site the user's data).
- Whenever the answer depends on the request's origin, `Vary: Origin` is
  appended to whatever `Vary` the response has (never overwritten: a
  `Vary: Cookie` from the session stays).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from ..compose import MiddlewareFunction, Next, awaited, create_middleware
from ..datastructures import Headers
from ..http_rules import append_vary, checked_origin, normalize_origin
from ..response import Response
from ._options import count, strings

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["cors"]

Decide = Callable[[str, "Context"], "str | Awaitable[str | None] | None"]
OriginRule = str | Iterable[str] | Decide

DEFAULT_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE", "PATCH")


class _Policy:
    """Which origins `cors()` lets in, and the headers it grants them."""

    __slots__ = (
        "allowed",
        "credentials",
        "decide",
        "exposed",
        "headers",
        "max_age",
        "methods",
        "wildcard",
    )

    def __init__(
        self,
        origin: OriginRule,
        allow_methods: Iterable[str],
        allow_headers: Iterable[str],
        expose_headers: Iterable[str],
        max_age: int | None,
        credentials: bool,
    ) -> None:
        # allowed: None for "*", else the normal forms of the listed origins.
        self.allowed: frozenset[str] | None = None
        self.decide: Decide | None = None
        if isinstance(origin, str):
            if origin != "*":
                self.allowed = frozenset({checked_origin(origin, "cors()")})
        elif callable(origin):
            self.decide = origin
        else:
            listed = strings(origin, "cors()", "origin")
            if "*" in listed:
                raise ValueError('cors(): "*" cannot be one origin among others; pass origin="*"')
            self.allowed = frozenset(checked_origin(o, "cors()") for o in listed)
        # Whether every origin gets the same "*" (so the answer never depends on it).
        self.wildcard = self.allowed is None and self.decide is None
        if self.wildcard and credentials:
            raise ValueError(
                'cors(origin="*", credentials=True) is refused: browsers reject it, and echoing '
                "any origin with credentials would let every site read the user's data; list "
                "the origins"
            )
        self.methods = ", ".join(
            m.upper() for m in strings(allow_methods, "cors()", "allow_methods")
        )
        self.headers = ", ".join(strings(allow_headers, "cors()", "allow_headers"))
        self.exposed = ", ".join(strings(expose_headers, "cors()", "expose_headers"))
        self.max_age = (
            None if max_age is None else str(count(max_age, "cors()", "max_age", "seconds"))
        )
        self.credentials = credentials

    def listed(self, request_origin: str | None) -> str | None:
        """The `Access-Control-Allow-Origin` for `request_origin` under "*" or a list."""
        if self.allowed is None:
            return "*"
        if request_origin is None:
            return None
        # perf: a browser's Origin is already in normal form; normalise only the others.
        if request_origin in self.allowed or normalize_origin(request_origin) in self.allowed:
            return request_origin
        return None

    async def granted(self, request_origin: str | None, c: Context) -> str | None:
        """The `Access-Control-Allow-Origin` for `request_origin`, or None."""
        if self.decide is None:
            return self.listed(request_origin)
        if request_origin is None:
            return None
        decided: str | None = await awaited(self.decide(request_origin, c))
        return decided

    def grant(self, headers: Headers, granted: str | None) -> None:
        """The headers every answer gets: the granted origin, credentials, Vary."""
        if granted is not None:
            headers["access-control-allow-origin"] = granted
            if self.credentials:
                headers["access-control-allow-credentials"] = "true"
        if not self.wildcard:
            append_vary(headers, "Origin")

    def preflight(self, c: Context, granted: str | None) -> Response:
        """The 204 answer to a preflight."""
        response = Response(b"", 204)
        headers = response.headers
        self.grant(headers, granted)
        if granted is not None:
            if self.methods:
                headers["access-control-allow-methods"] = self.methods
            echo = self.headers or c.req.header("access-control-request-headers")
            if echo:
                headers["access-control-allow-headers"] = echo
            if self.max_age is not None:
                headers["access-control-max-age"] = self.max_age
        if not self.headers:
            append_vary(headers, "Access-Control-Request-Headers")
        return response


def cors(
    origin: OriginRule = "*",
    allow_methods: Iterable[str] = DEFAULT_METHODS,
    allow_headers: Iterable[str] = (),
    expose_headers: Iterable[str] = (),
    max_age: int | None = None,
    credentials: bool = False,
) -> MiddlewareFunction:
    """CORS middleware.

    Options:
    - `origin` (str | list[str] | callable, default `"*"`): `"*"`, one origin
      (`"https://app.example"`), a list of them, or `(origin, c) -> str | None` (plain or
      async) returning the origin to allow, or None.
    - `allow_methods` (list[str], default GET, HEAD, PUT, POST, DELETE, PATCH): what a
      preflight allows.
    - `allow_headers` (list[str], default `()`): what a preflight allows; `()` echoes
      the preflight's `Access-Control-Request-Headers`.
    - `expose_headers` (list[str], default `()`): response headers the page may read.
    - `max_age` (int seconds, default None): how long a browser may cache a preflight.
    - `credentials` (bool, default False): let the page send and read cookies.

    Raises ValueError for `"*"` with `credentials=True`, a malformed origin and a
    negative `max_age`.
    """
    policy = _Policy(origin, allow_methods, allow_headers, expose_headers, max_age, credentials)

    @create_middleware
    async def cors_middleware(c: Context, next: Next) -> Response | None:
        request_origin: str | None = c.req.header("origin")
        if policy.decide is None:
            granted = policy.listed(request_origin)  # perf: no coroutine for "*" or a list
        else:
            granted = await policy.granted(request_origin, c)
        if (
            c.req.method == "OPTIONS"
            and request_origin is not None
            and c.req.header("access-control-request-method")
        ):
            return policy.preflight(c, granted)
        await next()
        if c.res is not None:
            policy.grant(c.res.headers, granted)
            if granted is not None and policy.exposed:
                c.res.headers["access-control-expose-headers"] = policy.exposed
        return None

    async def shares_credentials_with(request_origin: str, c: Context) -> bool:
        """Whether this middleware lets `request_origin` read credentialed answers (what
        csrf() names in its refusal, so the two lists are kept together)."""
        return (
            policy.credentials
            and not policy.wildcard
            and await policy.granted(request_origin, c) is not None
        )

    cors_middleware.shares_credentials_with = shares_credentials_with  # type: ignore[attr-defined]
    return cors_middleware
