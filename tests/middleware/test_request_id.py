"""request_id(): one id per request, on the response and on every log record."""

from __future__ import annotations

import asyncio
import logging
import re
import threading

import pytest

from microweb import MicroWeb
from microweb.middleware import (
    RequestIdFilter,
    request_id,
)
from microweb.testing import TestClient

from .conftest import MwClient, client_with_middleware

app_log = logging.getLogger("tests.app")


def id_client(**options: object) -> TestClient:
    mw = request_id(**options)  # type: ignore[arg-type]
    return client_with_middleware(mw, routes={"/": lambda c: {"id": c.get("request_id")}})


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


async def numbered() -> str:
    await asyncio.sleep(0)
    return "req-42"


def test_an_async_generator_is_awaited(mw_client: MwClient) -> None:
    response = mw_client(request_id(generator=numbered)).get("/")
    assert response.headers["x-request-id"] == "req-42"
