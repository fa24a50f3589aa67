"""What the middleware tests share: one way to build "an app, some middleware, a client".

- `client_with_middleware(*middleware, routes=None, base_url="https://testserver",
  client=...)`: an app with `middleware` on every path and `routes` (path -> handler,
  answering every method; by default `/` answering "ok"), and a `TestClient` on it.
  `client=` sets the peer address the app sees (`("2001:db8::1", 1234)`, or None for
  none). The `mw_client` fixture is this function.
- `guarded(mw)`: an app with an authentication middleware on `/auth/*`, whose
  `/auth/me` answers what the middleware left in the context.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from microweb import MicroWeb
from microweb.testing import TestClient

MwClient = Callable[..., TestClient]


def ok(c: Any) -> str:
    return "ok"


def client_with_middleware(
    *middleware: Any,
    routes: Mapping[str, Callable[..., Any]] | None = None,
    base_url: str = "https://testserver",
    client: tuple[str, int] | str | None = "default",
) -> TestClient:
    app = MicroWeb()
    if middleware:
        app.use(*middleware)
    for path, handler in (routes or {"/": ok}).items():
        app.all(path, handler)
    if client == "default":
        return TestClient(app, base_url=base_url)
    return TestClient(_with_client(app, client), base_url=base_url)  # type: ignore[arg-type]


def _with_client(app: MicroWeb, client: tuple[str, int] | None) -> Any:
    """`app`, seen from `client` (the scope's peer address)."""

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            scope = {**scope, "client": client}
        await app(scope, receive, send)

    return asgi


@pytest.fixture
def mw_client() -> MwClient:
    return client_with_middleware


def guarded(mw: object) -> TestClient:
    """An app with `mw` on `/auth/*`: `/auth/me` answers what the auth middleware left in
    the context (`user`, `token`, `jwt_payload`); `/open` is outside it."""
    app = MicroWeb()
    app.use("/auth/*", mw)

    @app.get("/auth/me")
    async def me(c: Any) -> dict[str, Any]:
        return {"user": c.get("user"), "token": c.get("token"), "payload": c.get("jwt_payload")}

    @app.get("/open")
    async def open_(c: Any) -> str:
        return "open"

    return TestClient(app)
