"""Lifespan: startup and shutdown hooks run once each, around the client's `with` block."""

from __future__ import annotations

import logging
import threading

import pytest

from microweb import MicroWeb, Middleware
from microweb.testing import TestClient


def test_startup_and_shutdown_run_once_each():
    app = MicroWeb()
    events = []

    @app.on_startup
    async def start():
        events.append("startup")

    @app.on_shutdown
    async def stop():
        events.append("shutdown")

    app.get("/", lambda c: "ok")

    with TestClient(app) as client:
        assert events == ["startup"]
        client.get("/")
        client.get("/")
        assert events == ["startup"]

    assert events == ["startup", "shutdown"]


def test_startup_state_is_visible_to_handlers():
    app = MicroWeb()
    state = {}

    @app.on_startup
    async def connect():
        state["db"] = "connected"

    app.get("/", lambda c: state["db"])

    with TestClient(app) as client:
        assert client.get("/").text == "connected"


def test_several_hooks_all_run():
    app = MicroWeb()
    events = []

    async def first():
        events.append("first")

    async def second():
        events.append("second")

    app.on_startup(first)
    app.on_startup(second)

    with TestClient(app):
        pass

    assert sorted(events) == ["first", "second"]


def test_failing_startup_makes_the_client_raise(caplog):
    app = MicroWeb()
    stopped = []

    @app.on_startup
    async def start():
        raise ConnectionError("database unreachable")

    @app.on_shutdown
    async def stop():
        stopped.append(True)

    with (
        caplog.at_level(logging.ERROR, logger="microweb"),
        pytest.raises(Exception, match="database unreachable"),
        TestClient(app),
    ):
        pass

    assert "database unreachable" in caplog.text
    assert stopped == []


def test_middleware_object_startup_and_shutdown_run_with_the_lifespan():
    events = []

    class Store(Middleware):
        async def __call__(self, c, next):
            await next()

        async def startup(self):
            events.append("open")

        async def shutdown(self):
            events.append("close")

    app = MicroWeb()
    store = Store()
    app.use(store)
    app.get("/", lambda c: "ok")
    app.get("/again", store, lambda c: "again")

    with TestClient(app) as client:
        assert client.get("/").text == "ok"
        assert events == ["open"]

    assert events == ["open", "close"]


def test_sub_app_hooks_run_when_routed_into_the_main_app():
    events = []
    sub = MicroWeb()

    @sub.on_startup
    async def start():
        events.append("sub startup")

    @sub.on_shutdown
    async def stop():
        events.append("sub shutdown")

    app = MicroWeb()
    app.route("/sub", sub)

    with TestClient(app):
        assert events == ["sub startup"]

    assert events == ["sub startup", "sub shutdown"]


def test_requests_without_a_with_block_do_not_run_startup():
    app = MicroWeb()
    events = []

    @app.on_startup
    async def start():
        events.append("startup")

    app.get("/", lambda c: "ok")
    client = TestClient(app)
    try:
        assert client.get("/").text == "ok"
    finally:
        client.close()

    assert events == []


def test_failing_startup_leaves_no_client_thread_behind():
    app = MicroWeb()

    @app.on_startup
    async def start():
        raise RuntimeError("no")

    before = set(threading.enumerate())
    with pytest.raises(RuntimeError), TestClient(app):
        pass

    assert set(threading.enumerate()) - before == set()
