"""Starlette, written the way its documentation shows.

- ``app``: the three basic rows.
- ``middleware_app``: ``GET /`` behind five no-op pure ASGI middleware classes (what
  Starlette's docs recommend over ``BaseHTTPMiddleware`` when speed matters).
- ``session_app``: ``GET /session`` counts visits with Starlette's ``SessionMiddleware``
  (the session lives in a signed cookie; Starlette has no server-side store).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send


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
