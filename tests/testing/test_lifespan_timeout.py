"""TestClient's lifespan never hangs: a startup or shutdown hook that does not finish in
`lifespan_timeout` seconds fails the test with the hook's name and where it waits."""

from __future__ import annotations

import asyncio
import threading

import pytest

from microweb import MicroWeb, Middleware
from microweb.testing import TestClient


def test_a_shutdown_hook_that_never_finishes_fails_naming_it() -> None:
    app = MicroWeb()
    app.get("/", lambda c: "ok")

    @app.on_shutdown
    async def drain_the_queue() -> None:
        await asyncio.Event().wait()  # nobody ever sets it

    before = set(threading.enumerate())
    with pytest.raises(TimeoutError) as waited, TestClient(app, lifespan_timeout=1) as client:
        assert client.get("/").text == "ok"

    message = str(waited.value)
    assert message.startswith("App shutdown did not finish within 1 s")
    assert "the shutdown hook test_a_shutdown_hook_that_never_finishes_fails_naming_it" in message
    assert "drain_the_queue() is still running" in message
    assert "await asyncio.Event().wait()  # nobody ever sets it" in message
    assert set(threading.enumerate()) - before == set()  # the client's loop is gone too


def test_a_startup_hook_that_never_finishes_fails_naming_it() -> None:
    app = MicroWeb()
    reached = []

    @app.on_startup
    async def connect_to_the_database() -> None:
        await asyncio.sleep(3600)

    with pytest.raises(TimeoutError) as waited, TestClient(app, lifespan_timeout=0.2):
        reached.append("the block")

    assert reached == []
    message = str(waited.value)
    assert message.startswith("App startup did not finish within 0.2 s")
    assert "connect_to_the_database() is still running" in message
    assert "await asyncio.sleep(3600)" in message


def test_a_middleware_objects_shutdown_is_named_by_its_class() -> None:
    class Pool(Middleware):
        async def __call__(self, c, next):  # type: ignore[no-untyped-def]
            await next()

        async def shutdown(self) -> None:
            await asyncio.Event().wait()

    app = MicroWeb()
    app.use(Pool())

    hung = r"the shutdown hook .*Pool\.shutdown\(\) is still"
    with pytest.raises(TimeoutError, match=hung), TestClient(app, lifespan_timeout=1):
        pass


def test_hooks_that_finish_in_time_pass_quietly() -> None:
    app = MicroWeb()
    events = []

    @app.on_startup
    async def start() -> None:
        await asyncio.sleep(0.01)
        events.append("started")

    @app.on_shutdown
    async def stop() -> None:
        await asyncio.sleep(0.01)
        events.append("stopped")

    with TestClient(app, lifespan_timeout=5):
        assert events == ["started"]

    assert events == ["started", "stopped"]


def test_an_app_without_lifespan_support_still_serves() -> None:
    async def plain(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            raise RuntimeError("only http here")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"plain"})

    with TestClient(plain) as client:
        assert client.get("/").text == "plain"


def test_a_client_dropped_without_close_stops_its_loop() -> None:
    app = MicroWeb()
    app.get("/", lambda c: "ok")
    before = set(threading.enumerate())

    assert TestClient(app).get("/").text == "ok"  # never closed: garbage at once

    assert set(threading.enumerate()) - before == set()
