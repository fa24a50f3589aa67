"""timing() and timer(): Server-Timing metrics."""

from __future__ import annotations

import asyncio
import re

from microweb import MicroWeb
from microweb.context import Context
from microweb.middleware import (
    timer,
    timing,
)
from microweb.testing import TestClient

from .conftest import MwClient


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


async def never(c: object) -> bool:
    return False


async def debug_header(c: Context) -> bool:
    await asyncio.sleep(0)
    return c.req.header("x-debug") == "1"


def test_an_async_enabled_that_says_no_sends_no_server_timing(mw_client: MwClient) -> None:
    response = mw_client(timing(enabled=never)).get("/")
    assert response.status_code == 200
    assert "server-timing" not in response.headers


def test_an_async_enabled_is_awaited_per_request(mw_client: MwClient) -> None:
    client = mw_client(timing(enabled=debug_header))
    assert "server-timing" not in client.get("/").headers
    assert client.get("/", headers={"x-debug": "1"}).headers["server-timing"].startswith("total;")
