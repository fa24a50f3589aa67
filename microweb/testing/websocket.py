"""`TestWebSocket`: the client end of a WebSocket opened in process by
`TestClient.websocket_connect`, and the errors a test sees: `WebSocketRejected`
(the handshake was refused) and `WebSocketClosed` (the socket is closed).

Rules:
- The app runs on the client's loop, as its HTTP requests do; the test thread
  talks to it through two queues, one each way, as a server's socket would.
- The handshake completes before `websocket_connect` returns. A refusal raises
  `WebSocketRejected` with the status, headers and body the app answered (the
  scope offers the ASGI "websocket.http.response" extension); an app that closes
  before accepting is a 403, one that returns without answering a 500, as
  uvicorn answers them. An error the app raises reaches the test as it is.
- Every wait is bounded by `timeout`: a receive with nothing to receive, or a
  handler that does not finish after the close, is a `TimeoutError` naming what
  was awaited and where the handler waits, never a hung test.
- Messages the app sent before closing are received first; then every receive
  raises `WebSocketClosed(code, reason)`. Sending on a closed socket raises it too.
- `close()`, or leaving the `with` block, sends the app a `websocket.disconnect`
  (its sends fail from then on, as on a server whose client left) and waits for
  the handler to return, re-raising an error it did not handle. A handler still
  running after `timeout` (one waiting on something else than the socket never
  learns that the client left) is cancelled and reported. When the block is left
  by an exception, that exception is the one the test sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from types import TracebackType
from typing import Any

from ..datastructures import Headers
from ..types import ASGIApp, Message, Scope
from .loop_thread import LoopThread
from .waiting import PACKAGE, await_chain, cancel_stuck, next_message, where_waiting

__all__ = ["TestWebSocket", "WebSocketClosed", "WebSocketRejected"]

# microweb's frames around a handler (the app, the chain, the middleware) are left out.
_PLUMBING = (PACKAGE,)
# Beyond a wait's own timeout, how long the test thread waits for the loop to answer at all.
_LOOP_GRACE = 5.0


class WebSocketRejected(Exception):
    """The app refused the WebSocket handshake: `status_code`, `headers`, `content`, `text`."""

    def __init__(self, path: str, status_code: int, headers: Headers, content: bytes) -> None:
        self.path = path
        self.status_code = status_code
        self.headers = headers
        self.content = content
        body = f": {self.text[:200]}" if content else ""
        super().__init__(f"The WebSocket handshake to {path} was refused with {status_code}{body}")

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")


class WebSocketClosed(Exception):
    """The socket is closed: by the app (`code` and `reason` of its close) or by the client."""

    def __init__(self, code: int, reason: str = "", *, by: str = "the app") -> None:
        self.code = code
        self.reason = reason
        detail = f" ({reason})" if reason else ""
        super().__init__(f"The WebSocket was closed by {by} with code {code}{detail}")


class TestWebSocket:
    """One WebSocket to an app in process. Use it as a context manager."""

    __test__ = False

    def __init__(
        self,
        app: ASGIApp,
        scope: Scope,
        loop: LoopThread,
        timeout: float,
        on_cookies: Callable[[list[str]], None],
    ) -> None:
        self.app = app
        self.scope = scope
        self.path: str = scope["path"]
        self.timeout = timeout
        self.subprotocol: str | None = None
        self.headers = Headers()
        self._loop = loop
        self._on_cookies = on_cookies
        self._to_app: asyncio.Queue[Message] | None = None
        self._from_app: asyncio.Queue[Message] | None = None
        self._task: asyncio.Future[None] | None = None
        self._accepted = False
        self._app_closed: tuple[int, str] | None = None  # the app's close, once sent
        self._app_close_seen = False  # the test has received the app's close
        self._client_closed: tuple[int, str] | None = None
        self._disconnect: Message | None = None  # what the app's receive answers once closed
        self._error_reported = False
        self._finished = False

    # -- the test's side -----------------------------------------------------

    def connect(self) -> TestWebSocket:
        """Run the handshake; raises `WebSocketRejected` when the app refuses it."""
        try:
            self._run(self._handshake())
        except WebSocketRejected as rejected:
            self._on_cookies(rejected.headers.getall("set-cookie"))
            raise
        self._on_cookies(self.headers.getall("set-cookie"))
        offered = self.scope.get("subprotocols", [])
        if self.subprotocol is not None and self.subprotocol not in offered:
            chosen = self.subprotocol
            self._close_quietly(1002)
            raise RuntimeError(
                f"The app accepted the WebSocket to {self.path} with subprotocol {chosen!r}, "
                f"which the client did not offer (it offered {offered})"
            )
        return self

    def __enter__(self) -> TestWebSocket:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
        else:
            self._close_quietly(1000)

    def send_text(self, data: str) -> None:
        """Send a text message to the app."""
        self._send({"type": "websocket.receive", "text": str(data)})

    def send_bytes(self, data: bytes) -> None:
        """Send a binary message to the app."""
        self._send({"type": "websocket.receive", "bytes": bytes(data)})

    def send_json(self, data: Any, mode: str = "text") -> None:
        """Send `data` as JSON, in a text message (or a binary one with `mode="binary"`)."""
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if mode == "binary":
            self.send_bytes(text.encode())
        elif mode == "text":
            self.send_text(text)
        else:
            raise ValueError(f'send_json mode must be "text" or "binary", got {mode!r}')

    def receive(self, timeout: float | None = None) -> str | bytes:
        """The next message from the app: `str` for text, `bytes` for binary."""
        return self._receive("a message", timeout)

    def receive_text(self, timeout: float | None = None) -> str:
        """The next message from the app, which must be text."""
        message = self._receive("a text message", timeout)
        if not isinstance(message, str):
            raise TypeError(f"Expected a text message from {self.path}, got binary: {message!r}")
        return message

    def receive_bytes(self, timeout: float | None = None) -> bytes:
        """The next message from the app, which must be binary."""
        message = self._receive("a binary message", timeout)
        if not isinstance(message, bytes):
            raise TypeError(f"Expected a binary message from {self.path}, got text: {message!r}")
        return message

    def receive_json(self, timeout: float | None = None) -> Any:
        """The next message from the app (text or binary), parsed as JSON."""
        return json.loads(self._receive("a JSON message", timeout))

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the socket and wait for the app's handler to return (idempotent)."""
        if not self._finished:
            self._run(self._close(code, reason), self.timeout + 1 + _LOOP_GRACE)

    # -- plumbing on the test's side -----------------------------------------

    def _run(self, coro: Any, timeout: float | None = None) -> Any:
        return self._loop.run(coro, timeout if timeout is not None else self.timeout + _LOOP_GRACE)

    def _send(self, message: Message) -> None:
        if self._client_closed is not None:
            raise WebSocketClosed(*self._client_closed, by="the client")
        if self._app_closed is not None:
            raise WebSocketClosed(*self._app_closed)
        assert self._to_app is not None
        self._run(self._to_app.put(message))

    def _receive(self, what: str, timeout: float | None) -> str | bytes:
        if self._client_closed is not None:
            raise WebSocketClosed(*self._client_closed, by="the client")
        if self._app_close_seen:
            assert self._app_closed is not None
            raise WebSocketClosed(*self._app_closed)
        wait = self.timeout if timeout is None else timeout
        message = self._run(self._next(what, wait), wait + _LOOP_GRACE)
        if message is None:  # the app returned: an error it raised, or a close it never sent
            self._run(self._raise_app_error())
            self._app_closed = self._app_closed or (1006, "the app returned without closing it")
            message = {"type": "websocket.close"}
        if message["type"] == "websocket.close":
            self._app_close_seen = True
            assert self._app_closed is not None
            raise WebSocketClosed(*self._app_closed)
        text = message.get("text")
        return str(text) if text is not None else bytes(message.get("bytes") or b"")

    def _close_quietly(self, code: int) -> None:
        """Close without raising: the test already has an error to report."""
        with contextlib.suppress(Exception):  # the error in flight is the one to report
            self.close(code)

    # -- on the loop ---------------------------------------------------------

    async def _handshake(self) -> None:
        self._to_app, self._from_app = asyncio.Queue(), asyncio.Queue()
        self._task = asyncio.ensure_future(self.app(self.scope, self._app_receive, self._app_send))
        await self._to_app.put({"type": "websocket.connect"})
        try:
            message = await self._next("an answer to the handshake", self.timeout)
        except TimeoutError:
            self._task.cancel()  # nobody will hold this socket: it ends here
            raise
        if message is not None and message["type"] == "websocket.accept":
            self.subprotocol = message.get("subprotocol")
            self.headers = Headers(
                raw=[(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", [])]
            )
            return
        status, headers, body = 500, Headers(), b""
        if message is not None and message["type"] == "websocket.close":
            status = 403
        elif message is not None:  # websocket.http.response.start
            status = message["status"]
            headers = Headers(
                raw=[(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", [])]
            )
            body = await self._response_body()
        await self._wait_for_app("after refusing the handshake")
        await self._raise_app_error()
        raise WebSocketRejected(self.path, status, headers, body)

    async def _response_body(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            message = await self._next("the body of the handshake's refusal", self.timeout)
            if message is None:
                break
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _next(self, what: str, wait: float) -> Message | None:
        """The app's next message; None once the app has returned and sent everything."""
        assert self._from_app is not None and self._task is not None
        try:
            return await next_message(self._from_app, self._task, wait)
        except TimeoutError:
            where = where_waiting(await_chain(self._task, _PLUMBING))
        raise TimeoutError(
            f"Waited {wait:g} s for {what} from the WebSocket {self.path}; the app sent "
            f"nothing. Its handler is waiting at (innermost last):\n{where}"
        )

    async def _close(self, code: int, reason: str) -> None:
        assert self._to_app is not None
        if self._client_closed is None:
            self._client_closed = (code, reason)
            if self._app_closed is None:
                await self._to_app.put(
                    {"type": "websocket.disconnect", "code": code, "reason": reason}
                )
        await self._wait_for_app(f"after the client closed the socket (code {code})")
        self._finished = True
        await self._raise_app_error()

    async def _wait_for_app(self, when: str) -> None:
        assert self._task is not None
        await asyncio.wait({self._task}, timeout=self.timeout)
        if self._task.done():
            return
        self._finished = True
        where, _ = await cancel_stuck(self._task, _PLUMBING)
        raise TimeoutError(
            f"The WebSocket handler for {self.path} did not return within {self.timeout:g} s "
            f"{when}, and was cancelled. It was waiting at (innermost last):\n{where}\n"
            "A handler that waits on something else than the socket (a subscription, a "
            "queue) does not learn that the client left: also wait on the socket's receive."
        )

    async def _raise_app_error(self) -> None:
        """Re-raise, once, an error the app let escape (a cancelled app raises nothing)."""
        task = self._task
        if task is None or not task.done() or task.cancelled() or self._error_reported:
            return
        error = task.exception()
        if error is not None:
            self._error_reported = True
            raise error

    # -- the app's side ------------------------------------------------------

    async def _app_receive(self) -> Message:
        assert self._to_app is not None
        if self._disconnect is not None and self._to_app.empty():
            return dict(self._disconnect)
        message = await self._to_app.get()
        if message["type"] == "websocket.disconnect":
            self._disconnect = message
        return message

    async def _app_send(self, message: Message) -> None:
        assert self._to_app is not None and self._from_app is not None
        kind = message["type"]
        if self._client_closed is not None:
            if kind == "websocket.close":
                return  # closing a socket the client closed: nothing left to do
            raise OSError(f"The client closed the WebSocket {self.path}")  # as servers raise
        if self._app_closed is not None:
            raise RuntimeError(
                f"The app sent {kind!r} on the WebSocket {self.path} after closing it"
            )
        if kind not in (_OPEN_MESSAGES if self._accepted else _HANDSHAKE_MESSAGES):
            raise RuntimeError(
                f"Unexpected ASGI message {kind!r} "
                f"{'after' if self._accepted else 'before'} the WebSocket handshake completed"
            )
        if kind == "websocket.accept":
            self._accepted = True
        elif kind == "websocket.close":
            self._app_closed = (int(message.get("code") or 1000), str(message.get("reason") or ""))
            # The client answers a close with its own, which the app receives as a disconnect.
            await self._to_app.put({"type": "websocket.disconnect", "code": self._app_closed[0]})
        await self._from_app.put(message)


_HANDSHAKE_MESSAGES = frozenset(
    {
        "websocket.accept",
        "websocket.close",
        "websocket.http.response.start",
        "websocket.http.response.body",
    }
)
_OPEN_MESSAGES = frozenset({"websocket.send", "websocket.close"})
