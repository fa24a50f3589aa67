"""Starlette, written the way its documentation shows.

- ``app``: the three basic rows.
- ``middleware_app``: ``GET /`` behind five no-op pure ASGI middleware classes (what
  Starlette's docs recommend over ``BaseHTTPMiddleware`` when speed matters).
- ``session_app``: ``GET /session`` counts visits with Starlette's ``SessionMiddleware``
  (the session lives in a signed cookie; Starlette has no server-side store).
- ``api_app``: ``GET /users/{id}`` behind ``CORSMiddleware`` and pure ASGI middleware for
  secure headers, request ids and ETags (Starlette ships none of those three).
- ``gzip_app``: ``GET /data``, 20 KB of JSON through ``GZipMiddleware``.
- ``static_app``: ``StaticFiles`` under ``/static``; ``template_app``: ``Jinja2Templates``.
"""

from __future__ import annotations

import hashlib
import re
import uuid

from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .payloads import ORIGIN, PAGE_USERS, SECURE_HEADERS, STATIC_DIR, TEMPLATE_DIR, USERS


async def hello(request: Request) -> Response:
    return PlainTextResponse("Hello, World!")


async def user(request: Request) -> Response:
    return JSONResponse({"id": request.path_params["id"], "name": "user"})


async def echo(request: Request) -> Response:
    return JSONResponse(await request.json())


app = Starlette(
    routes=[
        Route("/", hello, methods=["GET"]),
        Route("/users/{id}", user, methods=["GET"]),
        Route("/echo", echo, methods=["POST"]),
    ]
)


# -- GET / through five middlewares ------------------------------------------------------


class NoOpMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


middleware_app = Starlette(
    routes=[Route("/", hello, methods=["GET"])],
    middleware=[Middleware(NoOpMiddleware) for _ in range(5)],
)


# -- sessions ----------------------------------------------------------------------------


async def visits(request: Request) -> Response:
    count = request.session.get("visits", 0) + 1
    request.session["visits"] = count
    return JSONResponse({"visits": count})


session_app = Starlette(
    routes=[Route("/session", visits, methods=["GET"])],
    middleware=[Middleware(SessionMiddleware, secret_key="benchmark-secret-key")],
)


# -- the box: an API stack, gzip, a static file, a template ------------------------------
# Starlette ships CORS and GZip; the rest of the API stack is pure ASGI middleware written
# the way Starlette's docs show ("Pure ASGI Middleware"), the fastest kind it has.


class SecureHeadersMiddleware:
    """Hono's default secure headers, added to every response start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURE_HEADERS:
                    if name.decode() not in headers:
                        headers.raw.append((name, value))
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestIdMiddleware:
    """Reuse a well-formed X-Request-Id, else make one; echo it on the response."""

    VALID = re.compile(r"[A-Za-z0-9_=-]{1,255}")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        request_id = incoming if self.VALID.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("x-request-id", request_id)
            await send(message)

        await self.app(scope, receive, send_with_id)


class ETagMiddleware:
    """ETag from the body's hash on 200 GET answers; a matching If-None-Match gets 304."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        start: Message = {}
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
            headers = MutableHeaders(scope=start)
            if start["status"] == 200 and "etag" not in headers:
                tag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest() + '"'
                headers["etag"] = tag
                if tag in Headers(scope=scope).get("if-none-match", ""):
                    keep = {"cache-control", "content-location", "date", "etag", "expires", "vary"}
                    start["status"] = 304
                    start["headers"] = [(k, v) for k, v in start["headers"] if k.decode() in keep]
                    body = b""
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffer)


api_app = Starlette(
    routes=[Route("/users/{id}", user, methods=["GET"])],
    middleware=[
        Middleware(CORSMiddleware, allow_origins=[ORIGIN]),
        Middleware(SecureHeadersMiddleware),
        Middleware(RequestIdMiddleware),
        Middleware(ETagMiddleware),
    ],
)


async def data(request: Request) -> Response:
    return JSONResponse(USERS)


gzip_app = Starlette(
    routes=[Route("/data", data, methods=["GET"])],
    middleware=[Middleware(GZipMiddleware, minimum_size=1024)],
)

static_app = Starlette(routes=[Mount("/static", StaticFiles(directory=STATIC_DIR))])

templates = Jinja2Templates(directory=TEMPLATE_DIR)


async def page(request: Request) -> Response:
    return templates.TemplateResponse(request, "page.html", {"title": "Users", "users": PAGE_USERS})


template_app = Starlette(routes=[Route("/page", page, methods=["GET"])])
