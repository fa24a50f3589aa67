"""The onion: run a matched chain of middleware and handlers.

Rules:
- The matched routes (middleware and handlers) run in registration order. A
  route that takes `next` may call it once; a second call raises. A route that
  returns a response without calling `next` ends the chain.
- A return value becomes `c.res`: a `Response`, `str` (text), `dict`/`list`
  (JSON) or `bytes`; `c.not_found()` becomes the not-found answer. `None`
  keeps what is in `c.res`, and is an error when nothing is there.
- An error is turned into a response at the level where it was raised, so the
  middleware outside still runs its code after `await next()` and sees it.
- A chain that runs out without a response ends in the not-found answer (or a
  405 when only other methods have handlers for the path).
- Those answers come from the app's `Answers`, which the context carries
  (`c.answers`): the chain never reaches up into the app.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol, cast

from mypy_extensions import mypyc_attr

from .context import NotFoundResponse
from .response import Response

if TYPE_CHECKING:
    from .context import Context

__all__ = [
    "Middleware",
    "MiddlewareFunction",
    "Next",
    "Route",
    "awaited",
    "call_route",
    "compose",
    "create_middleware",
    "is_middleware",
    "settle",
    "to_response",
]

Next = Callable[[], Awaitable[None]]


async def awaited(value: Any) -> Any:
    """`value`, awaited first when it is awaitable: what a user's function returns when
    it may be plain or async (a hook, a check, a condition)."""
    if inspect.isawaitable(value):
        return await value
    return value


_MARK: Final = "__microweb_middleware__"


class MiddlewareFunction(Protocol):
    """A function marked as middleware (what `create_middleware` and the built-in
    factories return): `await mw(c, next)`."""

    __microweb_middleware__: bool

    def __call__(self, c: Any, next: Next, /) -> Awaitable[Any]: ...


def create_middleware(fn: Callable[[Any, Next], Awaitable[Any]]) -> MiddlewareFunction:
    """Mark `fn` (an `async def mw(c, next)`) as middleware, so a route decorator accepts it."""
    setattr(fn, _MARK, True)
    return cast(MiddlewareFunction, fn)


# Subclassed by applications and by microweb's interpreted modules: the compiled build
# allows subclasses written in Python.
@mypyc_attr(allow_interpreted_subclasses=True)
class Middleware:
    """Base class for middleware objects: implement `__call__(c, next)`.

    `startup()` and `shutdown()` run with the app's lifespan, so a middleware can
    open and close connections (a session store, say).
    """

    __microweb_middleware__ = True

    async def __call__(self, c: Context, next: Next) -> Any:
        raise NotImplementedError

    async def startup(self) -> None:
        """Called once when the app starts."""

    async def shutdown(self) -> None:
        """Called once when the app stops."""


def is_middleware(fn: object) -> bool:
    return bool(getattr(fn, _MARK, False))


def _arity(fn: Callable[..., Any]) -> int:
    """How many of (c, next) `fn` takes. Where its signature cannot be read (a function or
    object compiled by mypyc, whose stand-in code object lists no parameters, or a C
    callable), middleware takes both and a handler `c` alone."""
    if hasattr(fn, "__code__") and not (inspect.isfunction(fn) or inspect.ismethod(fn)):
        return 2 if is_middleware(fn) else 1  # compiled
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2 if is_middleware(fn) else 1
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return 2
    return len(positional)


def _is_async(fn: Callable[..., Any]) -> bool:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004
    )


class Route:
    """One registered handler or middleware (`app.routes` lists them; the router matches
    them), with what was learnt of its function at registration.

    A handler's route also carries what its registration said about it: `name` (for
    `app.url_for`; the handler's `__name__` unless given), `responses` (the route
    decorator's `responses={status: schema}`), `middleware` (the functions registered
    before it in the same call, `validator(...)`s and guards among them) and `tags`
    (the decorator's `tags=`, else the prefix of the sub-app `app.route` copied it from).
    """

    __slots__ = (
        "fn",
        "is_async",
        "is_handler",
        "method",
        "middleware",
        "name",
        "path",
        "responses",
        "tags",
        "takes_next",
    )

    def __init__(
        self,
        fn: Callable[..., Any],
        method: str,
        path: str,
        *,
        is_handler: bool,
        name: str | None = None,
        responses: Mapping[int | str, Any] | None = None,
        middleware: tuple[Callable[..., Any], ...] = (),
        tags: tuple[str, ...] = (),
    ) -> None:
        arity = _arity(fn)
        if arity not in (1, 2):
            raise TypeError(
                f"Handler {fn!r} must take (c) or (c, next), it takes {arity} arguments"
            )
        self.fn = fn
        self.takes_next = arity == 2
        self.is_async = _is_async(fn)
        if not self.is_async and self.takes_next:
            raise TypeError(f"Middleware {fn!r} takes next, so it must be `async def`")
        self.method = method
        self.path = path
        self.is_handler = is_handler
        self.name = name
        self.responses: Mapping[int | str, Any] = responses or {}
        self.middleware = middleware
        self.tags = tags

    def __repr__(self) -> str:
        return f"<Route {self.method} {self.path} {getattr(self.fn, '__name__', self.fn)!r}>"


async def settle(c: Context, result: Any, route: Route | None) -> Response:
    """The response `route`'s return value stands for: `result` as a Response, or, for
    None, the `c.res` it set (or the chain after it did); None without one is an error
    that names `route`."""
    if result is None:
        response = c.res
        if response is None:
            raise RuntimeError(f"{route!r} returned None without setting c.res or awaiting next()")
        return response
    if isinstance(result, Response):
        if isinstance(result, NotFoundResponse):
            return await c.answers.not_found(c)
        prepared = c.prepared_headers
        if prepared is not None and not all(item in result.raw for item in prepared.raw):
            _merge_prepared(result, prepared.raw)
        return result
    if isinstance(result, str):
        return c.text(result)
    if isinstance(result, dict | list):
        return c.json(result)
    if isinstance(result, bytes | bytearray | memoryview):
        return c.body(bytes(result))
    raise TypeError(
        f"Handler returned {type(result).__name__}; return a Response, str, dict, list or bytes"
    )


async def to_response(c: Context, value: Any) -> Response | None:
    """Turn a return value into a Response as the chain does (None stays None)."""
    return None if value is None else await settle(c, value, None)


def _merge_prepared(response: Response, prepared: list[tuple[bytes, bytes]]) -> None:
    raw = response.raw
    present = {k for k, _ in raw}
    for item in prepared:
        if item[0] == b"set-cookie" or item[0] == b"vary":
            if item not in raw:
                raw.append(item)
        elif item[0] not in present:
            raw.append(item)


async def call_route(route: Route, c: Context, next: Next | None) -> Any:
    if route.is_async:
        if route.takes_next:
            return await route.fn(c, next)
        return await route.fn(c)
    # Plain `def` handlers may block; run them off the event loop, as Starlette does, in a
    # copy of this request's context so contextvars (request id, `get_context()`) reach them.
    return await asyncio.get_running_loop().run_in_executor(
        None, contextvars.copy_context().run, route.fn, c
    )


def compose(c: Context, matched: Sequence[tuple[Route, Any]]) -> Awaitable[None]:
    """Return the run of `matched` as an onion around `c`, which leaves the answer in
    `c.res` (the first level's coroutine itself: no coroutine wraps the chain)."""
    return _Chain(c, matched).dispatch(0)


class _Chain:
    """One request's run through its matched routes; `next` is `dispatch` of the next index."""

    # perf: an object with slots is cheaper to make than a closure over six cells.
    __slots__ = ("c", "index", "matched")

    def __init__(self, c: Context, matched: Sequence[tuple[Route, Any]]) -> None:
        self.c = c
        self.matched = matched
        self.index = -1

    async def dispatch(self, i: int) -> None:
        if i <= self.index:
            raise RuntimeError("next() called multiple times")
        self.index = i
        c = self.c
        matched = self.matched
        if i == len(matched):
            if c.res is None:
                c.set_response(await c.answers.unmatched(c, matched))
            return
        route = matched[i][0]
        c.req.route_index = i
        result: Any
        try:
            # perf: the async cases call the function directly; a coroutine less per level.
            if not route.is_async:
                result = await call_route(route, c, None)
            elif route.takes_next:
                result = await route.fn(c, functools.partial(self.dispatch, i + 1))
            else:
                result = await route.fn(c)
            if result is None:
                if c.res is None:
                    c.set_response(await settle(c, result, route))  # raises: nothing answered
            elif result.__class__ is Response and c.prepared_headers is None:
                c.set_response(result)  # perf: nothing to merge in, so no settle() coroutine
            else:
                c.set_response(await settle(c, result, route))
        except Exception as err:
            c.set_response(await c.answers.error(err, c))
