"""`call_app`: send one HTTP request to an ASGI app in process and collect its answer.

Rules: the scope is what an HTTP/1.1 server would build from the URL (path
percent-decoded, `raw_path` and the query as sent, `Host` from the URL unless
the caller set one); the body goes in one `http.request` message with its
Content-Length, or, given as `chunks`, in one message a chunk and without a
Content-Length, as a chunked upload arrives; `receive` answers
`http.disconnect` only once the response is complete, so a streamed response
runs to its end; an app that returns without starting a response is an error,
never a silent empty answer. Standard library only: `MicroWeb.request` imports
this module with the package.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from ..datastructures import Headers
from ..http_rules import DEFAULT_PORTS
from ..types import ASGIApp, Message
from .body import encode_body
from .response import TestResponse

__all__ = ["call_app", "connection_scope"]


def connection_scope(
    kind: str, url: str, headers: dict[str, str], client: tuple[str, int]
) -> dict[str, Any]:
    """The scope an HTTP/1.1 server builds for a request (`kind` "http") or a WebSocket
    handshake ("websocket") to `url`; `headers` (lower-case names) gets a Host from the
    URL unless it has one."""
    parts = urlsplit(url)
    headers.setdefault("host", parts.netloc or "testserver")
    return {
        "type": kind,
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": parts.scheme or "http",
        "path": unquote(parts.path or "/"),
        "raw_path": (parts.path or "/").encode(),
        "query_string": parts.query.encode(),
        "root_path": "",
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        "client": client,
        "server": (
            parts.hostname or "testserver",
            parts.port or DEFAULT_PORTS.get(parts.scheme, 80),
        ),
        "state": {},
    }


async def call_app(
    app: ASGIApp,
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    form: Mapping[str, Any] | None = None,
    content: bytes | str | None = None,
    client: tuple[str, int] = ("127.0.0.1", 50000),
    *,
    chunks: Sequence[bytes] | None = None,
    query_string: bytes | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> TestResponse:
    """Send one request to `app` through the ASGI interface and collect the response.

    The body is `json`, `form` or `content` (see `encode_body`), or `chunks`, sent
    piece by piece with no Content-Length. `query_string` replaces the URL's query
    with bytes sent as they are (which a `str` URL cannot carry when they are not UTF-8).
    `extensions` goes into the scope as the server's ASGI extensions.
    """
    request_headers = {k.lower(): v for k, v in (headers or {}).items()}
    pieces = _body_pieces(method, request_headers, json, form, content, chunks)
    scope = connection_scope("http", url, request_headers, client)
    scope["method"] = method.upper()
    if query_string is not None:
        scope["query_string"] = query_string
    if extensions:
        scope["extensions"] = dict(extensions)
    exchange = _Exchange(pieces)
    try:
        await app(scope, exchange.receive, exchange.send)
    finally:
        exchange.done.set()
    if exchange.status == 0:
        raise RuntimeError("The app returned without sending a response")
    return TestResponse(exchange.status, exchange.headers, b"".join(exchange.body), url)


def _body_pieces(
    method: str,
    headers: dict[str, str],
    json: Any,
    form: Mapping[str, Any] | None,
    content: bytes | str | None,
    chunks: Sequence[bytes] | None,
) -> list[bytes]:
    """The request body as the `http.request` messages will carry it; sets the
    Content-Length (and Content-Type) in `headers` for a body sent in one piece."""
    if chunks is not None:
        if json is not None or form is not None or content is not None:
            raise TypeError("call_app takes `chunks` or one of `json`, `form`, `content`, not both")
        return list(chunks) or [b""]
    body = encode_body(headers, json, form, content)
    if body or method.upper() in ("POST", "PUT", "PATCH"):
        headers.setdefault("content-length", str(len(body)))
    return [body]


class _Exchange:
    """One request's `receive` and `send`: the body goes out in `pieces`, and
    `http.disconnect` waits until the response is complete (`done`)."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.received = 0
        self.done = asyncio.Event()
        self.status = 0
        self.headers = Headers()
        self.body: list[bytes] = []

    async def receive(self) -> Message:
        if self.received < len(self.pieces):
            self.received += 1
            more_body = self.received < len(self.pieces)
            return {
                "type": "http.request",
                "body": self.pieces[self.received - 1],
                "more_body": more_body,
            }
        await self.done.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers.raw.extend(
                (bytes(k).lower(), bytes(v)) for k, v in message.get("headers", [])
            )
        elif message["type"] == "http.response.body":
            self.body.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                self.done.set()
