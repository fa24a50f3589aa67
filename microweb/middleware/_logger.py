"""`logger()`: one access-log record per request, written once the answer was sent.

Rules:
- The record is written after the last byte went out (for a stream: after
  its last chunk, or when the client went away), not when the handler
  returned, so its duration and byte count are what the client got.
- It carries, as the message and as record attributes (`method`, `path`,
  `status`, `bytes`, `duration_ms`, `client_gone`, `request_id`): the
  method, the path, the status, the body bytes sent, the duration, whether
  the client disconnected before the end, and the request id (with
  `request_id()` in front of it).
- Level INFO; 5xx answers are logged at WARNING, so they stand out.
- Every field that comes from the request (method, path, request id) is
  written with its control characters, line separators and backslashes
  escaped (`urls.printable`), in the message and in the attributes alike: a
  path with a percent-encoded CR/LF (`%0D%0A`) cannot forge a second line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..compose import MiddlewareFunction, Next, create_middleware
from ..response import Response
from ..urls import printable
from ._request_id import current_request_id

if TYPE_CHECKING:
    from ..context import Context
    from ..types import Message, Receive, Send

__all__ = ["logger"]


class _LoggedResponse(Response):
    """The handler's response, sent as it would be, then logged. A response with a send
    of its own (a mounted app's) is sent by that send."""

    __slots__ = ("_inner", "_log")

    _inner: Response
    _log: Callable[[int, bool], None]

    async def send(self, send: Send, receive: Receive, *, head: bool = False) -> None:
        sent = 0
        finished = False
        gone = False

        async def counting_send(message: Message) -> None:
            nonlocal sent, finished
            if message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
                finished = not message.get("more_body", False)
            await send(message)

        async def watching_receive() -> Message:
            nonlocal gone
            message = await receive()
            if message["type"] == "http.disconnect":
                gone = True
            return message

        inner = self._inner
        try:
            if inner.__class__.send is Response.send:
                await Response.send(self, counting_send, watching_receive, head=head)
            else:
                await inner.send(counting_send, watching_receive, head=head)
        finally:
            self._log(sent, gone or not finished)


def logger(name: str = "microweb.access") -> MiddlewareFunction:
    """Access log middleware.

    Options:
    - `name` (str, default `"microweb.access"`): the `logging` logger written to.
    """
    log = logging.getLogger(name)

    @create_middleware
    async def logger_middleware(c: Context, next: Next) -> None:
        started = time.perf_counter()
        await next()
        res = c.res
        if res is None:
            return
        request_id = printable(str(c.get("request_id") or current_request_id.get()))
        method, path, status = printable(c.req.method), printable(c.req.path), res.status

        def write(sent: int, client_gone: bool) -> None:
            level = logging.WARNING if status >= 500 else logging.INFO
            if not log.isEnabledFor(level):
                return
            duration_ms = (time.perf_counter() - started) * 1000
            gone = " (client went away)" if client_gone else ""
            record = log.makeRecord(
                log.name,
                level,
                __file__,
                0,
                "%s %s %d %d bytes %.1f ms%s request_id=%s",
                (method, path, status, sent, duration_ms, gone, request_id),
                None,
            )
            # Set after the record exists: a record factory may have put "-" there already.
            record.__dict__.update(
                method=method,
                path=path,
                status=status,
                bytes=sent,
                duration_ms=duration_ms,
                client_gone=client_gone,
                request_id=request_id,
            )
            log.handle(record)

        logged = _LoggedResponse.from_raw(res.body, res.status, res.raw, res.stream)
        assert isinstance(logged, _LoggedResponse)
        logged._inner = res
        logged._log = write
        c.res = logged

    return logger_middleware
