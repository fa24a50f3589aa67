"""Starlette, written the way its documentation shows."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


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
