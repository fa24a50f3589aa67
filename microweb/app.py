"""`MicroWeb`: the app object, an ASGI 3 callable.

A request goes top to bottom: `__call__` -> route path -> router match ->
compose (or a direct call for a one-handler chain) -> response -> send. The
error, 404 and 405 answers, with the `on_error` and `not_found` handlers, live
in `answers.Answers`, which the app hands down in each context.
Registration builds everything that can be built ahead: each handler's arity
and kind are read once, and the router compiles its tables on first match.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar, overload

from .answers import Answers, ErrorHandler, NotFoundHandler, with_error_handler
from .compose import Middleware, Route, call_route, compose, is_middleware, settle
from .context import Context
from .exceptions import HTTPException
from .limits import DEFAULT_LIMITS, Limits
from .request import Request
from .response import TEXT_TYPE, Response
from .router import METHOD_ALL, Router, default_router
from .testing.driver import call_app
from .testing.response import TestResponse
from .types import ASGIApp, Message, Receive, Scope, Send
from .urls import decode_path
from .websockets import (
    SOCKET_VAR,
    WEBSOCKET,
    WebSocket,
    deny,
    missing_websocket_library,
    origin_allowed,
    socket_entry,
)

__all__ = ["MicroWeb"]

logger = logging.getLogger("microweb")

Handler = Callable[..., Any]
H = TypeVar("H", bound=Handler)
Hook = Callable[[], Awaitable[None]]
WsHandler = Callable[[Context, WebSocket], Awaitable[Any]]


def _merge_path(base: str, path: str) -> str:
    """Join a base path and a route path the way Hono's mergePath does."""
    if not base or base == "/":
        return path
    if path in ("", "/"):
        return base
    if path == "*":
        return base.rstrip("/") + "/*"
    return base.rstrip("/") + "/" + path.lstrip("/")


class RouteMethod(Protocol):
    """`app.get`, `app.post`, ...: `app.on(METHOD, path, *handlers)` with the method fixed.

    Typed so that `@app.get("/path")` keeps the decorated handler's type.
    """

    @overload
    def __call__(self, path: str | Iterable[str], /) -> Callable[[H], H]: ...
    @overload
    def __call__(
        self, path: str | Iterable[str], /, *middleware: Middleware
    ) -> Callable[[H], H]: ...
    @overload
    def __call__(self, path: str | Iterable[str], /, *handlers: Handler) -> Any: ...


class _Verb:
    """The descriptor behind `app.get` and friends."""

    __slots__ = ("method",)

    def __init__(self, method: str) -> None:
        self.method = method

    def __get__(self, app: MicroWeb | None, owner: type[MicroWeb]) -> RouteMethod:
        if app is None:
            raise AttributeError(f"{self.method} routes are registered on an app instance")
        return functools.partial(app.on, self.method)


class MicroWeb:
    """The application: routes, middleware, error handlers and lifespan hooks."""

    def __init__(
        self,
        strict: bool = True,
        *,
        router: Router[Route] | None = None,
        limits: Limits = DEFAULT_LIMITS,
        ws_origins: Iterable[str] = (),
    ) -> None:
        self.strict = strict
        self.ws_origins = frozenset(o.rstrip("/").lower() for o in ws_origins)
        self.limits = limits
        self.router: Router[Route] = router if router is not None else default_router()
        self.routes: list[Route] = []
        self.answers = Answers(self.router)
        self._base_path = ""
        self._startup: list[Hook] = []
        self._shutdown: list[Hook] = []
        self._mounts: list[tuple[str, ASGIApp]] = []

    # -- registration --------------------------------------------------------

    def _add(self, method: str, path: str, fn: Handler, *, is_handler: bool) -> None:
        method = method.upper()
        full = _merge_path(self._base_path, path)
        route = Route(fn, method, full, is_handler=is_handler)
        self.router.add(method, full, route)
        self.routes.append(route)
        if is_handler and method not in (METHOD_ALL, WEBSOCKET):
            self.answers.handler_methods.add(method)
        if isinstance(fn, Middleware):
            self._add_hooks(fn.startup, fn.shutdown)

    def _add_hooks(self, startup: Hook | None, shutdown: Hook | None) -> None:
        if startup is not None and startup not in self._startup:
            self._startup.append(startup)
        if shutdown is not None and shutdown not in self._shutdown:
            self._shutdown.append(shutdown)

    @overload
    def on(self, method: str | Iterable[str], path: str | Iterable[str]) -> Callable[[H], H]: ...
    @overload
    def on(
        self, method: str | Iterable[str], path: str | Iterable[str], *handlers: Handler
    ) -> Any: ...
    def on(self, method: str | Iterable[str], path: str | Iterable[str], *handlers: Handler) -> Any:
        """Register `handlers` for a method (or several) on a path (or several).

        With a final handler this registers the chain and returns the app; with no
        handler, or only middleware, it returns a decorator for the handler.
        """
        methods = [method] if isinstance(method, str) else list(method)
        paths = [path] if isinstance(path, str) else list(path)
        for fn in handlers:
            if not callable(fn):
                raise TypeError(f"Handlers must be callable, got {fn!r}")

        def register(*chain: Handler) -> None:
            for m in methods:
                for p in paths:
                    for fn in chain:
                        self._add(m, p, fn, is_handler=True)

        if not handlers or all(is_middleware(fn) for fn in handlers):

            def decorator(fn: H) -> H:
                register(*handlers, fn)
                return fn

            return decorator
        register(*handlers)
        return self

    get = _Verb("GET")
    post = _Verb("POST")
    put = _Verb("PUT")
    patch = _Verb("PATCH")
    delete = _Verb("DELETE")
    options = _Verb("OPTIONS")
    all = _Verb(METHOD_ALL)

    @overload
    def ws(self, path: str, /, *middleware: Handler) -> Callable[[WsHandler], WsHandler]: ...
    @overload
    def ws(self, path: str, /, *middleware: Handler, handler: WsHandler) -> MicroWeb: ...
    def ws(self, path: str, /, *middleware: Handler, handler: WsHandler | None = None) -> Any:
        """Register a WebSocket route: `@app.ws("/chat")` over `async def chat(c, ws)`.

        The route shares the router (and Hono's path syntax) with HTTP routes, but only
        WebSocket handshakes reach it. The handshake runs the app's middleware and the
        route's `middleware` first, so sessions load and guards can refuse it (401/403,
        and no socket opens).
        """
        for fn in middleware:
            if not callable(fn):
                raise TypeError(f"Middleware must be callable, got {fn!r}")

        def register(fn: WsHandler) -> WsHandler:
            if not callable(fn):
                raise TypeError(f"A WebSocket handler must be callable, got {fn!r}")
            for mw in middleware:
                self._add(WEBSOCKET, path, mw, is_handler=False)
            self._add(WEBSOCKET, path, socket_entry(fn), is_handler=True)
            return fn

        if handler is not None:
            register(handler)
            return self
        return register

    def use(self, *args: Any) -> MicroWeb:
        """`use(*middleware)` on every path, or `use(path, *middleware)`."""
        path = "*"
        if args and isinstance(args[0], str):
            path, args = args[0], args[1:]
        if not args:
            raise TypeError("app.use() needs at least one middleware")
        for fn in args:
            if not callable(fn):
                raise TypeError(f"Middleware must be callable, got {fn!r}")
            self._add(METHOD_ALL, path, fn, is_handler=False)
        return self

    def route(self, prefix: str, app: MicroWeb) -> MicroWeb:
        """Copy the routes of another `MicroWeb` under `prefix`."""
        own_error_handler = app.answers.error_handler
        if own_error_handler is self.answers.error_handler:
            own_error_handler = None
        for route in app.routes:
            fn = route.fn
            if own_error_handler is not None:
                fn = with_error_handler(route, own_error_handler)
            self._add(
                route.method, _merge_path(prefix, route.path), fn, is_handler=route.is_handler
            )
        for startup in app._startup:
            self._add_hooks(startup, None)
        for shutdown in app._shutdown:
            self._add_hooks(None, shutdown)
        return self

    def base_path(self, path: str) -> MicroWeb:
        """An app sharing this one's routes whose registrations are prefixed with `path`."""
        clone = copy.copy(self)
        clone._base_path = _merge_path(self._base_path, path)
        clone.answers = copy.copy(self.answers)  # its own handlers, the same routes
        return clone

    def mount(self, prefix: str, app: ASGIApp) -> MicroWeb:
        """Hand every request under `prefix` to another ASGI app (Starlette, FastAPI, ...)."""
        if not prefix.startswith("/"):
            raise ValueError(f"Mount prefix must start with '/', got {prefix!r}")
        full = _merge_path(self._base_path, prefix).rstrip("/")
        self._mounts.append((full, app))

        async def mounted(c: Context) -> Response:
            return MountedResponse(app, full, c.req)

        self._add(METHOD_ALL, prefix.rstrip("/") + "/*", mounted, is_handler=True)
        return self

    def not_found(self, handler: NotFoundHandler) -> NotFoundHandler:
        """Set the handler for requests no route answers (usable as a decorator)."""
        self.answers.not_found_handler = handler
        return handler

    def on_error(self, handler: ErrorHandler) -> ErrorHandler:
        """Set the handler `h(err, c)` for errors (usable as a decorator)."""
        self.answers.error_handler = handler
        return handler

    def on_startup(self, fn: Hook) -> Hook:
        """Run `fn` when the server starts (ASGI lifespan)."""
        self._add_hooks(fn, None)
        return fn

    def on_shutdown(self, fn: Hook) -> Hook:
        """Run `fn` when the server stops (ASGI lifespan)."""
        self._add_hooks(None, fn)
        return fn

    # -- ASGI ----------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # perf: the whole HTTP path lives in this one coroutine; every extra await of a
        # helper coroutine costs about as much as a dict-routed hello-world handler.
        if scope["type"] != "http":
            await self._other(scope, receive, send)
            return
        method: str = scope["method"]
        raw = scope.get("raw_path")
        if (raw is None or b"%" not in raw) and not scope.get("root_path") and self.strict:
            path: str = scope["path"]
        else:
            try:
                path = self._route_path(scope)
            except HTTPException as err:
                await Response(err.message, err.status, media_type=TEXT_TYPE).send(send, receive)
                return
        matched, captures = self.router.match("GET" if method == "HEAD" else method, path)
        answers = self.answers
        req = Request(scope, receive, path, method, self.limits, matched, captures)
        c = Context(self, req, answers)
        if len(matched) == 1 and not (route := matched[0][0]).takes_next:
            # perf: a one-handler chain needs no onion; call the handler directly.
            try:
                if route.is_async:
                    result = await route.fn(c)
                else:
                    result = await call_route(route, c, None)
                if result.__class__ is not Response or c._headers is not None:
                    result = await settle(c, result, route)
                response: Response = result
            except Exception as err:
                response = await answers.error(err, c)
        elif matched:
            await compose(c, matched)
            response = c._res or await answers.not_found(c)
        else:
            response = await answers.unmatched(c, matched)
        if response.stream is None and response.__class__.send is Response.send:
            # perf: Response.send inlined (unless a subclass has its own), one coroutine less.
            await send(response.start_message())
            body = b"" if method == "HEAD" else response.body
            await send({"type": "http.response.body", "body": body})
        else:
            await response.send(send, receive, head=method == "HEAD")

    async def _other(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        else:
            raise RuntimeError(f"Unsupported ASGI scope type {kind!r}")

    def _route_path(self, scope: Scope) -> str:
        """The path to route on: percent-decoded as Hono does, less root_path.

        uvicorn puts root_path in front of the path it received, as the ASGI spec now
        says; hypercorn and granian pass the path as received. Both come out the same:
        a path under root_path (a whole segment of it) loses it, any other is kept."""
        raw = scope.get("raw_path")
        if raw is None or b"%" not in raw:
            path: str = scope["path"]
        else:
            path = decode_path(raw.partition(b"?")[0])
        root = scope.get("root_path")
        if root and _under(path, root):
            path = path[len(root) :] or "/"
        if not self.strict and len(path) > 1 and path[-1] == "/":
            path = path[:-1]
        return path

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        if any(route.method == WEBSOCKET and route.is_handler for route in self.routes):
            problem = missing_websocket_library()
            if problem is not None:
                logger.error("WebSocket routes cannot be served: %s", problem)
        try:
            for hook in self._startup:
                await hook()
        except Exception as err:
            logger.exception("Startup failed")
            await send({"type": "lifespan.startup.failed", "message": str(err)})
            return
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        assert message["type"] == "lifespan.shutdown"
        try:
            for hook in reversed(self._shutdown):
                await hook()
        except Exception as err:
            logger.exception("Shutdown failed")
            await send({"type": "lifespan.shutdown.failed", "message": str(err)})
            return
        await send({"type": "lifespan.shutdown.complete"})

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        ws = WebSocket(scope, receive, send)
        try:
            path = self._route_path(scope)
        except HTTPException as err:
            await deny(ws, Response(err.message, err.status, media_type=TEXT_TYPE))
            return
        for prefix, app in self._mounts:
            if path == prefix or path.startswith(prefix + "/"):
                await app(_child_scope(scope, prefix), receive, send)
                return
        if not origin_allowed(scope, self.ws_origins):
            await deny(ws, Response("Cross-origin WebSocket refused", 403, media_type=TEXT_TYPE))
            return
        matched, captures = self.router.match(WEBSOCKET, path)
        if not any(route.is_handler for route, _ in matched):
            await deny(ws, Response("404 Not Found", 404, media_type=TEXT_TYPE))
            return
        req = Request(scope, receive, path, "GET", self.limits, matched, captures)
        c = Context(self, req, self.answers)
        c.set(SOCKET_VAR, ws)
        await compose(c, matched)
        if not ws.accepted:
            # Refused by a guard, or the handler failed before accepting: answer the
            # handshake with that response.
            res = c._res
            if res is None or res.status < 400:  # the handler returned without accepting
                res = Response("WebSocket not accepted", 403, media_type=TEXT_TYPE)
            await deny(ws, res)
        else:
            await ws.close()  # the handler returned with the socket still open

    # -- in-process requests -------------------------------------------------

    async def request(
        self,
        path: str,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        json: Any = None,
        form: dict[str, Any] | None = None,
        content: bytes | str | None = None,
    ) -> TestResponse:
        """Call the app in process, as Hono's `app.request`; returns a `TestResponse`."""
        return await call_app(
            self,
            method,
            path if "://" in path else "http://localhost" + path,
            headers=headers,
            json=json,
            form=form,
            content=content,
        )


def _under(path: str, root: str) -> bool:
    """Whether `path` is `root` or lies below it (`/api/x` is under `/api`, `/apix` not)."""
    return path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/")


def _child_scope(scope: Scope, prefix: str) -> Scope:
    """The scope a mounted app gets: root_path grows by the mount's prefix, and path is
    the full path (root_path included), whichever way the server wrote it, so the app
    finds its own part by taking root_path off (as Starlette does)."""
    child = dict(scope)
    root = scope.get("root_path", "")
    if root and not _under(scope["path"], root):
        # hypercorn and granian give the path without root_path: add it.
        child["path"] = root + scope["path"]
        if scope.get("raw_path") is not None:
            child["raw_path"] = root.encode() + scope["raw_path"]
    child["root_path"] = root + prefix
    return child


class MountedResponse(Response):
    """Hands the request to a mounted ASGI app; headers added by middleware are kept."""

    __slots__ = ("app", "prefix", "req")

    def __init__(self, app: ASGIApp, prefix: str, req: Request) -> None:
        super().__init__(b"", 200)
        self.app = app
        self.prefix = prefix
        self.req = req

    async def send(self, send: Send, receive: Receive, *, head: bool = False) -> None:
        extra = self.raw
        body = self.req._body

        if body is not None:
            # The body was read already (by a middleware, say): replay it.
            sent = False

            async def replay() -> Message:
                nonlocal sent
                if sent:
                    return await receive()
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}

            receive = replay

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                message = dict(message)
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(_child_scope(self.req.scope, self.prefix), receive, send_with_headers)
