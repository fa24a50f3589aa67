"""The floor: a hand-written ASGI callable that routes on ``scope["path"]`` by hand.

It does the same work as the framework apps (parse the JSON body, serialise the
reply) and nothing else, so the ratio to it is what a framework costs.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# perf: everything that does not depend on the request is built once, here.
_HELLO_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"13")],
}
_HELLO_BODY: Message = {"type": "http.response.body", "body": b"Hello, World!"}
_NOT_FOUND_START: Message = {
    "type": "http.response.start",
    "status": 404,
    "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"9")],
}
_NOT_FOUND_BODY: Message = {"type": "http.response.body", "body": b"Not Found"}
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


async def _send_json(send: Send, obj: object) -> None:
    body = _dumps(obj).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    chunks = [body]
    while message.get("more_body", False):
        message = await receive()
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


async def lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
        return
    path: str = scope["path"]
    method: str = scope["method"]
    if path == "/" and method == "GET":
        await send(_HELLO_START)
        await send(_HELLO_BODY)
    elif path.startswith("/users/") and method == "GET" and "/" not in path[7:] and path[7:]:
        await _send_json(send, {"id": path[7:], "name": "user"})
    elif path == "/echo" and method == "POST":
        await _send_json(send, json.loads(await _read_body(receive)))
    else:
        await send(_NOT_FOUND_START)
        await send(_NOT_FOUND_BODY)
