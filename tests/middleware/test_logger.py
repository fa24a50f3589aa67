"""logger(): one access record per request, written when the response has been sent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from microweb import MicroWeb
from microweb.middleware import (
    logger,
    request_id,
)
from microweb.testing import TestClient, call_app


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
