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
    if chunks is None:
        pieces = [encode_body(request_headers, json, form, content)]
    elif json is None and form is None and content is None:
        pieces = list(chunks) or [b""]
    else:
        raise TypeError("call_app takes `chunks` or one of `json`, `form`, `content`, not both")
    if chunks is None and (pieces[0] or method.upper() in ("POST", "PUT", "PATCH")):
        request_headers.setdefault("content-length", str(len(pieces[0])))
    scope = connection_scope("http", url, request_headers, client)
    scope["method"] = method.upper()
    if query_string is not None:
        scope["query_string"] = query_string
    if extensions:
        scope["extensions"] = dict(extensions)
    received = 0
    done = asyncio.Event()

    async def receive() -> Message:
        nonlocal received
        if received < len(pieces):
            received += 1
            more_body = received < len(pieces)
            return {"type": "http.request", "body": pieces[received - 1], "more_body": more_body}
        await done.wait()
        return {"type": "http.disconnect"}

    status = 0
    response_headers = Headers()
    response_body: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            response_headers.raw.extend(
                (bytes(k).lower(), bytes(v)) for k, v in message.get("headers", [])
            )
        elif message["type"] == "http.response.body":
            response_body.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                done.set()

    try:
        await app(scope, receive, send)
    finally:
        done.set()
    if status == 0:
        raise RuntimeError("The app returned without sending a response")
    return TestResponse(status, response_headers, b"".join(response_body), url)
