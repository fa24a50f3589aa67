"""timeout(): a slow handler is cancelled and the client gets 504."""

from __future__ import annotations

import asyncio
import time

import pytest

from microweb import MicroWeb
from microweb.middleware import timeout
from microweb.testing import TestClient


def test_a_slow_handler_is_cancelled_and_the_client_gets_504() -> None:
    app = MicroWeb()
    app.use(timeout(0.05))
    events: list[str] = []

    @app.get("/slow")
    async def slow(c):  # type: ignore[no-untyped-def]
        try:
            await asyncio.sleep(5)
            events.append("finished")
        except asyncio.CancelledError:
            events.append("cancelled")
            raise
        return "late"

    client = TestClient(app)
    started = time.monotonic()
    response = client.get("/slow")
    assert response.status_code == 504
    assert "longer than 0.05 s" in response.text
    assert events == ["cancelled"]
    time.sleep(0.1)
    assert events == ["cancelled"]
    assert time.monotonic() - started < 4  # it did not wait for the handler


def test_a_quick_handler_is_untouched() -> None:
    app = MicroWeb()
    app.use(timeout(5, status=503))
    app.get("/", lambda c: "quick")
    assert TestClient(app).get("/").text == "quick"


def test_timeout_options_are_checked() -> None:
    with pytest.raises(ValueError):
        timeout(0)
    with pytest.raises(ValueError):
        timeout(1, status=200)
