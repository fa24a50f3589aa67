"""Fixtures for the sessions suite.

`redis_url` and `redis_prefix` (and the `RedisServer` and `free_port` helpers,
re-exported here for this suite's modules) come from tests/conftest.py.

- `redis_server`: a factory starting throwaway servers the test may kill.
- `session_options`: the options of `session()` for each driver (parametrized).
- `server_store`: a store instance that counts its calls, for each
  server-side driver (parametrized).
- `make_client`: builds the demo app of `build_app` (or of `build=`) and an open
  TestClient.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from microweb import MicroWeb, login
from microweb.sessions import SessionStore, session
from microweb.sessions.store_file import FileStore
from microweb.sessions.store_memory import MemoryStore
from microweb.sessions.store_redis import RedisStore
from microweb.testing import TestClient

from ..conftest import RedisServer, free_port, no_redis, options_for
from ..redis_topologies import REDIS_URL_FIXTURES

__all__ = ["COOKIE", "REDIS_URL_FIXTURES", "RedisServer", "build_app", "free_port"]

DRIVERS = [
    "memory",
    "cookie",
    "file",
    "redis",
    "redis-cluster",
    "redis-sentinel",
    "postgres",
    "sqlite",
]
SERVER_DRIVERS = [
    "memory",
    "file",
    "redis",
    "redis-cluster",
    "redis-sentinel",
    "postgres",
    "sqlite",
]
COOKIE = "microweb_session"


# -- Redis (`redis_url` and `redis_prefix` live in tests/conftest.py) -----------


@pytest.fixture
def redis_server() -> Iterator[Callable[[int], RedisServer]]:
    if shutil.which("redis-server") is None:
        no_redis("there is no redis-server binary to start a throwaway Redis")
    started: list[RedisServer] = []

    def start(port: int) -> RedisServer:
        server = RedisServer(port).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# -- drivers -----------------------------------------------------------------


def sql_options(driver: str, request: pytest.FixtureRequest, tmp_path: Any) -> dict[str, Any]:
    """The `session()` options of a SQL driver: a table of the test's own, or a file."""
    return options_for(driver, request, tmp_path)


@pytest.fixture(params=DRIVERS)
def session_options(request: pytest.FixtureRequest, tmp_path: Any) -> dict[str, Any]:
    driver = request.param
    if driver in ("postgres", "sqlite"):
        return sql_options(driver, request, tmp_path)
    if driver == "cookie":
        return {"driver": "cookie", "secret": "test-secret"}
    if driver == "file":
        return {"driver": "file", "directory": str(tmp_path / "sessions")}
    if driver in REDIS_URL_FIXTURES:
        url = request.getfixturevalue(REDIS_URL_FIXTURES[driver])
        return {"driver": "redis", "url": url, "prefix": request.getfixturevalue("redis_prefix")}
    return {"driver": "memory"}


class CountingStore:
    """Mixed into a store class: counts the calls made to it in `calls`."""

    calls: Counter[str]

    def reset(self) -> None:
        self.calls = Counter()

    async def load(self, sid: str, idle_s: float) -> Any:
        self.calls["load"] += 1
        return await super().load(sid, idle_s)  # type: ignore[misc]

    async def save(self, sid: str, change: Any, **kwargs: Any) -> Any:
        self.calls["save"] += 1
        return await super().save(sid, change, **kwargs)  # type: ignore[misc]

    async def destroy(self, sid: str) -> None:
        self.calls["destroy"] += 1
        await super().destroy(sid)  # type: ignore[misc]


def counting(store_class: type[SessionStore], *args: Any, **kwargs: Any) -> Any:
    """Return an instance of `store_class` that counts its calls."""
    cls = type(f"Counting{store_class.__name__}", (CountingStore, store_class), {})
    store = cls(*args, **kwargs)
    store.reset()
    return store


@pytest.fixture(params=SERVER_DRIVERS)
def server_store(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    if request.param == "file":
        return counting(FileStore, tmp_path / "sessions")
    if request.param == "postgres":
        from microweb.sessions.store_postgres import PostgresStore

        table = request.getfixturevalue("postgres_table")
        return counting(PostgresStore, request.getfixturevalue("postgres_url"), table=table)
    if request.param == "sqlite":
        from microweb.sessions.store_sqlite import SqliteStore

        return counting(SqliteStore, f"sqlite:///{tmp_path / 'sessions.db'}")
    if request.param in REDIS_URL_FIXTURES:
        url = request.getfixturevalue(REDIS_URL_FIXTURES[request.param])
        return counting(RedisStore, url, prefix=request.getfixturevalue("redis_prefix"))
    return counting(MemoryStore)


# -- the demo app ------------------------------------------------------------


def build_app(**options: Any) -> MicroWeb:
    """An app whose routes each do one thing with the session."""
    app = MicroWeb()
    middleware = session(**options)
    app.use(middleware)
    store = middleware.manager.store

    @app.get("/plain")
    async def plain(c: Any) -> str:
        return "plain"

    @app.get("/set/:key/:value")
    async def put(c: Any) -> str:
        c.get("session").put(c.req.param("key"), c.req.param("value"))
        return "ok"

    @app.post("/json/:key")
    async def put_json(c: Any) -> str:
        c.get("session").put(c.req.param("key"), await c.req.json())
        return "ok"

    @app.get("/get/:key")
    async def get(c: Any) -> Any:
        return {"value": c.get("session").get(c.req.param("key"))}

    @app.get("/id")
    async def session_id(c: Any) -> Any:
        return {"id": c.get("session").id}

    @app.get("/token")
    async def token(c: Any) -> Any:
        return {"token": c.get("session").token()}

    @app.get("/flash/:key/:value")
    async def flash(c: Any) -> str:
        c.get("session").flash(c.req.param("key"), c.req.param("value"))
        return "ok"

    @app.get("/flash-each/:keys")
    async def flash_each(c: Any) -> str:
        for key in c.req.param("keys").split(","):
            c.get("session").flash(key, key.upper())
        return "ok"

    @app.get("/now/:key/:value")
    async def now(c: Any) -> Any:
        s = c.get("session")
        s.now(c.req.param("key"), c.req.param("value"))
        return {"value": s.get(c.req.param("key"))}

    @app.get("/reflash")
    async def reflash(c: Any) -> str:
        c.get("session").reflash()
        return "ok"

    @app.get("/keep/:key")
    async def keep(c: Any) -> str:
        c.get("session").keep(c.req.param("key"))
        return "ok"

    @app.get("/cart/:item")
    async def cart(c: Any) -> Any:
        s = c.get("session")
        if s.missing("cart"):
            s.put("cart", [])
        s.get("cart").append(c.req.param("item"))  # a nested change only
        return {"cart": s.get("cart")}

    @app.get("/big/:size")
    async def big(c: Any) -> str:
        c.get("session").put("blob", os.urandom(int(c.req.param("size"))).hex())
        return "ok"

    @app.get("/regenerate")
    async def regenerate(c: Any) -> str:
        await c.get("session").regenerate()
        return "ok"

    @app.get("/invalidate")
    async def invalidate(c: Any) -> str:
        await c.get("session").invalidate()
        return "ok"

    @app.get("/login/:user")
    async def sign_in(c: Any) -> str:
        await login(c, c.req.param("user"))
        return "signed in"

    @app.get("/stored/:sid")
    async def stored(c: Any) -> Any:
        return {"stored": await store.load(c.req.param("sid"), 60) is not None}

    return app


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(build: Callable[..., MicroWeb] = build_app, **options: Any) -> TestClient:
        client = TestClient(build(**options)).__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient], session_options: dict[str, Any]) -> TestClient:
    return make_client(**session_options)
