"""request_id(), logger(), timing() and context_storage()."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import AsyncIterator

import pytest

from microweb import MicroWeb
from microweb.middleware import (
    RequestIdFilter,
    context_storage,
    get_context,
    logger,
    request_id,
    timer,
    timing,
)
from microweb.testing import TestClient, call_app

app_log = logging.getLogger("tests.app")

# -- request_id ------------------------------------------------------------------------


def id_client(**options: object) -> TestClient:
    app = MicroWeb()
    app.use(request_id(**options))  # type: ignore[arg-type]
    app.get("/", lambda c: {"id": c.get("request_id")})
    return TestClient(app)


def test_a_fresh_id_is_made_and_sent_back() -> None:
    response = id_client().get("/")
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert response.json()["id"] == response.headers["x-request-id"]


def test_a_well_formed_incoming_id_is_kept() -> None:
    response = id_client().get("/", headers={"x-request-id": "abc-123_=X"})
    assert response.headers["x-request-id"] == "abc-123_=X"


@pytest.mark.parametrize("bad", ["has space", "semi;colon", "é", "x" * 256, ""])
def test_a_malformed_incoming_id_is_replaced(bad: str) -> None:
    response = id_client().get("/", headers={"x-request-id": bad})
    assert response.headers["x-request-id"] != bad
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_header_name_limit_and_generator_options() -> None:
    client = id_client(header="X-Trace", limit=4, generator=lambda: "gen")
    assert client.get("/", headers={"x-trace": "abcd"}).headers["x-trace"] == "abcd"
    assert client.get("/", headers={"x-trace": "abcde"}).headers["x-trace"] == "gen"


def test_every_log_record_of_the_request_carries_the_id_threads_included(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = MicroWeb()
    app.use(request_id())

    @app.get("/async")
    async def in_loop(c):  # type: ignore[no-untyped-def]
        app_log.warning("from the loop")
        return "ok"

    @app.get("/sync")
    def in_thread(c):  # type: ignore[no-untyped-def]
        app_log.warning("from thread %s", threading.current_thread().name)
        return "ok"

    client = TestClient(app)
    with caplog.at_level(logging.INFO, logger="tests.app"):
        first = client.get("/async", headers={"x-request-id": "req-1"})
        second = client.get("/sync", headers={"x-request-id": "req-2"})
    assert first.status_code == second.status_code == 200
    ids = [(r.getMessage().split(" ")[1], r.request_id) for r in caplog.records]  # type: ignore[attr-defined]
    assert ids[0] == ("the", "req-1")
    assert ids[1][1] == "req-2"
    outside = logging.getLogger("tests.app").makeRecord("x", logging.INFO, "f", 1, "m", (), None)
    assert outside.request_id == "-"  # type: ignore[attr-defined]


def test_request_id_filter_adds_the_attribute() -> None:
    record = logging.LogRecord("x", logging.INFO, "f", 1, "m", (), None)
    assert RequestIdFilter().filter(record) is True
    assert record.request_id == "-"  # type: ignore[attr-defined]


# -- logger ----------------------------------------------------------------------------


def logged_app() -> MicroWeb:
    app = MicroWeb()
    app.use(logger())
    app.use(request_id())
    app.get("/hello", lambda c: "hello")

    @app.get("/stream")
    async def stream(c):  # type: ignore[no-untyped-def]
        async def chunks() -> AsyncIterator[str]:
            yield "abc"
            yield "defg"

        return c.stream(chunks())

    @app.get("/forever")
    async def forever(c):  # type: ignore[no-untyped-def]
        async def chunks() -> AsyncIterator[str]:
            while True:
                yield "tick"
                await asyncio.sleep(0.01)

        return c.stream(chunks())

    app.get("/boom", lambda c: 1 / 0)
    return app


def test_one_record_per_request_with_status_bytes_and_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="microweb.access"):
        response = TestClient(logged_app()).get("/hello?x=1", headers={"x-request-id": "r1"})
    [record] = [r for r in caplog.records if r.name == "microweb.access"]
    assert response.status_code == 200
    assert record.method == "GET"  # type: ignore[attr-defined]
    assert record.path == "/hello"  # type: ignore[attr-defined]
    assert record.status == 200  # type: ignore[attr-defined]
    assert record.bytes == 5  # type: ignore[attr-defined]
    assert record.request_id == "r1"  # type: ignore[attr-defined]
    assert record.client_gone is False  # type: ignore[attr-defined]
    assert record.getMessage().startswith("GET /hello 200 5 bytes ")


def test_control_characters_in_every_logged_field_are_escaped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="microweb.access"):
        # CR and LF never reach a logger (a path holding them is refused before any
        # middleware runs); the line breaks Unicode has beyond them, and backslashes, do.
        TestClient(logged_app()).get(
            "/x%C2%85GET%20/admin%20200%E2%80%A8%5Cn%E2%80%A9", headers={"x-request-id": "r1"}
        )
    [record] = [r for r in caplog.records if r.name == "microweb.access"]
    escaped = "/x\\x85GET /admin 200\\u2028\\\\n\\u2029"
    assert record.path == escaped  # type: ignore[attr-defined]
    assert record.getMessage().startswith(f"GET {escaped} 404 ")
    assert "\n" not in record.getMessage() and "\r" not in record.getMessage()


def test_a_stream_is_logged_after_its_last_chunk(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="microweb.access"):
        TestClient(logged_app()).get("/stream")
    [record] = [r for r in caplog.records if r.name == "microweb.access"]
    assert record.bytes == 7  # type: ignore[attr-defined]


def test_a_5xx_is_logged_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="microweb.access"):
        TestClient(logged_app()).get("/boom")
    [record] = [r for r in caplog.records if r.name == "microweb.access"]
    assert (record.status, record.levelno) == (500, logging.WARNING)  # type: ignore[attr-defined]


def test_a_client_that_goes_away_mid_stream_is_logged_as_gone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = logged_app()

    async def scenario() -> None:
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/forever",
            "raw_path": b"/forever",
            "query_string": b"",
            "headers": [],
            "client": ("127.0.0.1", 1),
            "root_path": "",
            "scheme": "http",
            "http_version": "1.1",
            "asgi": {"version": "3.0"},
        }
        chunks = 0
        gone = asyncio.Event()

        async def receive():  # type: ignore[no-untyped-def]
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message):  # type: ignore[no-untyped-def]
            nonlocal chunks
            if message["type"] == "http.response.body":
                chunks += 1
                if chunks == 3:
                    gone.set()

        await asyncio.wait_for(app(scope, receive, send), 5)

    with caplog.at_level(logging.INFO, logger="microweb.access"):
        asyncio.run(scenario())
    [record] = [r for r in caplog.records if r.name == "microweb.access"]
    assert record.client_gone is True  # type: ignore[attr-defined]
    assert record.bytes >= 12  # type: ignore[attr-defined]
    assert "(client went away)" in record.getMessage()


def test_a_mounted_app_behind_the_logger_still_answers(caplog: pytest.LogCaptureFixture) -> None:
    app = MicroWeb()
    app.use(logger())

    async def asgi(scope, receive, send):  # type: ignore[no-untyped-def]
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"mounted"})

    app.mount("/m", asgi)
    with caplog.at_level(logging.INFO, logger="microweb.access"):
        response = asyncio.run(call_app(app, "GET", "http://t/m/x"))
    assert (response.status_code, response.text) == (201, "mounted")
    [record] = [r for r in caplog.records if r.name == "microweb.access"]
    assert record.bytes == 7  # type: ignore[attr-defined]


# -- timing ----------------------------------------------------------------------------


def test_server_timing_lists_metrics_and_total() -> None:
    app = MicroWeb()
    app.use(timing())

    @app.get("/")
    async def home(c):  # type: ignore[no-untyped-def]
        with timer(c, "db", 'query "users"'):
            await asyncio.sleep(0.01)
        return "ok"

    header = TestClient(app).get("/").headers["server-timing"]
    db, total = header.split(", ")
    assert re.fullmatch(r'db;dur=\d+\.\d;desc="query \\"users\\""', db)
    assert float(db.split("dur=")[1].split(";")[0]) >= 10
    assert re.fullmatch(r'total;dur=\d+\.\d;desc="Total Response Time"', total)


def test_timing_can_be_disabled_per_request() -> None:
    app = MicroWeb()
    app.use(timing(enabled=lambda c: c.req.header("x-debug") == "1"))

    @app.get("/")
    async def home(c):  # type: ignore[no-untyped-def]
        with timer(c, "work"):
            pass
        return "ok"

    client = TestClient(app)
    assert "server-timing" not in client.get("/").headers
    assert "work;dur=" in client.get("/", headers={"x-debug": "1"}).headers["server-timing"]


# -- context_storage -------------------------------------------------------------------


def current_path() -> str:
    return get_context().req.path


def test_get_context_finds_the_request_anywhere_threads_included() -> None:
    app = MicroWeb()
    app.use(context_storage())
    app.get("/async", lambda c: current_path())

    @app.get("/loop")
    async def loop(c):  # type: ignore[no-untyped-def]
        return current_path()

    client = TestClient(app)
    assert client.get("/async").text == "/async"
    assert client.get("/loop").text == "/loop"


def test_get_context_outside_a_request_says_so() -> None:
    with pytest.raises(RuntimeError, match="context_storage"):
        get_context()
