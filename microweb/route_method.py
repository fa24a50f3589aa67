"""The type of `app.get`, `app.post`, ...: what a type checker sees of a route method.

A module of its own, interpreted in the compiled build: mypyc compiles no protocol of
overloads without an implementation, and this one is for type checkers only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

if TYPE_CHECKING:
    from .compose import Middleware, MiddlewareFunction

Handler = Callable[..., Any]
H = TypeVar("H", bound=Handler)
Responses = Mapping[int | str, Any]


class RouteMethod(Protocol):
    """`app.get`, `app.post`, ...: `app.on(METHOD, path, *handlers)` with the method fixed.

    Typed so that `@app.get("/path")` keeps the decorated handler's type.
    """

    @overload
    def __call__(
        self,
        path: str | Iterable[str],
        /,
        *,
        name: str | None = None,
        responses: Responses | None = None,
        tags: Iterable[str] = (),
    ) -> Callable[[H], H]: ...
    @overload
    def __call__(
        self,
        path: str | Iterable[str],
        /,
        *middleware: Middleware | MiddlewareFunction,
        name: str | None = None,
        responses: Responses | None = None,
        tags: Iterable[str] = (),
    ) -> Callable[[H], H]: ...
    @overload
    def __call__(
        self,
        path: str | Iterable[str],
        /,
        *handlers: Handler,
        name: str | None = None,
        responses: Responses | None = None,
        tags: Iterable[str] = (),
    ) -> Any: ...
