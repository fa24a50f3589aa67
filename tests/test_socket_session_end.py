"""A WebSocket opened under a signed-in session is closed by the server, with code 4401
and the reason "Session ended", when that session ends: logout, logout everywhere (from
another device), `logout(c, session=ref)`, regenerate and login, idle and absolute
expiry (with no request arriving), a destroy in the store (from this process or another
worker's store), and after an outage of the Redis feed that hid the end. On every
server-side driver, in process; tests/test_chat_workers.py does it on two uvicorn
workers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from microweb import MicroWeb, logout, require_auth, user_sessions
from microweb.context import Context
from microweb.sessions import SessionMiddleware
from microweb.sessions.store_file import FileStore
from microweb.sessions.store_redis import RedisStore
from microweb.testing import TestClient, WebSocketClosed
from microweb.testing.cookies import CookieJar
from microweb.testing.websocket import TestWebSocket
from microweb.types import Receive, Scope, Send
from microweb.websockets import WebSocket

from .conftest import RedisServer, options_for
from .redis_topologies import REDIS_URL_FIXTURES
from .sessions.conftest import build_app

DRIVERS = ["memory", "file", "redis", "redis-cluster", "redis-sentinel", "postgres", "sqlite"]
ENDED = (4401, "Session ended")
WAIT = 10.0  # how long a test waits for a close before calling it missing


@pytest.fixture(params=DRIVERS)
def driver_options(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    if request.param in ("redis-cluster", "redis-sentinel"):
        url = request.getfixturevalue(REDIS_URL_FIXTURES[request.param])
        return {"driver": "redis", "url": url, "prefix": request.getfixturevalue("redis_prefix")}
    return options_for(request.param, request, tmp_path)


def build(**options: Any) -> MicroWeb:
    """The sessions suite's app (login, regenerate, id...), with a route for each other
    way a session ends and an echo socket for signed-in users."""
    app = build_app(**options)

    @app.get("/logout")
    async def sign_out(c: Context) -> str:
        await logout(c)
        return "out"

    @app.get("/logout/everywhere")
    async def sign_out_everywhere(c: Context) -> str:
        await logout(c, everywhere=True)
        return "out"

    @app.get("/others")
    async def others(c: Context) -> list[str]:
        return [s["ref"] for s in await user_sessions(c) if not s["current"]]

    @app.get("/revoke/:ref")
    async def revoke(c: Context) -> str:
        await logout(c, session=c.req.param("ref"))
        return "revoked"

    @app.get("/regenerate")
    async def regenerate(c: Context) -> str:
        await c.get("session").regenerate()
        return "new id"

    @app.get("/destroy/:sid")
    async def destroy(c: Context) -> str:
        store = c.get("session").manager.store
        await store.destroy(c.req.param("sid"))  # in the store, not through a session
        return "destroyed"

    @app.ws("/socket", require_auth())
    async def echo(c: Context, ws: WebSocket) -> None:
        await ws.accept()
        async for message in ws:
            await ws.send_text(str(message))

    return app


class Device:
    """One browser: its own cookie jar, on the test's client (one app, one loop)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.jar = CookieJar("testserver")

    @contextlib.contextmanager
    def _cookies(self) -> Iterator[None]:
        saved, self.client.cookies = self.client.cookies, self.jar
        try:
            yield
        finally:
            self.client.cookies = saved

    def get(self, path: str) -> Any:
        with self._cookies():
            answer = self.client.get(path)
        assert answer.status_code == 200, (path, answer.status_code, answer.text)
        return answer

    def socket(self) -> TestWebSocket:
        with self._cookies():
            return self.client.websocket_connect("/socket", timeout=WAIT)

    def signed_in(self, user: str) -> Device:
        self.get(f"/login/{user}")
        return self


@pytest.fixture
def client(driver_options: dict[str, Any]) -> Iterator[TestClient]:
    with TestClient(build(**driver_options)) as client:
        yield client


def close_of(ws: TestWebSocket) -> tuple[int, str]:
    """The code and reason the app closed `ws` with (waiting up to WAIT seconds)."""
    with pytest.raises(WebSocketClosed) as closed:
        while True:
            ws.receive_text(timeout=WAIT)
    return closed.value.code, closed.value.reason


def echoes(ws: TestWebSocket) -> bool:
    ws.send_text("ping")
    return ws.receive_text(timeout=WAIT) == "ping"


# -- each way a session ends ----------------------------------------------------------


def test_logout_closes_the_socket_of_that_session(client: TestClient) -> None:
    phone = Device(client).signed_in("ann")
    with phone.socket() as ws:
        assert echoes(ws)
        phone.get("/logout")
        assert close_of(ws) == ENDED


def test_logout_everywhere_on_one_device_closes_the_sockets_of_every_other(
    client: TestClient,
) -> None:
    phone, laptop = Device(client).signed_in("ann"), Device(client).signed_in("ann")
    stranger = Device(client).signed_in("bob")
    with phone.socket() as on_phone, stranger.socket() as strangers:
        laptop.get("/logout/everywhere")  # a request that never saw the phone's session
        assert close_of(on_phone) == ENDED
        assert echoes(strangers)


def test_revoking_one_device_closes_its_socket_and_no_other(client: TestClient) -> None:
    phone, laptop = Device(client).signed_in("ann"), Device(client).signed_in("ann")
    with phone.socket() as on_phone, laptop.socket() as on_laptop:
        [ref] = laptop.get("/others").json()
        laptop.get(f"/revoke/{ref}")
        assert close_of(on_phone) == ENDED
        assert echoes(on_laptop)


def test_plain_logout_leaves_the_users_other_sockets_open(client: TestClient) -> None:
    phone, laptop = Device(client).signed_in("ann"), Device(client).signed_in("ann")
    with phone.socket() as on_phone, laptop.socket() as on_laptop:
        laptop.get("/logout")
        assert close_of(on_laptop) == ENDED
        assert echoes(on_phone)


def test_regenerating_the_id_closes_the_socket_opened_under_the_old_one(
    client: TestClient,
) -> None:
    phone = Device(client).signed_in("ann")
    with phone.socket() as old:
        phone.get("/regenerate")
        assert close_of(old) == ENDED
    with phone.socket() as new:  # the new cookie opens a socket again
        assert echoes(new)


@pytest.mark.parametrize("again_as", ["ann", "bob"])  # a regenerate; a new session
def test_logging_in_again_closes_the_socket_of_the_session_it_replaces(
    client: TestClient, again_as: str
) -> None:
    phone = Device(client).signed_in("ann")
    with phone.socket() as ws:
        phone.get(f"/login/{again_as}")
        assert close_of(ws) == ENDED


def test_a_destroy_in_the_store_closes_the_socket(client: TestClient) -> None:
    phone = Device(client).signed_in("ann")
    sid = phone.get("/id").json()["id"]
    with phone.socket() as ws:
        phone.get(f"/destroy/{sid}")
        assert close_of(ws) == ENDED


def test_the_handler_learns_its_session_ended(driver_options: dict[str, Any]) -> None:
    app = build(**driver_options)
    seen: list[tuple[int, str]] = []

    @app.ws("/watched", require_auth())
    async def watched(c: Context, ws: WebSocket) -> None:
        from microweb.websockets import WebSocketDisconnect

        await ws.accept()
        try:
            while True:
                await ws.receive_text()
        except WebSocketDisconnect as gone:
            seen.append((gone.code, gone.reason))
            raise

    with TestClient(app) as client:
        phone = Device(client).signed_in("ann")
        with phone._cookies(), client.websocket_connect("/watched", timeout=WAIT) as ws:
            phone.get("/logout")
            assert close_of(ws) == ENDED
    assert seen == [ENDED]


# -- expiry, with no request arriving -----------------------------------------------------


def test_an_idle_session_closes_its_socket_when_it_expires(
    driver_options: dict[str, Any],
) -> None:
    with TestClient(build(**driver_options, lifetime=0.02)) as client:  # 1.2 s idle
        phone = Device(client).signed_in("ann")
        with phone.socket() as ws:
            assert close_of(ws) == ENDED


@pytest.mark.parametrize("driver_options", ["memory", "file", "redis"], indirect=True)
def test_a_request_that_slides_the_idle_time_keeps_the_socket_open_past_the_first_deadline(
    driver_options: dict[str, Any],
) -> None:
    """The timer at the first deadline asks the store, which another request slid (the
    Redis topologies share the one-server store's `time_left`)."""
    with TestClient(build(**driver_options, lifetime=0.04)) as client:  # 2.4 s idle
        phone = Device(client).signed_in("ann")
        with phone.socket() as ws:
            opened = time.monotonic()
            time.sleep(1.2)
            phone.get("/get/user_id")  # slides the expiry to 3.6 s
            time.sleep(max(0.0, opened + 2.9 - time.monotonic()))  # past the first deadline
            assert echoes(ws)
            assert close_of(ws) == ENDED


def test_the_absolute_lifetime_closes_the_socket_of_a_busy_session(
    driver_options: dict[str, Any],
) -> None:
    options = {**driver_options, "lifetime": 120, "absolute_lifetime": 0.02}  # 1.2 s in all
    with TestClient(build(**options)) as client:
        phone = Device(client).signed_in("ann")
        with phone.socket() as ws:
            assert close_of(ws) == ENDED


# -- other workers, and outages ---------------------------------------------------------


def test_a_session_ended_by_another_workers_file_store_closes_the_socket(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "sessions"
    with TestClient(build(driver="file", directory=str(directory))) as client:
        phone = Device(client).signed_in("ann")
        sid = phone.get("/id").json()["id"]
        with phone.socket() as ws:
            asyncio.run(FileStore(directory).destroy(sid))  # as another process would
            assert close_of(ws) == ENDED


def test_a_logout_everywhere_by_another_workers_redis_store_closes_the_socket(
    redis_url: str, redis_prefix: str
) -> None:
    with TestClient(build(driver="redis", url=redis_url, prefix=redis_prefix)) as client:
        phone = Device(client).signed_in("ann")
        with phone.socket() as ws:

            async def other_worker() -> None:
                store = RedisStore(redis_url, prefix=redis_prefix)
                await store.destroy_user("ann")
                await store.close()

            asyncio.run(other_worker())
            assert close_of(ws) == ENDED


def test_an_end_lost_in_a_redis_outage_is_found_once_listening_again(
    throwaway_redis: RedisServer,
) -> None:
    """The session's key goes without an announcement and the pub/sub connection is cut:
    when the watcher hears again it checks the store, and closes the socket."""
    prefix = "microweb-test:"
    with TestClient(build(driver="redis", url=throwaway_redis.url, prefix=prefix)) as client:
        phone = Device(client).signed_in("ann")
        sid = phone.get("/id").json()["id"]
        with phone.socket() as ws:
            assert echoes(ws)
            admin = redis.Redis.from_url(throwaway_redis.url)
            try:
                random_part, _, tag = sid.partition("~")
                assert admin.delete(f"{prefix}{{{tag}}}{random_part}") == 1  # heard by no one
                assert echoes(ws)
                admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            finally:
                admin.close()
            assert close_of(ws) == ENDED


# -- sockets that a mounted app or a plain ASGI app holds --------------------------------


async def raw_echo(scope: Scope, receive: Receive, send: Send) -> None:
    """A WebSocket echo in plain ASGI, as a mounted or wrapped app would have it."""
    assert scope["type"] == "websocket"
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await send({"type": "websocket.send", "text": message.get("text") or ""})


def test_a_socket_held_by_a_mounted_app_is_closed_when_its_session_ends(
    driver_options: dict[str, Any],
) -> None:
    app = build(**driver_options)
    app.use("/legacy/*", require_auth())
    app.mount("/legacy", raw_echo)
    with TestClient(app) as client:
        phone = Device(client).signed_in("ann")
        with phone._cookies(), client.websocket_connect("/legacy/socket", timeout=WAIT) as ws:
            assert echoes(ws)
            phone.get("/logout")
            assert close_of(ws) == ENDED


def test_a_socket_under_the_asgi_session_middleware_is_closed_when_its_session_ends(
    driver_options: dict[str, Any],
) -> None:
    async def plain(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await raw_echo(scope, receive, send)
            return
        current = scope["session"]
        if scope["path"] == "/login":
            await current.regenerate()
            current.put("user_id", "ann")
            await current.index_user("ann")
        else:
            await current.invalidate()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    with TestClient(SessionMiddleware(plain, **driver_options)) as client:
        assert client.get("/login").status_code == 200
        with client.websocket_connect("/socket", timeout=WAIT) as ws:
            assert echoes(ws)
            assert client.get("/logout").status_code == 200
            assert close_of(ws) == ENDED
