"""`app.get`, `app.post`, ...: the descriptor behind them and the type a checker sees.

A module of its own, interpreted in the compiled build: mypyc compiles no protocol of
overloads without an implementation, and `help(app.get)` reads the signature of the
function a route method calls, which a compiled function does not carry.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast, overload

from .router.base import METHOD_ALL

if TYPE_CHECKING:
    from .app import MicroWeb
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


class Verb:
    """The descriptor behind `app.get` and friends: a method of the app, with its own name
    and docstring (for `help(app.get)`), that calls `app.on(METHOD, ...)`."""

    __slots__ = ("method", "register")

    def __init__(self, method: str) -> None:
        self.method = method
        verb = "any method" if method == METHOD_ALL else method

        def register(
            app: MicroWeb,
            path: str | Iterable[str],
            /,
            *handlers: Handler,
            name: str | None = None,
            responses: Responses | None = None,
            tags: Iterable[str] = (),
        ) -> Any:
            return app.on(method, path, *handlers, name=name, responses=responses, tags=tags)

        attribute = method.lower() if method != METHOD_ALL else "all"
        register.__name__ = register.__qualname__ = attribute
        register.__doc__ = (
            f"Register handlers for {verb} on `path` (Hono syntax: `/users/:id`, `/files/*`).\n\n"
            f"    app.{attribute}(path, handler)            registers it, returns the app\n"
            f"    @app.{attribute}(path)                    decorator form\n"
            f"    @app.{attribute}(path, mw1, mw2)          middleware, then the handler\n"
            f"    app.{attribute}(path, mw1)                middleware alone (as Hono)\n\n"
            "`name` names the route for `app.url_for` (default: the handler's __name__);\n"
            "`responses` ({status: schema or None}) documents its answers and `tags`\n"
            "groups it, for OpenAPI (`microweb.openapi`).\n"
            "See `MicroWeb.on`."
        )
        self.register = register

    def __get__(self, app: MicroWeb | None, owner: type[MicroWeb]) -> RouteMethod:
        if app is None:
            raise AttributeError(f"{self.method} routes are registered on an app instance")
        return cast(RouteMethod, types.MethodType(self.register, app))
