"""The `Response` a handler returns, and how it goes out over ASGI.

A response is a status, `Headers` and either a complete body (`bytes`) or a
`stream` (an async iterable of `bytes`/`str`). Complete bodies get a
Content-Length; streams are sent chunk by chunk and stop as soon as the client
disconnects. HEAD responses keep their headers and drop the body.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any, Final

from mypy_extensions import mypyc_attr

from ._json import utf8_json
from .datastructures import Headers
from .streams import send_stream
from .types import Message, Receive, Send

__all__ = ["JSON_TYPE", "Response", "dump_json"]

JSON_TYPE: Final = "application/json"
TEXT_TYPE: Final = "text/plain; charset=utf-8"
HTML_TYPE: Final = "text/html; charset=utf-8"
# perf: ready-made (name, value) pairs for the responses the context builds.
TEXT_CT: Final = (b"content-type", TEXT_TYPE.encode())
JSON_CT: Final = (b"content-type", JSON_TYPE.encode())
HTML_CT: Final = (b"content-type", HTML_TYPE.encode())
BINARY_CT: Final = (b"content-type", b"application/octet-stream")
SSE_CT: Final = (b"content-type", b"text/event-stream")
# perf: the Content-Length values of the bodies most answers have, written once.
_LENGTHS: Final = tuple(b"%d" % n for n in range(2048))
# perf: a start message is a copy of this. A dict copy takes the keys table whole where a
# dict display inserts key by key: compiled, about 300 instructions less.
_START: Final[dict[str, Any]] = {"type": "http.response.start", "status": 200, "headers": None}


def dump_json(obj: Any) -> bytes:
    """Encode `obj` as compact UTF-8 JSON (lone surrogates as `\\uXXXX` escapes)."""
    return utf8_json(obj).encode()


HeadersInit = Headers | Mapping[str, str] | Iterable[tuple[str, str]] | None


# Subclassed by applications and by microweb's interpreted modules: the compiled build
# allows subclasses written in Python.
@mypyc_attr(allow_interpreted_subclasses=True)
class Response:
    """An HTTP response: `status`, `headers` and a `body` or a `stream`."""

    # perf: `raw` is the header list ASGI sends; the `Headers` view over it is only
    # built when someone asks for `headers`, which most responses never do.
    __slots__ = ("_headers", "body", "raw", "status", "stream")

    def __init__(
        self,
        body: bytes | str | None = b"",
        status: int = 200,
        headers: HeadersInit = None,
        *,
        media_type: str | None = None,
        stream: AsyncIterable[bytes | str] | None = None,
    ) -> None:
        if isinstance(body, str):
            body = body.encode()
        self.body: bytes = body or b""
        self.status = status
        self.stream = stream
        if headers is None:
            # perf: the Headers view over `raw` is built when `headers` is first read.
            self._headers: Headers | None = None
            self.raw: list[tuple[bytes, bytes]] = []
        else:
            view = headers if isinstance(headers, Headers) else Headers(headers)
            self._headers = view
            self.raw = view.raw
        if media_type is not None and b"content-type" not in (k for k, _ in self.raw):
            self.raw.append((b"content-type", media_type.encode("latin-1")))

    @classmethod
    def from_raw(
        cls,
        body: bytes,
        status: int,
        raw: list[tuple[bytes, bytes]],
        stream: AsyncIterable[bytes | str] | None = None,
    ) -> Response:
        """A response over a ready ASGI header list, without `__init__`'s checks."""
        if cls is Response:
            # perf: the compiled constructor is a direct call; cls.__new__ a lookup on the
            # type and a call through it (about 600 instructions more a response).
            response = Response(body, status, stream=stream)
        else:
            response = cls.__new__(cls)
            response.body = body
            response.status = status
            response.stream = stream
            response._headers = None
        response.raw = raw
        return response

    @property
    def headers(self) -> Headers:
        """The response headers (case-insensitive, multi-valued, mutable)."""
        view = self._headers
        if view is None:
            view = self._headers = Headers(raw=self.raw)
        return view

    @headers.setter
    def headers(self, headers: Headers) -> None:
        self._headers = headers
        self.raw = headers.raw

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status}>"

    def start_message(self) -> Message:
        """The `http.response.start` message of a response with a body (not a stream):
        its headers, plus Content-Length unless they have one or the status has no body."""
        raw = self.raw
        for name, _ in raw:
            if name == b"content-length":
                break
        else:
            # RFC 9110 8.6: no Content-Length on 1xx and 204; on a 304 it would have to be
            # the length of the 200 body, which a body-less 304 does not know.
            if self.status >= 200 and self.status not in (204, 304):
                n = len(self.body)
                length = _LENGTHS[n] if n < 2048 else b"%d" % n
                raw = [*raw, (b"content-length", length)]
        message = _START.copy()
        message["status"] = self.status
        message["headers"] = raw
        return message

    async def send(self, send: Send, receive: Receive, *, head: bool = False) -> None:
        """Send this response over ASGI; a HEAD response gets the headers only."""
        if self.stream is None:
            await send(self.start_message())
            await send({"type": "http.response.body", "body": b"" if head else self.body})
            return
        await send({"type": "http.response.start", "status": self.status, "headers": self.raw})
        if head:
            await send({"type": "http.response.body", "body": b""})
            return
        await send_stream(self.stream, send, receive)
