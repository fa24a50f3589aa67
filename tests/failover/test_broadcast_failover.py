"""Broadcast through faults (`make test-failover`): a Sentinel failover from a paused
primary, a killed cluster node under the subscriber's connection, and a paused server
that keeps its TCP connection open.

What must hold: two workers (two buses) that were talking before the fault talk again
after it without a restart, each subscription counting the gap in `gaps`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from typing import Any

import pytest
import redis

from microweb.broadcast import Broadcast, BroadcastUnavailable, Subscription

from ..conftest import RedisServer
from ..redis_topologies import Cluster, Sentinels

pytestmark = pytest.mark.failover

RECOVERY = 30.0  # seconds: far beyond a failover's 2-3 s, before the test calls it a hang


async def talk_until_heard(speaker: Broadcast, listener: Subscription, text: str) -> str:
    """Publish `text` on the listener's channel until the listener receives something."""
    receiving = asyncio.ensure_future(anext(listener))
    deadline = time.monotonic() + RECOVERY
    try:
        while not receiving.done():
            assert time.monotonic() < deadline, "the workers did not talk again"
            with contextlib.suppress(BroadcastUnavailable):  # the topology is changing
                await speaker.publish(listener.channel, text)
            await asyncio.wait({receiving}, timeout=0.2)
        return receiving.result()
    finally:
        receiving.cancel()


async def two_workers_through(url: str, fault: Any) -> tuple[str, str, int]:
    """Worker A speaks and worker B listens before and after `fault()`; B's gaps after."""
    channel = f"microweb-test:{uuid.uuid4().hex}"
    async with (
        Broadcast(url) as worker_a,
        Broadcast(url) as worker_b,
        worker_b.subscribe(channel) as listener,
    ):
        before = await talk_until_heard(worker_a, listener, "before")
        await fault()
        after = await talk_until_heard(worker_a, listener, "after")
        return before, after, listener.gaps


def test_broadcast_follows_the_primary_after_a_sentinel_failover(sentinels: Sentinels) -> None:
    """SIGSTOP the primary: the bus's connection stops answering, the bus drops it after
    3 s, and the Sentinels name a new primary, which both workers reach."""
    old = sentinels.data.primary
    before = sentinels.primary_port()

    async def pause() -> None:
        os.kill(old.process.pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(6.0)  # seen down after 1 s, then the election
        finally:
            os.kill(old.process.pid, signal.SIGCONT)

    assert asyncio.run(two_workers_through(sentinels.url, pause)) == ("before", "after", 1)
    assert sentinels.primary_port() != before


def test_broadcast_survives_the_loss_of_the_cluster_node_it_listens_on(cluster: Cluster) -> None:
    """SIGKILL the node that carries the listening worker's pub/sub connection: it
    connects to another node, where classic pub/sub hears every channel."""

    async def kill_the_listening_node() -> None:
        listening = [node for node in cluster.nodes if _pubsub_clients(node.client)]
        assert listening, "no node holds a pub/sub connection"
        for node in listening:
            os.kill(node.process.pid, signal.SIGKILL)
            node.process.wait()

    assert asyncio.run(two_workers_through(cluster.url, kill_the_listening_node)) == (
        "before",
        "after",
        1,
    )


def test_a_paused_server_is_left_and_rejoined(throwaway_redis: RedisServer) -> None:
    """SIGSTOP the only server for 5 s: TCP says nothing, the bus's PINGs go unanswered,
    it drops the connection after 3 s and reconnects once the server wakes."""
    assert throwaway_redis.process is not None
    pid = throwaway_redis.process.pid

    async def pause() -> None:
        os.kill(pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(5.0)
        finally:
            os.kill(pid, signal.SIGCONT)

    assert asyncio.run(two_workers_through(throwaway_redis.url, pause)) == ("before", "after", 1)


def _pubsub_clients(client: redis.Redis) -> int:
    with contextlib.suppress(redis.RedisError):
        return len(client.client_list(_type="pubsub"))
    return 0
