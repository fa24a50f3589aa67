"""`ClusterPipeline` on a real Redis Cluster: routing by slot, MOVED, ASK during a slot
migration, a node that does not answer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
import redis
from redis.crc import key_slot
from redis.exceptions import ConnectionError

from microweb.redis_connect import parse_redis_url
from microweb.sessions.redis_cluster_pipeline import ClusterPipeline

from ..redis_topologies import free_port


def owners(url: str) -> dict[int, int]:
    """slot -> port of its primary, as the cluster says."""
    host, port = parse_redis_url(url).nodes[0]
    client = redis.Redis(host=host, port=port, decode_responses=True)
    try:
        found = {}
        for start, end, primary, *_ in client.execute_command("CLUSTER SLOTS"):
            found.update(dict.fromkeys(range(start, end + 1), int(primary[1])))
        return found
    finally:
        client.close()


@pytest.fixture
def key_prefix(redis_cluster_url: str) -> Iterator[str]:
    prefix = f"pipeline-test:{uuid.uuid4().hex}:"
    yield prefix
    for port in set(owners(redis_cluster_url).values()):
        client = redis.Redis(port=port)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)  # one by one: the keys live in different slots
        client.close()


def test_each_key_is_written_on_its_slots_primary(redis_cluster_url: str, key_prefix: str) -> None:
    keys = [f"{key_prefix}{i}" for i in range(60)]

    async def scenario() -> list[str]:
        pipeline = ClusterPipeline(parse_redis_url(redis_cluster_url))
        await asyncio.gather(*(pipeline.execute("SET", key, key) for key in keys))
        values = await asyncio.gather(*(pipeline.execute("GET", key) for key in keys))
        await pipeline.close()
        return [v.decode() for v in values]

    assert asyncio.run(scenario()) == keys
    slots = owners(redis_cluster_url)
    for key in keys:
        on_owner = redis.Redis(port=slots[key_slot(key.encode())])
        assert on_owner.get(key) == key.encode()  # a plain GET: no redirect followed
        on_owner.close()
    assert len({slots[key_slot(k.encode())] for k in keys}) == 3


def test_a_stale_map_is_corrected_by_moved(redis_cluster_url: str, key_prefix: str) -> None:
    async def scenario() -> tuple[list[bytes], set[tuple[str, int] | None]]:
        pipeline = ClusterPipeline(parse_redis_url(redis_cluster_url))
        await pipeline.execute("PING")  # reads the map
        wrong = pipeline._slots[0]
        pipeline._slots = [wrong] * len(pipeline._slots)  # every slot on one primary
        keys = [f"{key_prefix}{i}" for i in range(30)]
        await asyncio.gather(*(pipeline.execute("SET", key, "v") for key in keys))
        values = await asyncio.gather(*(pipeline.execute("GET", key) for key in keys))
        await asyncio.sleep(0.1)  # the refresh MOVED asked for
        owners_known = set(pipeline._slots)
        await pipeline.close()
        return values, owners_known

    values, owners_known = asyncio.run(scenario())
    assert values == [b"v"] * 30
    assert len(owners_known) == 3


def test_a_key_of_a_migrating_slot_is_followed_with_asking(
    redis_cluster_url: str, key_prefix: str
) -> None:
    key = key_prefix + "moving"
    slot = key_slot(key.encode())
    slots = owners(redis_cluster_url)
    source = redis.Redis(port=slots[slot], decode_responses=True)
    target_port = next(port for port in set(slots.values()) if port != slots[slot])
    target = redis.Redis(port=target_port, decode_responses=True)
    source.set(key, "here")
    source_id, target_id = (
        source.execute_command("CLUSTER MYID"),
        target.execute_command("CLUSTER MYID"),
    )
    target.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", source_id)
    source.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", target_id)
    try:
        source.execute_command("MIGRATE", "127.0.0.1", target_port, key, 0, 5000)

        async def scenario() -> bytes:
            pipeline = ClusterPipeline(parse_redis_url(redis_cluster_url))
            try:
                return await pipeline.execute("GET", key)  # type: ignore[no-any-return]
            finally:
                await pipeline.close()

        assert asyncio.run(scenario()) == b"here"
    finally:
        for node in (target, source):
            node.execute_command("CLUSTER SETSLOT", slot, "NODE", target_id)
        source.close()
        target.close()


def test_no_node_answering_is_a_connection_error_after_the_retries() -> None:
    dead = f"redis+cluster://127.0.0.1:{free_port()}"

    async def scenario() -> None:
        pipeline = ClusterPipeline(parse_redis_url(dead), retry_for=0.3)
        try:
            await pipeline.execute("GET", "key")
        finally:
            await pipeline.close()

    with pytest.raises(ConnectionError, match="No Redis Cluster node answered"):
        asyncio.run(scenario())
