"""Redis down: session routes answer 503, others keep working, and the app
recovers by itself once Redis is back."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from microweb.testing import TestClient

from .conftest import RedisServer, free_port


def test_redis_outage_gives_503_only_where_the_session_is_used_and_recovers(
    redis_server: Callable[[int], RedisServer],
    make_client: Callable[..., TestClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    server = redis_server(port)
    client = make_client(driver="redis", url=server.url)
    assert client.get("/set/a/1").status_code == 200

    server.stop()
    with caplog.at_level(logging.ERROR, logger="microweb.sessions"):
        down = client.get("/get/a")
    assert down.status_code == 503
    assert down.headers.get("retry-after") == "5"
    assert down.text == "Session store unavailable"
    assert any("Session store unavailable" in r.getMessage() for r in caplog.records)
    assert client.get("/plain").status_code == 200

    redis_server(port)  # same port, empty data (no persistence)
    back = client.get("/get/a")
    assert back.status_code == 200
    assert back.json() == {"value": None}
    assert client.get("/set/a/2").status_code == 200
    assert client.get("/get/a").json() == {"value": "2"}


def test_redis_down_at_startup_does_not_stop_the_app(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(driver="redis", url=f"redis://127.0.0.1:{free_port()}/0")
    assert client.get("/plain").status_code == 200
    response = client.get("/set/a/1")
    assert response.status_code == 503
    assert response.headers.get("retry-after") == "5"


def test_redis_restarted_between_requests_is_reconnected_transparently(
    redis_server: Callable[[int], RedisServer],
    make_client: Callable[..., TestClient],
) -> None:
    port = free_port()
    server = redis_server(port)
    client = make_client(driver="redis", url=server.url)
    client.get("/set/a/1")
    server.stop()
    redis_server(port)  # the pooled connection is now dead
    assert client.get("/set/b/2").status_code == 200
    assert client.get("/get/b").json() == {"value": "2"}
