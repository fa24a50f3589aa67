"""Pub/sub on a Redis Cluster: classic PUBLISH against sharded SPUBLISH, and the bus itself.

Usage (from the repository root)::

    .venv/bin/python benchmarks/broadcast.py [--messages 20000] [--concurrency 32] [--rounds 3]

Starts a 3-primary, 3-replica cluster (tests/redis_topologies.py) on free ports. Each
row publishes `--messages` 100-byte messages on one channel from `--concurrency`
tasks through a `RedisCluster` client while one subscriber connection counts them
until the last arrives. Reported: messages a second end to end (median of rounds),
and the CPU time all six redis-server processes spent per 1,000 messages
(user + system, from /proc), which is what each choice costs the cluster.

- `classic`: SUBSCRIBE on one node, PUBLISH through the cluster client. The cluster
  bus forwards every message to every node, replicas included.
- `sharded`: SSUBSCRIBE on the primary that owns the channel's slot, SPUBLISH: the
  message stays in that shard (primary and its replica).
- `bus classic`: the same as `classic` through `microweb.broadcast.Broadcast`
  (publish and a subscriber's iteration), what an app sees.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis.asyncio as redis
from redis.asyncio.cluster import RedisCluster

from microweb.broadcast import Broadcast
from tests.redis_topologies import Cluster

PAYLOAD = "x" * 100
CLOCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK


async def publish_all(
    publish: Callable[[str, str], Awaitable[Any]], channel: str, messages: int, concurrency: int
) -> None:
    per_task = messages // concurrency

    async def worker() -> None:
        for _ in range(per_task):
            await publish(channel, PAYLOAD)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def raw_row(
    cluster: RedisCluster, node_port: int, sharded: bool, channel: str, messages: int, c: int
) -> float:
    subscriber = redis.Redis(port=node_port)
    pubsub = subscriber.pubsub()
    if sharded:
        await pubsub.ssubscribe(channel)
    else:
        await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=1)  # the confirmation
    received = 0
    total = (messages // c) * c

    async def count() -> None:
        nonlocal received
        while received < total:
            message = await pubsub.get_message(timeout=5)
            if message is None:
                raise RuntimeError(f"only {received} of {total} messages arrived")
            if message["type"] in ("message", "smessage"):
                received += 1

    counter = asyncio.create_task(count())
    start = time.perf_counter()
    publish = cluster.spublish if sharded else cluster.publish
    await publish_all(publish, channel, messages, c)
    await counter
    elapsed = time.perf_counter() - start
    await pubsub.aclose()
    await subscriber.aclose()
    return total / elapsed


async def bus_row(url: str, channel: str, messages: int, c: int) -> float:
    total = (messages // c) * c
    async with Broadcast(url) as bus, bus.subscribe(channel) as sub:
        start = time.perf_counter()
        publisher = asyncio.create_task(publish_all(bus.publish, channel, messages, c))
        received = 0
        async for _ in sub:
            received += 1
            if received == total:
                break
        await publisher
        return total / (time.perf_counter() - start)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as directory:
        cluster = Cluster(Path(directory))
        pids = [node.process.pid for node in cluster.nodes]
        try:
            client = RedisCluster(host="127.0.0.1", port=cluster.nodes[0].port)
            await client.initialize()
            channel = "bench-broadcast"
            owner = client.get_node_from_key(channel)
            assert owner is not None
            other = next(n.port for n in cluster.nodes if n.port != owner.port)
            rows: dict[str, tuple[list[float], list[float]]] = {}
            runs: dict[str, Callable[[], Awaitable[float]]] = {
                "classic": lambda: raw_row(
                    client, other, False, channel, args.messages, args.concurrency
                ),
                "sharded": lambda: raw_row(
                    client, int(owner.port), True, channel, args.messages, args.concurrency
                ),
                "bus classic": lambda: bus_row(
                    cluster.url, channel, args.messages, args.concurrency
                ),
            }
            for _ in range(args.rounds):
                for name, run in runs.items():
                    before = cpu_seconds(pids)
                    rate = await run()
                    cpu = cpu_seconds(pids) - before
                    rates, cpus = rows.setdefault(name, ([], []))
                    rates.append(rate)
                    cpus.append(cpu * 1000 / (args.messages / 1000))
            await client.aclose()
        finally:
            cluster.stop()
    print(f"{args.messages} messages, {args.concurrency} publishers, {args.rounds} rounds")
    print(f"{'row':<12} {'msg/s':>8} {'cluster CPU ms / 1k msg':>24}")
    for name, (rates, cpus) in rows.items():
        print(f"{name:<12} {statistics.median(rates):>8.0f} {statistics.median(cpus):>24.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
