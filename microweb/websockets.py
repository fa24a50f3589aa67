"""`WebSocket`: one ASGI WebSocket connection, as a handler of `app.ws(...)` sees it.

Rules:
- `accept()` completes the handshake; every other call needs it first. The
  handshake itself runs the app's middleware (sessions load, guards refuse
  with 401/403 before any socket opens): see `MicroWeb.ws`.
- `receive_text()`, `receive_bytes()` and `receive_json()` raise
  `WebSocketDisconnect(code)` when the client went away; `async for message
  in ws` yields text (`str`) and binary (`bytes`) messages and simply ends
  then. A message of the other kind is a `TypeError`; text that is not JSON
  (RFC 8259, read as `c.req.json()` reads a body: no NaN, no Infinity) given
  to `receive_json()` is a `WebSocketDataError` (the app closes such a socket
  with 1007).
- Sending to a client that went away raises `WebSocketDisconnect(1006)`.
- `close()` is idempotent; the app closes a socket its handler left open.
- `state` is a `WebSocketState` (connecting, open, closed); `deny(response)`
  refuses a handshake the middleware or the router turned down.
- A server without a WebSocket implementation hands a handshake to the app as a
  plain HTTP request: `unserved_handshake` recognises one, and the app answers it
  with a 501 and a logged error instead of a 404 (see `Answers.not_found`).
  uvicorn alone is such a server, so `websockets` is a dependency of microweb;
  `missing_websocket_library` tells at start-up when it cannot be imported.
  Once this side has closed, receiving raises `WebSocketDisconnect` with the
  code it closed with, even for a message the client sent before the close
  arrived: nothing said after a close reaches the handler.
- A socket ends with its session: each handshake hands its socket to the
  request's session (`watch_session`, whatever `c.get("session")` holds that
  has `close_on_end`), which closes it with 4401 when the session ends (see
  sessions/watch.py). A route's handler is watched while it runs; a mounted
  app that takes the socket over gets `asgi_receive` and `asgi_send`, which
  stop passing messages once the socket was closed from this side.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from ._json import InvalidJSON, parse_json
from .exceptions import HTTPException
from .http_rules import normalize_origin, own_origin, scope_headers
from .response import Response
from .types import Message, Receive, Scope, Send
from .urls import printable

if TYPE_CHECKING:
    from .context import Context

__all__ = [
    "WebSocket",
    "WebSocketDataError",
    "WebSocketDisconnect",
    "WebSocketState",
    "watch_session",
]

logger = logging.getLogger("microweb")

# The router method WebSocket routes are registered under: HTTP requests never match it.
WEBSOCKET = "WEBSOCKET"
# The context variable holding the request's WebSocket.
SOCKET_VAR = "_microweb_websocket"


class WebSocketState(Enum):
    """Where a `WebSocket` is: before the handshake completes, open, or closed."""

    CONNECTING = "connecting"
    OPEN = "open"
    CLOSED = "closed"


CONNECTING, OPEN, CLOSED = WebSocketState.CONNECTING, WebSocketState.OPEN, WebSocketState.CLOSED


class WebSocketDisconnect(Exception):
    """The client closed the connection (or it broke); `code` is the close code."""

    def __init__(self, code: int = 1000, reason: str = "") -> None:
        super().__init__(f"WebSocket closed with code {code}" + (f": {reason}" if reason else ""))
        self.code = code
        self.reason = reason


class WebSocketDataError(ValueError):
    """A message could not be decoded as the handler asked (not JSON, say)."""


class WebSocket:
    """A WebSocket connection: accept, receive, send and close."""

    __slots__ = ("_closed_with", "_receive", "_send", "scope", "state")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self.state: WebSocketState = CONNECTING
        self._closed_with: tuple[int, str] | None = None  # this side's close: code, reason

    @property
    def accepted(self) -> bool:
        return self.state is not CONNECTING

    @property
    def subprotocols(self) -> list[str]:
        """The subprotocols the client offered."""
        return list(self.scope.get("subprotocols", []))

    async def accept(
        self, subprotocol: str | None = None, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        """Complete the handshake (choosing `subprotocol`, adding `headers`)."""
        if self._closed_with is not None:  # closed before it opened (its session ended)
            raise WebSocketDisconnect(*self._closed_with)
        if self.state is not CONNECTING:
            raise RuntimeError("accept() was called on a WebSocket that is already open or closed")
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            self.state = CLOSED
            raise WebSocketDisconnect(message.get("code", 1006))
        if message["type"] != "websocket.connect":
            raise RuntimeError(f"Expected websocket.connect, got {message['type']!r}")
        reply: Message = {
            "type": "websocket.accept",
            "subprotocol": subprotocol,
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        }
        await self._send(reply)
        self.state = OPEN

    async def _next(self) -> Message:
        if self.state is CONNECTING:
            raise RuntimeError("Call await ws.accept() before receiving")
        if self.state is CLOSED:
            raise WebSocketDisconnect(*(self._closed_with or (1000, "")))
        message = await self._receive()
        if self._closed_with is not None:  # closed from this side while waiting: say why
            raise WebSocketDisconnect(*self._closed_with)
        if message["type"] == "websocket.disconnect":
            self.state = CLOSED
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason") or "")
        return message

    async def receive(self) -> str | bytes:
        """The next message: `str` for text, `bytes` for binary."""
        message = await self._next()
        text = message.get("text")
        if text is not None:
            return str(text)
        return bytes(message.get("bytes") or b"")

    async def receive_text(self) -> str:
        """The next message, which must be text."""
        message = await self.receive()
        if not isinstance(message, str):
            raise TypeError("Expected a text WebSocket message, got a binary one")
        return message

    async def receive_bytes(self) -> bytes:
        """The next message, which must be binary."""
        message = await self.receive()
        if not isinstance(message, bytes):
            raise TypeError("Expected a binary WebSocket message, got a text one")
        return message

    async def receive_json(self) -> Any:
        """The next message (text or binary) parsed as JSON (as `c.req.json()` reads it:
        no NaN, no Infinity, no number too large for a float)."""
        message = await self.receive()
        try:
            return parse_json(message)
        except InvalidJSON as err:
            raise WebSocketDataError(f"WebSocket message is not JSON: {err}") from None

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[str | bytes]:
        while True:
            try:
                message = await self.receive()
            except WebSocketDisconnect:
                return
            yield message

    async def _out(self, message: Message) -> None:
        if self.state is CONNECTING:
            raise RuntimeError("Call await ws.accept() before sending")
        if self.state is CLOSED:
            raise WebSocketDisconnect(1006, "the connection is closed")
        try:
            await self._send(message)
        except (OSError, RuntimeError) as err:
            # The server reports a client that went away as one of these.
            self.state = CLOSED
            raise WebSocketDisconnect(1006, str(err)) from None

    async def send_text(self, data: str) -> None:
        await self._out({"type": "websocket.send", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        await self._out({"type": "websocket.send", "bytes": bytes(data)})

    async def send_json(self, data: Any) -> None:
        await self._out({"type": "websocket.send", "text": json.dumps(data, separators=(",", ":"))})

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (before `accept()`, this refuses the handshake)."""
        if self.state is CLOSED:
            return
        self.state = CLOSED
        self._closed_with = (code, reason)
        with contextlib.suppress(OSError, RuntimeError):  # the client is already gone
            await self._send({"type": "websocket.close", "code": code, "reason": reason})

    async def deny(self, response: Response) -> None:
        """Refuse the handshake with `response` (its status, headers and body) where the
        server supports it (the ASGI "websocket.http.response" extension), else with a
        close, which servers answer with 403."""
        self.state = CLOSED
        if "websocket.http.response" in (self.scope.get("extensions") or {}):
            start = response.start_message()
            await self._send({**start, "type": "websocket.http.response.start"})
            await self._send({"type": "websocket.http.response.body", "body": response.body})
        else:
            await self._send({"type": "websocket.close", "code": 1008, "reason": ""})

    # -- for an ASGI app that takes the socket over (a mount) --------------------------

    async def asgi_receive(self) -> Message:
        """The ASGI `receive` of this socket; a disconnect once it was closed from this
        side (its session ended), whatever the client sent before the close reached it."""
        message = await self._receive()
        if self._closed_with is not None and message["type"] == "websocket.receive":
            return {"type": "websocket.disconnect", "code": self._closed_with[0]}
        return message

    async def asgi_send(self, message: Message) -> None:
        """The ASGI `send` of this socket, keeping `state`; once the socket was closed
        from this side it sends nothing and raises `OSError`, as a server does for a
        closed connection."""
        if self._closed_with is not None:
            raise OSError("The WebSocket was closed: its session ended")
        kind = message["type"]
        if kind == "websocket.accept":
            self.state = OPEN
        elif kind in ("websocket.close", "websocket.http.response.start"):
            self.state = CLOSED
        await self._send(message)


# -- what the app uses to run a WebSocket route ------------------------------------------


def origin_allowed(scope: Scope, trusted: frozenset[str]) -> bool:
    """Whether the handshake's Origin is the request's own origin or a trusted one.

    No Origin header (a non-browser client, which no other site can drive) passes:
    Cross-Site WebSocket Hijacking needs a browser, and browsers always send Origin.
    """
    origins = scope_headers(scope, b"origin")
    if not origins:
        return True
    origin = normalize_origin(origins[-1])
    if origin is None:
        return False
    if origin in trusted:
        return True
    hosts = scope_headers(scope, b"host")
    return bool(hosts) and origin == own_origin(scope.get("scheme", "ws"), hosts[-1])


class _EndsWithSession(Protocol):
    def close_on_end(self, socket: WebSocket) -> Callable[[], None] | None: ...


def watch_session(c: Context, ws: WebSocket) -> Callable[[], None] | None:
    """Have the request's session close `ws` when it ends (`Session.close_on_end`);
    return the function that stops watching, or None when nothing watches it."""
    session: _EndsWithSession | None = c.get("session")
    close_on_end = getattr(session, "close_on_end", None)
    return None if close_on_end is None else close_on_end(ws)


def socket_entry(handler: Callable[[Context, WebSocket], Awaitable[Any]]) -> Callable[..., Any]:
    """The chain entry that runs a WebSocket handler `handler(c, ws)`, its socket
    watched by the request's session meanwhile (`watch_session`).

    Before `accept()`, an error refuses the handshake (a 500, or the HTTPException's
    status). After it, a client that left ends the handler quietly, undecodable data
    closes with 1007, and any other error is logged and closes with 1011.
    """

    async def websocket_route(c: Context) -> Response:
        ws: WebSocket = c.get(SOCKET_VAR)
        unwatch = watch_session(c, ws)
        try:
            await handler(c, ws)
        except WebSocketDisconnect:
            pass
        except WebSocketDataError as err:
            if not ws.accepted:
                raise HTTPException(400, str(err)) from None
            logger.warning("Closing WebSocket %s: %s", printable(c.req.path), err)
            await ws.close(1007)
        except Exception:
            if not ws.accepted:
                raise
            logger.exception("Unhandled error in WebSocket handler for %s", printable(c.req.path))
            await ws.close(1011)
        finally:
            if unwatch is not None:
                unwatch()
        return Response(b"", 200)

    websocket_route.__name__ = getattr(handler, "__name__", "websocket_route")
    return websocket_route


# -- servers that cannot speak WebSocket ---------------------------------------------------

UNSERVED_MESSAGE = (
    "a WebSocket handshake for %s reached the app as a plain HTTP request: the server "
    "cannot speak WebSocket. Under uvicorn, install the 'websockets' package (a dependency "
    "of microweb) and do not pass --ws none."
)


def is_handshake(scope: Scope) -> bool:
    """Whether an HTTP request asks for a WebSocket upgrade (`Upgrade: websocket`), which
    a server that speaks WebSocket would have turned into a websocket scope."""
    upgrade = scope_headers(scope, b"upgrade")
    return bool(upgrade) and upgrade[-1].strip().lower() == "websocket"


def missing_websocket_library() -> str | None:
    """Why the server this process runs under cannot speak WebSocket, or None when it can
    (or when that cannot be told). Only uvicorn needs a library for it (websockets or
    wsproto); hypercorn and granian bring their own. A server run with WebSockets turned
    off (`uvicorn --ws none`) is not seen here: its handshakes are (`is_handshake`)."""
    if "uvicorn" not in sys.modules:
        return None
    if any(importlib.util.find_spec(name) for name in ("websockets", "wsproto")):
        return None
    return (
        "uvicorn has no WebSocket library (neither 'websockets' nor 'wsproto' can be "
        "imported): this app's WebSocket routes cannot be reached. Install 'websockets' "
        "(pip install websockets; microweb depends on it, so something removed it)."
    )
