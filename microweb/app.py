"""`MicroWeb`: the app object, an ASGI 3 callable.

A request goes top to bottom: `__call__` -> route path -> router match ->
compose (or a direct call for a one-handler chain) -> response -> send.
Registration builds everything that can be built ahead: each handler's arity
and kind are read once, and the router compiles its tables on first match.
"""

from __future__ import annotations

import copy
import functools
import html
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar, overload

from .compose import Middleware, Route, call_route, compose, is_middleware, to_response
from .context import Context, NotFoundResponse
from .exceptions import HTTPException
from .header_values import scope_headers
from .limits import DEFAULT_LIMITS, Limits
from .request import Request
from .response import HTML_CT, JSON_CT, TEXT_CT, TEXT_TYPE, Response, dump_json
from .router import METHOD_ALL, Router, default_router
from .types import ASGIApp, Message, Receive, Scope, Send
from .urls import decode_path
from .websockets import SOCKET_VAR, WEBSOCKET, WebSocket, deny, origin_allowed, socket_entry

__all__ = ["MicroWeb"]

logger = logging.getLogger("microweb")

Handler = Callable[..., Any]
H = TypeVar("H", bound=Handler)
ErrorHandler = Callable[[Exception, Context], Any]
NotFoundHandler = Callable[[Context], Any]
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


def error_response(c: Context, status: int, message: str) -> Response:
    """A plain error answer in the form the client accepts: JSON, HTML or text."""
    # Read straight from the scope: this also answers requests whose headers broke a limit.
    accept = next(iter(scope_headers(c.req.scope, b"accept")), "")
    if "text/html" in accept:
        page = (
            f"<!doctype html><title>{status} {html.escape(message)}</title>"
            f"<h1>{status}</h1><p>{html.escape(message)}</p>"
        )
        return c._build(page.encode(), status, None, HTML_CT)
    if "json" in accept:
        return c._build(dump_json({"error": message, "status": status}), status, None, JSON_CT)
    return c._build(message.encode(), status, None, TEXT_CT)


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
        self._base_path = ""
        self._methods: set[str] = set()
        self._startup: list[Hook] = []
        self._shutdown: list[Hook] = []
        self._mounts: list[tuple[str, ASGIApp]] = []
        self._error_handler: ErrorHandler | None = None
        self._not_found_handler: NotFoundHandler | None = None

    # -- registration --------------------------------------------------------

    def _add(self, method: str, path: str, fn: Handler, *, is_handler: bool) -> None:
        method = method.upper()
        full = _merge_path(self._base_path, path)
        route = Route(fn, method, full, is_handler=is_handler)
        self.router.add(method, full, route)
        self.routes.append(route)
        if is_handler and method not in (METHOD_ALL, WEBSOCKET):
            self._methods.add(method)
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
        for route in app.routes:
            fn = route.fn
            if app._error_handler is not None and app._error_handler is not self._error_handler:
                fn = _with_error_handler(route, app)
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
        self._not_found_handler = handler
        return handler

    def on_error(self, handler: ErrorHandler) -> ErrorHandler:
        """Set the handler `h(err, c)` for errors (usable as a decorator)."""
        self._error_handler = handler
        return handler

    def on_startup(self, fn: Hook) -> Hook:
        """Run `fn` when the server starts (ASGI lifespan)."""
        self._add_hooks(fn, None)
        return fn

    def on_shutdown(self, fn: Hook) -> Hook:
        """Run `fn` when the server stops (ASGI lifespan)."""
        self._add_hooks(None, fn)
        return fn

    # -- answers -------------------------------------------------------------

    async def handle_not_found(self, c: Context) -> Response:
        if self._not_found_handler is not None:
            try:
                result = self._not_found_handler(c)
                if inspect.isawaitable(result):
                    result = await result
                # A handler answering c.not_found() itself gets the default answer.
                response = (
                    None if isinstance(result, NotFoundResponse) else await to_response(c, result)
                )
            except Exception as err:
                return await self.handle_error(err, c)
            if response is not None:
                return response
        return error_response(c, 404, "404 Not Found")

    async def handle_unmatched(self, c: Context, matched: Sequence[tuple[Route, Any]]) -> Response:
        """The answer when a chain ran out: 405 if only other methods match, else not found."""
        if not any(route.is_handler for route, _ in matched):
            allowed = self._allowed_methods(c.req.path)
            if allowed:
                response = error_response(c, 405, "405 Method Not Allowed")
                response.headers["allow"] = ", ".join(allowed)
                return response
        return await self.handle_not_found(c)

    def _allowed_methods(self, path: str) -> list[str]:
        allowed = [
            method
            for method in sorted(self._methods)
            if any(route.is_handler for route, _ in self.router.match(method, path)[0])
        ]
        if "GET" in allowed and "HEAD" not in allowed:
            allowed.insert(allowed.index("GET") + 1, "HEAD")
        return allowed

    async def handle_error(self, err: Exception, c: Context) -> Response:
        if self._error_handler is not None:
            try:
                result = self._error_handler(err, c)
                if inspect.isawaitable(result):
                    result = await result
                response = await to_response(c, result)
                if response is not None:
                    return response
            except Exception as handler_err:
                err = handler_err
        if isinstance(err, HTTPException):
            response = error_response(c, err.status, err.message)
            for name, value in err.headers.items():
                response.headers[name] = value
            return response
        logger.error("Unhandled error in %s %s", c.req.method, c.req.path, exc_info=err)
        return error_response(c, 500, "Internal Server Error")

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
        c = Context(self, Request(scope, receive, path, method, self.limits, matched, captures))
        if len(matched) == 1 and not (route := matched[0][0]).takes_next:
            # perf: a one-handler chain needs no onion; call the handler directly.
            try:
                if route.is_async:
                    result = await route.fn(c)
                else:
                    result = await call_route(route, c, None)
                if result.__class__ is not Response or c._headers is not None:
                    result = await to_response(c, result) if result is not None else c._res
                    if result is None:
                        raise RuntimeError(f"{route!r} returned None without setting c.res")
                response: Response = result
            except Exception as err:
                response = await self.handle_error(err, c)
        elif matched:
            await compose(c, matched, self)
            response = c._res or await self.handle_not_found(c)
        else:
            response = await self.handle_unmatched(c, matched)
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
        """The path to route on: percent-decoded as Hono does, less root_path."""
        raw = scope.get("raw_path")
        if raw is None or b"%" not in raw:
            path: str = scope["path"]
        else:
            path = decode_path(raw.partition(b"?")[0])
        root = scope.get("root_path")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        if not self.strict and len(path) > 1 and path[-1] == "/":
            path = path[:-1]
        return path

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
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
        path = scope["path"]
        for prefix, app in self._mounts:
            if path == prefix or path.startswith(prefix + "/"):
                await app(_child_scope(scope, prefix), receive, send)
                return
        ws = WebSocket(scope, receive, send)
        try:
            path = self._route_path(scope)
        except HTTPException as err:
            await deny(ws, Response(err.message, err.status, media_type=TEXT_TYPE))
            return
        if not origin_allowed(scope, self.ws_origins):
            await deny(ws, Response("Cross-origin WebSocket refused", 403, media_type=TEXT_TYPE))
            return
        matched, captures = self.router.match(WEBSOCKET, path)
        if not any(route.is_handler for route, _ in matched):
            await deny(ws, Response("404 Not Found", 404, media_type=TEXT_TYPE))
            return
        c = Context(self, Request(scope, receive, path, "GET", self.limits, matched, captures))
        c.set(SOCKET_VAR, ws)
        await compose(c, matched, self)
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
    ) -> Any:
        """Call the app in process, as Hono's `app.request`; returns a `TestResponse`."""
        from .testing import call_app

        return await call_app(
            self,
            method,
            path if "://" in path else "http://localhost" + path,
            headers=headers,
            json=json,
            form=form,
            content=content,
        )


def _child_scope(scope: Scope, prefix: str) -> Scope:
    child = dict(scope)
    child["root_path"] = scope.get("root_path", "") + prefix
    return child


def _with_error_handler(route: Route, app: MicroWeb) -> Handler:
    """Wrap a sub-app's route so its own `on_error` handler answers its errors."""
    handler = app._error_handler
    assert handler is not None

    async def wrapped(c: Context, next: Any = None) -> Any:
        try:
            return await call_route(route, c, next)
        except Exception as err:
            result = handler(err, c)
            return await result if inspect.isawaitable(result) else result

    if not route.takes_next:

        async def wrapped_one(c: Context) -> Any:
            return await wrapped(c)

        return wrapped_one
    return wrapped


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
