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
- The plain answers come in the form the client accepts: HTML, JSON or text.
- The answers travel down with the context (`c.answers`), as Hono's Context
  carries its not-found handler: the chain and `to_response` reach them
  without knowing the app.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .compose import Next, Route, awaited, call_route, to_response
from .context import Context, NotFoundResponse
from .exceptions import HTTPException
from .header_values import scope_headers
from .response import Response
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
    values = scope_headers(c.req.scope, b"accept")
    accept = values[0] if values else ""
    if "text/html" in accept:
        escaped = html.escape(message)
        page = f"<!doctype html><title>{status} {escaped}</title><h1>{status}</h1><p>{escaped}</p>"
        return c.html(page, status)
    if "json" in accept:
        return c.json({"error": message, "status": status}, status)
    return c.text(message, status)


class Answers:
    """One app's error, 404 and 405 answers, and the user's handlers for them."""

    __slots__ = (
        "error_handler",
        "handler_methods",
        "not_found_handler",
        "router",
        "unserved_logged",
    )

    def __init__(self, router: Router[Route]) -> None:
        self.router = router
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
            response = error_response(c, err.status, err.message)
            for name, value in err.headers.items():
                response.headers[name] = value
            return response
        logger.error("Unhandled error in %s %s", c.req.method, c.req.path, exc_info=err)
        return error_response(c, 500, "Internal Server Error")

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
        return error_response(c, 404, "404 Not Found")

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

        return wrapped_one
    return wrapped
