"""BlackSheep, written the way its documentation shows.

- ``app``: the three basic rows.
- ``middleware_app``: ``GET /`` behind five no-op middlewares (``await handler(request)``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from blacksheep import Application, Request, Response, Router, get, json, post, text

app = Application()


@get("/")
async def hello() -> Response:
    return text("Hello, World!")


@get("/users/{id}")
async def user(id: str) -> Response:
    return json({"id": id, "name": "user"})


@post("/echo")
async def echo(request: Request) -> Response:
    data: Any = await request.json()
    return json(data)


# -- GET / through five middlewares ------------------------------------------------------


async def noop(request: Request, handler: Callable[[Request], Awaitable[Response]]) -> Response:
    return await handler(request)


middleware_app = Application(router=Router())
middleware_app.router.add_get("/", hello)
for _ in range(5):
    middleware_app.middlewares.append(noop)
