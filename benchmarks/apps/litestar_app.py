"""Litestar, written the way its documentation shows.

- ``app``: the three basic rows.
- ``middleware_app``: ``GET /`` behind five no-op ``ASGIMiddleware`` subclasses (the base
  class Litestar's docs recommend for new middleware).
- ``session_memory_app`` / ``session_redis_app``: ``GET /session`` counts visits with
  server-side sessions (``ServerSideSessionConfig``), kept in Litestar's ``MemoryStore`` and
  in its ``RedisStore`` (keys ``litestar-bench:*``).
- ``api_app``: ``GET /users/{id}`` with ``CORSConfig`` and ``ASGIMiddleware`` subclasses for
  secure headers, request ids and ETags (Litestar ships none of those three).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

from litestar import Litestar, MediaType, Request, get, post
from litestar.config.cors import CORSConfig
from litestar.datastructures import Headers, MutableScopeHeaders
from litestar.middleware import ASGIMiddleware
from litestar.middleware.session.server_side import ServerSideSessionConfig
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from .payloads import ORIGIN, SECURE_HEADERS

REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_NAMESPACE = "litestar-bench"


@get("/", media_type=MediaType.TEXT)
async def hello() -> str:
    return "Hello, World!"


@get("/users/{id:str}")
async def user(id: str) -> dict[str, str]:
    return {"id": id, "name": "user"}


@post("/echo", status_code=200)
async def echo(data: dict[str, Any]) -> dict[str, Any]:
    return data


app = Litestar(route_handlers=[hello, user, echo])


# -- GET / through five middlewares ------------------------------------------------------


class NoOpMiddleware(ASGIMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        await next_app(scope, receive, send)


middleware_app = Litestar(route_handlers=[hello], middleware=[NoOpMiddleware() for _ in range(5)])


# -- sessions ----------------------------------------------------------------------------


@get("/session")
async def visits(request: Request[Any, Any, Any]) -> dict[str, int]:
    count: int = request.session.get("visits", 0) + 1
    request.set_session({"visits": count})
    return {"visits": count}


session_memory_app = Litestar(
    route_handlers=[visits],
    middleware=[ServerSideSessionConfig().middleware],
    stores={"sessions": MemoryStore()},
)

session_redis_app = Litestar(
    route_handlers=[visits],
    middleware=[ServerSideSessionConfig().middleware],
    stores={"sessions": RedisStore.with_client(url=REDIS_URL, namespace=REDIS_NAMESPACE)},
)


# -- the API stack: CORS from Litestar's config, the rest as ASGIMiddleware subclasses -----
# Litestar ships CORS (CORSConfig); secure headers, request ids and ETags are written as its
# docs show for new middleware.

REQUEST_ID = re.compile(r"[A-Za-z0-9_=-]{1,255}")


class SecureHeadersMiddleware(ASGIMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in SECURE_HEADERS:
                    if name.decode() not in headers:
                        headers.add(name.decode(), value.decode())
            await send(message)

        await next_app(scope, receive, send_with_headers)


class RequestIdMiddleware(ASGIMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        incoming = Headers.from_scope(scope).get("x-request-id", "")
        request_id = incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message).add("x-request-id", request_id)
            await send(message)

        await next_app(scope, receive, send_with_id)


class ETagMiddleware(ASGIMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await next_app(scope, receive, send)
            return
        start: Any = {}
        chunks: list[bytes] = []

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = MutableScopeHeaders.from_message(start)
            if start["status"] == 200 and "etag" not in headers:
                tag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest() + '"'
                headers.add("etag", tag)
                if tag in Headers.from_scope(scope).get("if-none-match", ""):
                    keep = {"cache-control", "content-location", "date", "etag", "expires", "vary"}
                    start["status"] = 304
                    start["headers"] = [(k, v) for k, v in start["headers"] if k.decode() in keep]
                    body = b""
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await next_app(scope, receive, buffer)


api_app = Litestar(
    route_handlers=[user],
    cors_config=CORSConfig(allow_origins=[ORIGIN]),
    middleware=[SecureHeadersMiddleware(), RequestIdMiddleware(), ETagMiddleware()],
)
