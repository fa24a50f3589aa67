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
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, final, overload

from mypy_extensions import mypyc_attr

from .answers import Answers, ErrorHandler, NotFoundHandler, error_response, with_error_handler
from .checked_responses import checked_handler
from .compose import (
    Middleware,
    MiddlewareFunction,
    Route,
    call_route,
    compose,
    is_middleware,
    settle,
)
from .context import Context
from .debug import debug_mode
from .exceptions import HTTPException
from .http_rules import INVALID_HOST, checked_origin, host_is_valid
from .limits import DEFAULT_LIMITS, Limits
from .request import Request
from .response import TEXT_TYPE, Response
from .route_method import H, Handler, Responses, Verb
from .router import METHOD_ALL, Result, Router, default_router
from .router.reverse import url_for
from .testing.driver import call_app
from .testing.response import TestResponse
from .types import ASGIApp, Message, Receive, Scope, Send
from .urls import check_route_path, decode_path, subpath_segments
from .websockets import (
    SOCKET_VAR,
    WEBSOCKET,
    WebSocket,
    missing_websocket_library,
    origin_allowed,
    socket_entry,
    watch_session,
)

__all__ = ["MicroWeb"]

logger = logging.getLogger("microweb")


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


Match = Callable[[str, str], Result[Route]]


@final
class _Entry:
    """What the ASGI entry reads of its app on every request, in one native object.

    perf: `MicroWeb` stays a Python class in the compiled build, so each of its
    attributes is a lookup in the instance's dict; the entry makes one and reads the
    rest from here. `MicroWeb.strict`, `.limits`, `.router` and `.answers` are
    properties over these fields. `match` is the router's `match` as it is after the
    first request (routers build their matcher then, and replace the method).
    (Read-only properties: mypyc compiles no property setter on a Python class.)"""

    __slots__ = ("answers", "limits", "match", "router", "strict")

    def __init__(
        self, strict: bool, limits: Limits, router: Router[Route], answers: Answers
    ) -> None:
        self.strict = strict
        self.limits = limits
        self.router = router
        self.answers = answers
        self.match: Match | None = None

    def copy(self) -> _Entry:
        return _Entry(self.strict, self.limits, self.router, self.answers)


async def _asgi(self: MicroWeb, scope: Scope, receive: Receive, send: Send) -> None:
    """`MicroWeb.__call__`: the ASGI entry."""
    # perf: the whole HTTP path lives in this one coroutine; every extra await of a
    # helper coroutine costs about as much as a dict-routed hello-world handler.
    # perf: a scope is a dict (the ASGI spec says so), whose lookups compile to direct
    # calls; any other mapping is copied into one.
    http: dict[str, Any] = scope if isinstance(scope, dict) else dict(scope)
    kind: str = http["type"]
    if kind != "http":
        await self._other(scope, receive, send)
        return
    entry = self._entry
    method: str = http["method"]
    raw = http.get("raw_path")
    path: str = http["path"]
    if (
        # perf: no bytes method to ask whether raw_path holds a "%" (a call with its
        # arguments in a tuple, or `in`, which first tries b"%" as an integer and formats
        # the TypeError it gets): a server that decoded escapes made the path shorter than
        # raw_path, and one it left is a "%" in the path. Either goes the slow way, which
        # decodes raw_path itself; so does a path with non-ASCII (shorter once decoded).
        # And isprintable() instead of a regex for the control characters
        # check_route_path refuses (it also sends the few other non-printable characters
        # the slow way, which gives them the same answer).
        (raw is not None and (len(raw) != len(path) or "%" in path))
        or http.get("root_path")
        or not entry.strict
        or path[:1] != "/"
        or "/." in path
        or not path.isprintable()
        or not host_is_valid(http["headers"])
    ):
        try:
            path = self._route_path(http)
        except HTTPException as err:
            await self._refuse(http, receive, err).send(send, receive)
            return
    verb = "GET" if method == "HEAD" else method
    match = entry.match
    if match is None:  # the first request: the router builds its matcher
        found = entry.router.match(verb, path)
        entry.match = entry.router.match
    else:
        found = match(verb, path)
    # perf: indexed, and the handler list typed as one: compiled, unpacking a union of
    # tuples, or indexing one, goes through the generic protocols.
    matched: list[tuple[Route, Any]] = found[0]
    captures = found[1]
    answers = entry.answers
    req = Request(http, receive, path, method, entry.limits, matched, captures)
    c = Context(self, req, answers)
    if len(matched) == 1 and not (route := matched[0][0]).takes_next:
        # perf: a one-handler chain needs no onion; call the handler directly.
        try:
            if route.is_async:
                result = await route.fn(c)
            else:
                result = await call_route(route, c, None)
            if type(result) is not Response or c.prepared_headers is not None:
                result = await settle(c, result, route)
            response: Response = result
        except Exception as err:
            response = await answers.error(err, c)
    elif matched:
        await compose(c, matched)
        response = c.res or await answers.not_found(c)
    else:
        response = await answers.unmatched(c, matched)
    response_type = type(response)
    if response.stream is None and (
        response_type is Response or response_type.send is Response.send
    ):
        # perf: Response.send inlined (unless a subclass has its own), one coroutine less.
        await send(response.start_message())
        body = b"" if method == "HEAD" else response.body
        await send({"type": "http.response.body", "body": body})
    else:
        await response.send(send, receive, head=method == "HEAD")


# A Python class in the compiled build too: app.get and friends are descriptors, and
# applications subclass MicroWeb and set attributes on it.
@mypyc_attr(native_class=False)
class MicroWeb:
    """The application: routes, middleware, error handlers and lifespan hooks."""

    def __init__(
        self,
        strict: bool = True,
        *,
        router: Router[Route] | None = None,
        limits: Limits = DEFAULT_LIMITS,
        ws_origins: Iterable[str] = (),
        check_responses: bool = False,
        debug: bool | str | None = None,
    ) -> None:
        """`debug=True` shows the debug page (tracebacks, the route table) to requests
        that reach the server on a loopback address; `debug="force"` to any; None (the
        default) reads MICROWEB_DEBUG (1, 0 or force). See docs/cli.md."""
        # Tests and development: check each JSON answer against its route's declared
        # schema (microweb.checked_responses); off, nothing of it runs per request.
        self.check_responses = check_responses
        self.ws_origins = frozenset(checked_origin(o, "MicroWeb(ws_origins=)") for o in ws_origins)
        self.routes: list[Route] = []
        router = router if router is not None else default_router()
        answers = Answers(router, self.routes, debug_mode(debug))
        self._entry = _Entry(strict, limits, router, answers)
        self._base_path = ""
        self._startup: list[Hook] = []
        self._shutdown: list[Hook] = []

    @property
    def strict(self) -> bool:
        """Strict routing (the default): `/about` and `/about/` are different paths."""
        return self._entry.strict

    @property
    def limits(self) -> Limits:
        """The request size limits (microweb.limits)."""
        return self._entry.limits

    @property
    def router(self) -> Router[Route]:
        """The router the routes are added to and matched with."""
        return self._entry.router

    @property
    def answers(self) -> Answers:
        """The app's not-found and error answers."""
        return self._entry.answers

    # -- registration --------------------------------------------------------

    def _add(self, route: Route) -> None:
        self.router.add(route.method, route.path, route)
        self.routes.append(route)
        if route.is_handler and route.method not in (METHOD_ALL, WEBSOCKET):
            self.answers.handler_methods.add(route.method)
        fn = route.fn
        if isinstance(fn, Middleware):
            self._add_hooks(fn.startup, fn.shutdown)

    def _add_fn(
        self,
        method: str,
        path: str,
        fn: Handler,
        *,
        is_handler: bool,
        name: str | None = None,
        responses: Responses | None = None,
        middleware: tuple[Handler, ...] = (),
        tags: tuple[str, ...] = (),
    ) -> None:
        if is_handler and name is None:
            name = getattr(fn, "__name__", None)
        route = Route(
            fn,
            method.upper(),
            _merge_path(self._base_path, path),
            is_handler=is_handler,
            name=name,
            responses=responses,
            middleware=middleware,
            tags=tags,
        )
        if self.check_responses and is_handler and route.method != WEBSOCKET:
            checked = checked_handler(route)
            if checked is not fn:
                route = Route(
                    checked,
                    route.method,
                    route.path,
                    is_handler=True,
                    name=name,
                    responses=responses,
                    middleware=middleware,
                    tags=tags,
                )
        self._add(route)

    def _add_hooks(self, startup: Hook | None, shutdown: Hook | None) -> None:
        if startup is not None and startup not in self._startup:
            self._startup.append(startup)
        if shutdown is not None and shutdown not in self._shutdown:
            self._shutdown.append(shutdown)

    @overload
    def on(
        self,
        method: str | Iterable[str],
        path: str | Iterable[str],
        *middleware: Middleware | MiddlewareFunction,
        name: str | None = None,
        responses: Responses | None = None,
        tags: Iterable[str] = (),
    ) -> Callable[[H], H]: ...
    @overload
    def on(
        self,
        method: str | Iterable[str],
        path: str | Iterable[str],
        *handlers: Handler,
        name: str | None = None,
        responses: Responses | None = None,
        tags: Iterable[str] = (),
    ) -> Any: ...
    def on(
        self,
        method: str | Iterable[str],
        path: str | Iterable[str],
        *handlers: Handler,
        name: str | None = None,
        responses: Responses | None = None,
        tags: Iterable[str] = (),
    ) -> Any:
        """Register `handlers` for a method (or several) on a path (or several).

        With a final handler, this registers the chain and returns the app. With no
        handler, or with middleware only, it registers that middleware at once (so
        `app.post("/login", rate_limit("5/minute"))` limits POST /login, as in Hono) and
        returns a decorator that registers the decorated handler after it.

        `name` names the route for `app.url_for` (default: the handler's `__name__`);
        `responses` ({status: schema or None}) documents its answers and `tags` groups
        it (`microweb.openapi`).
        """
        methods = [method] if isinstance(method, str) else list(method)
        paths = [path] if isinstance(path, str) else list(path)
        for fn in handlers:
            if not callable(fn):
                raise TypeError(f"Handlers must be callable, got {fn!r}")
        if responses is not None:
            _check_responses(responses)
        if isinstance(tags, str):
            raise TypeError(f"tags= is a list of names, e.g. tags=[{tags!r}]")
        tag_names = tuple(tags)
        return _register(self, methods, paths, handlers, name, responses, tag_names)

    get = Verb("GET")
    post = Verb("POST")
    put = Verb("PUT")
    patch = Verb("PATCH")
    delete = Verb("DELETE")
    options = Verb("OPTIONS")
    all = Verb(METHOD_ALL)

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

        register = _register_ws(self, path, middleware)
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
            self._add_fn(METHOD_ALL, path, fn, is_handler=False)
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
            self._add_fn(
                route.method,
                _merge_path(prefix, route.path),
                fn,
                is_handler=route.is_handler,
                name=route.name,
                responses=route.responses,
                middleware=route.middleware,
                tags=route.tags or _prefix_tags(prefix),
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
        clone._entry = self._entry.copy()
        clone._entry.answers = copy.copy(self.answers)  # its own handlers, the same routes
        return clone

    def mount(self, prefix: str, app: ASGIApp) -> MicroWeb:
        """Hand every request under `prefix` to another ASGI app (Starlette, FastAPI, ...)."""
        if not prefix.startswith("/"):
            raise ValueError(f"Mount prefix must start with '/', got {prefix!r}")
        full = _merge_path(self._base_path, prefix).rstrip("/")

        mounted = _mounted(full, app)
        self._add_fn(METHOD_ALL, prefix.rstrip("/") + "/*", mounted, is_handler=True, name="")
        return self

    # In router/reverse.py, interpreted in the compiled build: a compiled method takes
    # no `name=` among **params beside a positional-only `name`.
    url_for = url_for

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

    # The ASGI entry, a module function set as the method: servers (uvicorn, hypercorn)
    # tell ASGI 3 from ASGI 2 by inspect.iscoroutinefunction(app.__call__), true of a
    # compiled function and false of a compiled method of a Python class.
    __call__ = _asgi

    async def _other(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        else:
            raise RuntimeError(f"Unsupported ASGI scope type {kind!r}")

    def _refuse(self, scope: Scope, receive: Receive, err: HTTPException) -> Response:
        """The plain answer to a request refused before routing (its path or Host)."""
        req = Request(scope, receive, scope.get("path", ""), scope.get("method", "GET"))
        return error_response(Context(self, req, self.answers), err.status, err.message)

    def _route_path(self, scope: Scope) -> str:
        """The path to route on: percent-decoded as Hono does, in normal form (see urls.py),
        less root_path; a malformed path or Host header is an HTTPException(400 or 404).

        uvicorn puts root_path in front of the path it received, as the ASGI spec now
        says; hypercorn and granian pass the path as received. Both come out the same:
        a path under root_path (a whole segment of it) loses it, any other is kept."""
        if not host_is_valid(scope.get("headers", ())):
            raise HTTPException(400, INVALID_HOST)
        raw = scope.get("raw_path")
        if raw is None or raw.find(b"%") == -1:
            path: str = scope["path"]
        else:
            path = decode_path(raw.partition(b"?")[0])
        check_route_path(path)
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
            await ws.deny(self._refuse(scope, receive, err))
            return
        if not origin_allowed(scope, self.ws_origins):
            await ws.deny(Response("Cross-origin WebSocket refused", 403, media_type=TEXT_TYPE))
            return
        matched, captures = self.router.match(WEBSOCKET, path)
        if not any(route.is_handler for route, _ in matched):
            await ws.deny(Response("404 Not Found", 404, media_type=TEXT_TYPE))
            return
        req = Request(scope, receive, path, "GET", self.limits, matched, captures)
        c = Context(self, req, self.answers)
        c.set(SOCKET_VAR, ws)
        await compose(c, matched)
        res = c.res
        if isinstance(res, MountedResponse) and not ws.accepted:
            # The chain (Origin check, middleware, guards) let the handshake through to a
            # mounted app: it takes the socket from here, watched by the session.
            unwatch = watch_session(c, ws)
            try:
                await res.app(_child_scope(scope, res.prefix), ws.asgi_receive, ws.asgi_send)
            finally:
                if unwatch is not None:
                    unwatch()
            return
        if not ws.accepted:
            # Refused by a guard, or the handler failed before accepting: answer the
            # handshake with that response.
            if res is None or res.status < 400:  # the handler returned without accepting
                res = Response("WebSocket not accepted", 403, media_type=TEXT_TYPE)
            await ws.deny(res)
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


def _prefix_tags(prefix: str) -> tuple[str, ...]:
    """The tag of routes copied from a sub-app mounted at `prefix`: '/notes' -> ('notes',)."""
    tag = prefix.strip("/")
    return (tag,) if tag else ()


def _check_responses(responses: Mapping[Any, Any]) -> None:
    # keys typed Any: a compiled build checks declared types, and a wrong key must reach
    # the ValueError below
    for status in responses:
        if status != "default" and not (isinstance(status, int) and 100 <= status <= 599):
            raise ValueError(
                f"responses= keys are HTTP status codes (100-599) or 'default', got {status!r}"
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


def _register(
    app: MicroWeb,
    methods: list[str],
    paths: list[str],
    handlers: tuple[Handler, ...],
    name: str | None,
    responses: Responses | None,
    tags: tuple[str, ...],
) -> Any:
    """What `app.on` does once its arguments are checked: the app, or a decorator.
    (Closures live in functions, not in MicroWeb's methods: mypyc compiles none there.)"""

    def register(
        chain: tuple[Handler, ...], handler: Handler | None, attached: tuple[Handler, ...]
    ) -> None:
        for m in methods:
            for p in paths:
                for fn in chain:
                    app._add_fn(m, p, fn, is_handler=not is_middleware(fn))
                if handler is not None:
                    app._add_fn(
                        m,
                        p,
                        handler,
                        is_handler=True,
                        name=name,
                        responses=responses,
                        middleware=attached,
                        tags=tags,
                    )

    if not handlers or all(is_middleware(fn) for fn in handlers):
        register(handlers, None, handlers)

        def decorator(fn: H) -> H:
            if not callable(fn):
                raise TypeError(f"Handlers must be callable, got {fn!r}")
            register((), fn, handlers)
            return fn

        return decorator
    register(handlers[:-1], handlers[-1], handlers[:-1])
    return app


def _register_ws(
    app: MicroWeb, path: str, middleware: tuple[Handler, ...]
) -> Callable[[WsHandler], WsHandler]:
    """What `app.ws` registers a WebSocket handler with."""

    def register(fn: WsHandler) -> WsHandler:
        if not callable(fn):
            raise TypeError(f"A WebSocket handler must be callable, got {fn!r}")
        for mw in middleware:
            app._add_fn(WEBSOCKET, path, mw, is_handler=False)
        app._add_fn(
            WEBSOCKET, path, socket_entry(fn), is_handler=True, middleware=tuple(middleware)
        )
        return fn

    return register


def _mounted(full: str, app: ASGIApp) -> Handler:
    """The handler `app.mount` registers: hands the request to the mounted `app`."""

    async def mounted(c: Context) -> Response:
        # The mounted app reads the server's decoded path: it must have the segments
        # that were routed (and guarded), or the request goes no further.
        path = c.req.path
        if not path.startswith(full) or subpath_segments(path[len(full) :]) is None:
            return c.not_found()
        return MountedResponse(app, full, c.req)

    return mounted


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
