"""Litestar, written the way its documentation shows.

- ``app``: the three basic rows.
- ``middleware_app``: ``GET /`` behind five no-op ``ASGIMiddleware`` subclasses (the base
  class Litestar's docs recommend for new middleware).
- ``session_memory_app`` / ``session_redis_app``: ``GET /session`` counts visits with
  server-side sessions (``ServerSideSessionConfig``), kept in Litestar's ``MemoryStore`` and
  in its ``RedisStore`` (keys ``litestar-bench:*``).
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, MediaType, Request, get, post
from litestar.middleware import ASGIMiddleware
from litestar.middleware.session.server_side import ServerSideSessionConfig
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.types import ASGIApp, Receive, Scope, Send

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
