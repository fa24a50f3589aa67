"""`some()`, `every()` and `unless()`: combine middleware, as Hono's combine helpers do.

Rules:
- Each item is a middleware (`async def mw(c, next)`, or `mw(c)` that
  returns a response or None) or a condition: a function of `c` returning a
  bool (sync or async).
- `some(*mw)`: the first item that passes wins and the rest are skipped. An
  item passes when it does not raise (a condition: when it returns True).
  When an item that raised had already called `next`, its error stands (the
  handler ran; nothing is tried again). When none passes, the last error is
  raised (a 403 when the last item was a false condition).
- `every(*mw)`: all items, in order, as one middleware: each one's `next` is
  the following item, the last one's is the route's `next`. A false
  condition is a 403.
- `unless(paths_or_predicate, *mw)`: `every(*mw)`, skipped when the request's
  path matches one of the paths (Hono path syntax: `/public/*`, `/users/:id`)
  or the predicate returns True.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..compose import (
    MiddlewareFunction,
    Next,
    Route,
    awaited,
    call_route,
    create_middleware,
    to_response,
)
from ..exceptions import ForbiddenError
from ..router import METHOD_ALL
from ..router.path_set import PathSet

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["every", "some", "unless"]


class _UnmetCondition(ForbiddenError):
    def __init__(self) -> None:
        super().__init__("Forbidden: a required condition was not met")


def _entries(items: tuple[Callable[..., Any], ...], who: str) -> list[Route]:
    if not items:
        raise ValueError(f"{who}() needs at least one middleware")
    for item in items:
        if not callable(item):
            raise ValueError(f"{who}(): {item!r} is not callable")
    return [Route(item, METHOD_ALL, "*", is_handler=False) for item in items]


async def _run(entry: Route, c: Context, next: Next) -> bool:
    """Run one item; False when it was a condition that returned False."""
    result = await awaited(await call_route(entry, c, next))
    if result is True or result is False:
        if result and not entry.takes_next:
            await next()
        return result
    if result is not None:
        response = await to_response(c, result)
        if response is not None:
            c.res = response
    elif not entry.takes_next:
        await next()
    return True


def some(*middleware: Callable[..., Any]) -> MiddlewareFunction:
    """The first middleware (or condition) that passes wins.

    Options:
    - `*middleware` (middleware or `c -> bool` conditions, plain or async): tried in
      order; one passes when it does not raise (a condition: when it returns True).
    """
    entries = _entries(middleware, "some")

    @create_middleware
    async def some_middleware(c: Context, next: Next) -> None:
        called = False

        async def guarded_next() -> None:
            nonlocal called
            called = True
            await next()

        error: Exception | None = None
        for entry in entries:
            try:
                if await _run(entry, c, guarded_next):
                    return
                error = _UnmetCondition()
            except Exception as err:
                error = err
                if called:
                    break
        assert error is not None
        raise error

    return some_middleware


def every(*middleware: Callable[..., Any]) -> MiddlewareFunction:
    """All middleware (and conditions) in order; a false condition is 403.

    Options:
    - `*middleware` (middleware or `c -> bool` conditions, plain or async): run in order.
    """
    entries = _entries(middleware, "every")

    @create_middleware
    async def every_middleware(c: Context, next: Next) -> None:
        async def step(i: int) -> None:
            if i == len(entries):
                await next()
                return
            if not await _run(entries[i], c, lambda: step(i + 1)):
                raise _UnmetCondition()

        await step(0)

    return every_middleware


def unless(
    paths_or_predicate: str | Iterable[str] | Callable[[Context], Any],
    *middleware: Callable[..., Any],
) -> MiddlewareFunction:
    """`every(*middleware)`, except for the paths given or where the predicate is true.

    Options:
    - `paths_or_predicate` (str | list[str] | callable, required): route paths (Hono
      syntax, `"/public/*"`) to skip, or `predicate(c) -> bool` (plain or async).
    - `*middleware`: run, in order, everywhere else.
    """
    inner = every(*middleware)
    predicate: Callable[[Context], Any] | None = None
    paths: PathSet | None = None
    if callable(paths_or_predicate):
        predicate = paths_or_predicate
    else:
        paths = PathSet(paths_or_predicate, "unless()")

    @create_middleware
    async def unless_middleware(c: Context, next: Next) -> None:
        if paths is not None:
            skip = c.req.path in paths
        else:
            assert predicate is not None
            skip = await awaited(predicate(c))
        if skip:
            await next()
        else:
            await inner(c, next)

    return unless_middleware
