"""session(durable=True): login, logout and friends are confirmed by a replica (WAIT) or 503."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from microweb import MicroWeb, session
from microweb.sessions.store_redis import RedisStore
from microweb.testing import TestClient

from ..apps.login_app import login_app
from ..conftest import no_redis
from ..redis_topologies import Node, Replicated, free_port


def make_app(**options: Any) -> MicroWeb:
    return login_app(everywhere=True, durable=True, **options)


@pytest.fixture
def replicated(tmp_path: Path) -> Iterator[Replicated]:
    try:
        pair = Replicated(tmp_path, replicas=1)
    except FileNotFoundError:
        no_redis("redis-server is not installed")
        raise
    try:
        yield pair
    finally:
        pair.stop()


def stored_users(node: Node, prefix: str) -> list[str]:
    return [k for k in node.client.keys(prefix + "*") if ":user:" in k]


def test_a_durable_login_is_on_the_replica_when_it_answers(replicated: Replicated) -> None:
    prefix = "durable:"
    with TestClient(make_app(driver="redis", url=replicated.url, prefix=prefix)) as client:
        assert client.post("/login/ann").status_code == 200
        # No waiting here: the answer came after the replica acknowledged the write.
        assert stored_users(replicated.replicas[0], prefix) == [
            RedisStore(prefix=prefix).index_key("ann")
        ]
        assert client.get("/me").json() == {"user": "ann"}
        assert client.post("/logout").status_code == 200
        assert stored_users(replicated.replicas[0], prefix) == []


def test_without_a_replica_a_durable_login_is_503_and_not_done(tmp_path: Path) -> None:
    alone = Node(free_port(), tmp_path / "alone")
    try:
        app = make_app(driver="redis", url=f"redis://127.0.0.1:{alone.port}/0", durable_timeout=0.2)
        with TestClient(app) as client:
            client.post("/visit")
            response = client.post("/login/ann")
            assert response.status_code == 503
            assert client.get("/me").json() == {"user": None}
            # Ordinary saves never wait, so the app still works without a replica.
            assert client.post("/visit").status_code == 200
    finally:
        alone.stop()


@pytest.mark.parametrize("fixture", ["redis_cluster_url", "redis_sentinel_url"])
def test_durable_login_and_logout_on_cluster_and_sentinel(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    url = request.getfixturevalue(fixture)
    with TestClient(make_app(driver="redis", url=url, prefix="durable-topo:")) as client:
        assert client.post("/login/bob").status_code == 200
        assert client.get("/me").json() == {"user": "bob"}
        assert client.post("/logout").status_code == 200
        assert client.get("/me").json() == {"user": None}


def test_durable_needs_the_redis_driver() -> None:
    with pytest.raises(ValueError, match="durable"):
        session(driver="memory", durable=True)


def test_a_prefix_with_braces_is_refused() -> None:
    with pytest.raises(ValueError, match="prefix"):
        session(driver="redis", prefix="app:{tag}:")


@pytest.mark.parametrize(
    "url",
    [
        "redis+cluster://",
        "redis+sentinel://127.0.0.1:1",
        "redis+cluster://h:notaport",
        "mysql://x",
        "redis+sentinel://h:1/svc/notadb",
    ],
)
def test_malformed_urls_are_refused_at_startup(url: str) -> None:
    with pytest.raises(ValueError):
        session(driver="redis", url=url)


def test_a_wait_never_goes_on_a_new_connection(redis_url: str) -> None:
    """WAIT counts the writes of its own connection: once the connection that wrote is
    gone, waiting for its writes fails instead of asking a new connection, which would
    confirm at once writes it never made."""
    from redis.exceptions import ConnectionError

    from microweb.sessions.redis_pipeline import AutoPipeline

    async def scenario() -> tuple[Any, str]:
        pipeline = AutoPipeline(redis_url)
        client_id, _, connection = await pipeline.execute_tracked("CLIENT", "ID")
        assert await pipeline.execute_on(connection, "WAIT", 0, 10) == 0  # still there
        killer = redis.Redis.from_url(redis_url)
        killer.execute_command("CLIENT KILL ID", client_id)
        killer.close()
        await asyncio.sleep(0.2)  # the reader sees the connection close
        assert await pipeline.execute("PING")  # a new connection serves other commands
        try:
            await pipeline.execute_on(connection, "WAIT", 0, 10)
        except ConnectionError as exc:
            return None, str(exc)
        finally:
            await pipeline.close()
        return "answered", ""

    answered, message = asyncio.run(scenario())
    assert answered is None
    assert "gone" in message
