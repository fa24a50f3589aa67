"""The app's own answers: errors, 404s and 405s, with the user's `on_error` and `not_found`.

Rules:
- An error becomes the `on_error` handler's answer. Without one, or when it
  returns None, or raises (its own error then stands), an `HTTPException`
  gives its status, message and headers, and any other error a 500 that shows
  the client no detail and is logged with its traceback.
- A WebSocket handshake that reached the app as plain HTTP (the server cannot
  speak WebSocket) on a path with a WebSocket route is a 501 saying so, and an
  error in the log (once), whatever the `not_found` handler would say.
- A request no route answers gets the `not_found` handler's answer. Without
  one, or when it returns None or `c.not_found()`, a plain 404. An error it
  raises is answered as any other error.
- A chain that runs out without a handler, on a path that handlers of other
  methods serve, is a 405 with `Allow` (HEAD listed after GET).
- The plain answers come in the form the client accepts: HTML, JSON or text. The HTML
  page's title and heading say the status and its phrase once ("404 Not Found"), and
  its text the message when that says more.
- With debug on (`debug.DebugMode`, for a request it allows), an unhandled error
  answers the debug page instead of the plain 500, and a request no route answers
  the debug 404 listing the routes; the user's `on_error` and `not_found` still come
  first. A debug page that fails to build is logged and the plain answer given.
- The answers travel down with the context (`c.answers`), as Hono's Context
  carries its not-found handler: the chain and `to_response` reach them
  without knowing the app.
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from .compose import Next, Route, awaited, call_route, to_response
from .context import Context, NotFoundResponse
from .debug import DebugMode, error_page, not_found_page
from .exceptions import HTTPException
from .http_rules import answer_form
from .response import Response
from .urls import printable
from .websockets import UNSERVED_MESSAGE, WEBSOCKET, is_handshake

if TYPE_CHECKING:
    from .router import Router

__all__ = ["Answers", "ErrorHandler", "NotFoundHandler", "error_response", "with_error_handler"]

logger = logging.getLogger("microweb")

ErrorHandler = Callable[[Exception, Context], Any]
NotFoundHandler = Callable[[Context], Any]


def error_response(c: Context, status: int, message: str) -> Response:
    """A plain error answer in the form the client accepts: HTML, JSON or text."""
    # Read from the scope: this also answers requests whose headers broke a limit.
    form = answer_form(c.req.scope)
    if form == "html":
        title = status_line(status)
        # The message is shown when it says more than the status line: "admins only".
        detail = "" if message in (title, title.partition(" ")[2]) else message
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1>"
            + (f"<p>{html.escape(detail)}</p>" if detail else "")
            + "</body></html>"
        )
        return c.html(page, status)
    if form == "json":
        return c.json({"error": message, "status": status}, status)
    return c.text(message, status)


def status_line(status: int) -> str:
    """`404 Not Found`: the status and its reason phrase (the status alone when it has none)."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


class Answers:
    """One app's error, 404 and 405 answers, and the user's handlers for them."""

    __slots__ = (
        "debug",
        "error_handler",
        "handler_methods",
        "not_found_handler",
        "router",
        "routes",
        "unserved_logged",
    )

    def __init__(
        self, router: Router[Route], routes: Sequence[Route] = (), debug: DebugMode | None = None
    ) -> None:
        self.router = router
        self.routes = routes  # the app's, listed by the debug 404
        self.debug = debug
        # The methods some route has a handler for (middleware does not count): the
        # methods a 405's Allow may list.
        self.handler_methods: set[str] = set()
        self.error_handler: ErrorHandler | None = None
        self.not_found_handler: NotFoundHandler | None = None
        self.unserved_logged = False

    async def error(self, err: Exception, c: Context) -> Response:
        """The answer to `err`, raised while `c`'s request was handled."""
        if self.error_handler is not None:
            try:
                response = await to_response(c, await awaited(self.error_handler(err, c)))
                if response is not None:
                    return response
            except Exception as handler_err:
                err = handler_err
        if isinstance(err, HTTPException):
            own = await to_response(c, err.answer(c))
            response = own if own is not None else error_response(c, err.status, err.message)
            for name, value in err.headers.items():
                response.headers[name] = value
            return response
        method, path = printable(c.req.method), printable(c.req.path)
        logger.error("Unhandled error in %s %s", method, path, exc_info=err)
        page = self._debug_page(c, lambda: error_page(c, err))
        return page if page is not None else error_response(c, 500, "Internal Server Error")

    async def not_found(self, c: Context) -> Response:
        """The answer to a request no route answers."""
        if is_handshake(c.req.scope) and self._serves_websocket(c.req.path):
            if not self.unserved_logged:
                self.unserved_logged = True
                logger.error(UNSERVED_MESSAGE, c.req.path)
            return error_response(c, 501, "This server cannot open WebSockets")
        if self.not_found_handler is not None:
            try:
                result = await awaited(self.not_found_handler(c))
                # A handler answering c.not_found() itself gets the default answer.
                response = (
                    None if isinstance(result, NotFoundResponse) else await to_response(c, result)
                )
            except Exception as err:
                return await self.error(err, c)
            if response is not None:
                return response
        page = self._debug_page(c, lambda: not_found_page(c, "404 Not Found", self.routes))
        return page if page is not None else error_response(c, 404, "404 Not Found")

    def _debug_page(self, c: Context, build: Callable[[], Response]) -> Response | None:
        """`build()`'s debug page when debug is on for this request; None when it is off,
        or when building the page failed (that is logged; the plain answer follows)."""
        if self.debug is None or not self.debug.allows(c.req.scope):
            return None
        try:
            return build()
        except Exception:
            logger.exception("The debug page failed; answering the plain one")
            return None

    async def unmatched(self, c: Context, matched: Sequence[tuple[Route, Any]]) -> Response:
        """The answer when a chain ran out: 405 if only other methods match, else not found."""
        if not any(route.is_handler for route, _ in matched):
            allowed = self.allowed_methods(c.req.path)
            if allowed:
                response = error_response(c, 405, "405 Method Not Allowed")
                response.headers["allow"] = ", ".join(allowed)
                return response
        return await self.not_found(c)

    def _serves_websocket(self, path: str) -> bool:
        return any(route.is_handler for route, _ in self.router.match(WEBSOCKET, path)[0])

    def allowed_methods(self, path: str) -> list[str]:
        """The methods whose handlers serve `path`, sorted, HEAD after GET."""
        allowed = [
            method
            for method in sorted(self.handler_methods)
            if any(route.is_handler for route, _ in self.router.match(method, path)[0])
        ]
        if "GET" in allowed and "HEAD" not in allowed:
            allowed.insert(allowed.index("GET") + 1, "HEAD")
        return allowed


def with_error_handler(route: Route, handler: ErrorHandler) -> Callable[..., Any]:
    """`route`'s function, wrapped so that `handler` (its own app's `on_error`) answers
    its errors when `app.route()` copies it into another app."""

    async def wrapped(c: Context, next: Next | None = None) -> Any:
        try:
            return await call_route(route, c, next)
        except Exception as err:
            return await awaited(handler(err, c))

    if not route.takes_next:

        async def wrapped_one(c: Context) -> Any:
            return await wrapped(c)

        return functools.update_wrapper(wrapped_one, route.fn, updated=())
    # Named as the function it wraps (route tables, logs); its signature, which
    # inspect.signature reads through __wrapped__, has the same arity.
    return functools.update_wrapper(wrapped, route.fn, updated=())
