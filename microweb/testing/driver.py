"""`call_app`: send one HTTP request to an ASGI app in process and collect its answer.

Rules: the scope is what an HTTP/1.1 server would build from the URL (path
percent-decoded, `raw_path` and the query as sent, `Host` from the URL unless
the caller set one); the body goes in one `http.request` message with its
Content-Length; `receive` answers `http.disconnect` only once the response is
complete, so a streamed response runs to its end; an app that returns without
starting a response is an error, never a silent empty answer. Standard library
only: `MicroWeb.request` imports this module with the package.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from ..datastructures import Headers
from ..types import ASGIApp, Message
from .body import encode_body
from .response import TestResponse

__all__ = ["call_app"]


async def call_app(
    app: ASGIApp,
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    form: Mapping[str, Any] | None = None,
    content: bytes | str | None = None,
    client: tuple[str, int] = ("127.0.0.1", 50000),
) -> TestResponse:
    """Send one request to `app` through the ASGI interface and collect the response."""
    parts = urlsplit(url)
    request_headers = {k.lower(): v for k, v in (headers or {}).items()}
    body = encode_body(request_headers, json, form, content)
    host = parts.netloc or "testserver"
    request_headers.setdefault("host", host)
    if body or method.upper() in ("POST", "PUT", "PATCH"):
        request_headers.setdefault("content-length", str(len(body)))
    raw_path = (parts.path or "/").encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": parts.scheme or "http",
        "path": unquote(parts.path or "/"),
        "raw_path": raw_path,
        "query_string": parts.query.encode(),
        "root_path": "",
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in request_headers.items()],
        "client": client,
        "server": (parts.hostname or "testserver", parts.port or 443),
        "state": {},
    }
    body_sent = False
    done = asyncio.Event()

    async def receive() -> Message:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    status = 0
    response_headers = Headers()
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            response_headers.raw.extend(
                (bytes(k).lower(), bytes(v)) for k, v in message.get("headers", [])
            )
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                done.set()

    try:
        await app(scope, receive, send)
    finally:
        done.set()
    if status == 0:
        raise RuntimeError("The app returned without sending a response")
    return TestResponse(status, response_headers, b"".join(chunks), url)
