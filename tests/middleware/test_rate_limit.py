"""rate_limit(): windows, headers, per-process and shared Redis counts, and outages."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from microweb import MicroWeb
from microweb.context import Context
from microweb.middleware import rate_limit
from microweb.middleware._rate_limit import parse_rate
from microweb.testing import TestClient

from ..conftest import RedisServer
from ..servers import serve
from .conftest import MwClient, client_with_middleware


def limited(**options: object) -> TestClient:
    return client_with_middleware(rate_limit(**options))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("5/minute", (5, 60.0)),
        ("100/hour", (100, 3600.0)),
        ("1/s", (1, 1.0)),
        ("10/30 seconds", (10, 30.0)),
        ("2/day", (2, 86400.0)),
        (" 3 / minutes ", (3, 60.0)),
    ],
)
def test_rates_parse(text: str, parsed: tuple[int, float]) -> None:
    assert parse_rate(text) == parsed


@pytest.mark.parametrize("bad", ["5/fortnight", "0/minute", "minute", "5", "-1/s", "5/0 s"])
def test_bad_rates_are_refused_at_startup(bad: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        rate_limit(bad)


def test_prefix_with_braces_is_refused() -> None:
    with pytest.raises(ValueError, match="prefix"):
        rate_limit(store="redis", prefix="app:{x}:")


def test_memory_limit_answers_429_with_retry_after_and_headers() -> None:
    client = limited(limit="3/minute")
    answers = [client.get("/") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a.headers["ratelimit-limit"] == "3" for a in answers)
    assert 0 < int(answers[3].headers["retry-after"]) <= 60
    assert 0 < int(answers[0].headers["ratelimit-reset"]) <= 60


def test_keys_are_counted_apart() -> None:
    client = limited(limit="1/minute", key=lambda c: c.req.header("x-user") or "anon")
    assert client.get("/", headers={"x-user": "a"}).status_code == 200
    assert client.get("/", headers={"x-user": "b"}).status_code == 200
    assert client.get("/", headers={"x-user": "a"}).status_code == 429


def test_the_window_resets() -> None:
    client = limited(limit="1/1 second")
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 429
    time.sleep(1.1)
    assert client.get("/").status_code == 200


@pytest.fixture(params=["redis_url", "redis_cluster_url", "redis_sentinel_url"])
def any_redis(request: pytest.FixtureRequest) -> str:
    """One Redis server, a Redis Cluster, and Sentinel: the URL of each in turn."""
    return str(request.getfixturevalue(request.param))


def test_redis_limit_holds_across_two_apps(any_redis: str, redis_prefix: str) -> None:
    redis_url = any_redis
    # Two apps in one process stand for two workers, each of which makes its own limiter:
    # name= gives them the name each worker's first limiter has by default.
    options = {
        "limit": "4/minute",
        "store": "redis",
        "url": redis_url,
        "prefix": redis_prefix,
        "key": lambda c: "shared",
        "name": "login",
    }
    with limited(**options) as one, limited(**options) as two:
        statuses = [client.get("/").status_code for client in (one, two, one, two, one, two)]
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_concurrent_redis_hits_never_let_extra_requests_through(
    any_redis: str, redis_prefix: str
) -> None:
    redis_url = any_redis
    app = MicroWeb()
    app.use(rate_limit("10/minute", store="redis", url=redis_url, prefix=redis_prefix))
    app.get("/", lambda c: "ok")

    async def burst() -> list[int]:
        from microweb.testing import call_app

        answers = await asyncio.gather(*(call_app(app, "GET", "http://t/") for _ in range(40)))
        return [a.status_code for a in answers]

    statuses = asyncio.run(burst())
    assert statuses.count(200) == 10
    assert statuses.count(429) == 30


def test_two_server_processes_share_one_redis_limit(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    env = {"REDIS_URL": redis_url, "RATE_PREFIX": redis_prefix}
    target = "tests.apps.middleware_app:shared"
    with serve(target, tmp_path, env) as first, serve(target, tmp_path, env) as second:
        answers = [httpx.get(server.url + "/", timeout=10) for server in (first, second) * 4]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 3
    pids = {a.json()["pid"] for a in answers if a.status_code == 200}
    assert len(pids) == 2


@pytest.mark.parametrize(
    ("option", "mode", "status"),
    [
        ("when_store_fails", "open", 200),
        ("when_store_fails", "closed", 503),
        ("on_store_error", "closed", 503),  # the former name, still accepted
    ],
)
def test_a_redis_outage_fails_open_or_closed_and_is_logged_once(
    throwaway_redis: RedisServer,
    option: str,
    mode: str,
    status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with limited(
        limit="100/minute",
        store="redis",
        url=throwaway_redis.url,
        prefix="test:",
        **{option: mode},
    ) as client:
        assert client.get("/").status_code == 200
        assert throwaway_redis.process is not None
        throwaway_redis.process.kill()
        throwaway_redis.process.wait()
        with caplog.at_level(logging.WARNING, logger="microweb.ratelimit"):
            statuses = [client.get("/").status_code for _ in range(3)]
    assert statuses == [status] * 3
    errors = [r for r in caplog.records if r.name == "microweb.ratelimit"]
    assert len(errors) == 1
    assert "unavailable" in errors[0].getMessage()


def two_limited_routes(**options: object) -> TestClient:
    app = MicroWeb()
    app.get("/api", rate_limit("3/minute", **options), lambda c: "api")  # type: ignore[arg-type]
    app.post("/login", rate_limit("1/minute", **options), lambda c: "login")  # type: ignore[arg-type]
    return TestClient(app)


def test_limiters_on_two_routes_count_apart_in_memory() -> None:
    with two_limited_routes() as client:
        assert [client.get("/api").status_code for _ in range(3)] == [200, 200, 200]
        assert client.post("/login").status_code == 200
        assert client.post("/login").status_code == 429
        assert client.get("/api").status_code == 429


def test_limiters_on_two_routes_count_apart_on_redis(redis_url: str, redis_prefix: str) -> None:
    with two_limited_routes(store="redis", url=redis_url, prefix=redis_prefix) as client:
        assert [client.get("/api").status_code for _ in range(3)] == [200, 200, 200]
        assert client.post("/login").status_code == 200  # not the API's fourth request
        assert client.post("/login").status_code == 429


def test_limiters_of_one_rate_with_one_key_function_count_apart_on_redis(
    redis_url: str, redis_prefix: str
) -> None:
    same_key = {"store": "redis", "url": redis_url, "prefix": redis_prefix, "key": lambda c: "k"}
    app = MicroWeb()
    app.get("/a", rate_limit("1/minute", **same_key), lambda c: "a")  # type: ignore[arg-type]
    app.get("/b", rate_limit("1/minute", **same_key), lambda c: "b")  # type: ignore[arg-type]
    with TestClient(app) as client:
        assert client.get("/a").status_code == 200
        assert client.get("/b").status_code == 200
        assert client.get("/a").status_code == 429


def test_default_limiter_names_are_the_same_in_every_worker() -> None:
    code = (
        "from microweb.middleware import rate_limit;"
        "print([rate_limit(r).name for r in ('5/minute', '10/hour', '5/minute')])"
    )
    names = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert names == {"['5/60s#1', '10/3600s#1', '5/60s#2']"}


@pytest.mark.parametrize("bad", ["", "a{b}", "line\nbreak"])
def test_bad_limiter_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="name"):
        rate_limit(name=bad)


async def api_key(c: Context) -> str:
    await asyncio.sleep(0)
    return c.req.header("x-api-key") or "anonymous"


def test_an_async_key_is_awaited(mw_client: MwClient) -> None:
    client = mw_client(rate_limit("1/minute", key=api_key))
    assert client.get("/", headers={"x-api-key": "a"}).status_code == 200
    assert client.get("/", headers={"x-api-key": "a"}).status_code == 429
    assert client.get("/", headers={"x-api-key": "b"}).status_code == 200


def test_an_ipv4_mapped_peer_shares_the_count_of_its_ipv4_address(mw_client: MwClient) -> None:
    limiter = rate_limit("1/minute")
    assert mw_client(limiter, client=("10.0.0.7", 1)).get("/").status_code == 200
    assert mw_client(limiter, client=("::ffff:10.0.0.7", 2)).get("/").status_code == 429


def test_a_request_without_a_peer_is_refused_as_ip_restriction_refuses_it(
    mw_client: MwClient,
) -> None:
    response = mw_client(rate_limit("100/minute"), client=None).get("/")
    assert response.status_code == 403
    assert response.text == "Forbidden: the client's address is unknown"


def test_a_peer_named_otherwise_than_by_address_is_counted_by_its_name(
    mw_client: MwClient,
) -> None:
    limiter = rate_limit("1/minute")
    assert mw_client(limiter, client=("testclient", 50000)).get("/").status_code == 200
    assert mw_client(limiter, client=("testclient", 50001)).get("/").status_code == 429
    assert mw_client(limiter, client=("10.0.0.7", 1)).get("/").status_code == 200
