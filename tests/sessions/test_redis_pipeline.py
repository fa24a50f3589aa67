"""`AutoPipeline` against a real Redis: replies reach the right callers, errors
stay with their command, and broken, hung or dead servers fail fast and heal."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from redis.exceptions import ConnectionError, ResponseError, TimeoutError

from microweb.sessions.redis_pipeline import AutoPipeline

from .conftest import RedisServer, free_port


def test_concurrent_commands_each_get_their_own_reply(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> tuple[list[object], list[object]]:
        pipeline = AutoPipeline(redis_url)
        keys = [f"{redis_prefix}{n}" for n in range(300)]
        await asyncio.gather(*(pipeline.execute("SET", key, n) for n, key in enumerate(keys)))
        increments = await asyncio.gather(*(pipeline.execute("INCRBY", key, 1000) for key in keys))
        values = await asyncio.gather(*(pipeline.execute("GET", key) for key in keys))
        await pipeline.execute("DEL", *keys)
        await pipeline.close()
        return increments, values

    increments, values = asyncio.run(scenario())
    assert increments == [n + 1000 for n in range(300)]
    assert values == [str(n + 1000).encode() for n in range(300)]


def test_an_error_reply_fails_only_its_own_command(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> list[object]:
        pipeline = AutoPipeline(redis_url)
        await pipeline.execute("SET", redis_prefix + "text", "not a number")
        results = await asyncio.gather(
            pipeline.execute("SET", redis_prefix + "n", 1),
            pipeline.execute("INCR", redis_prefix + "text"),
            pipeline.execute("INCR", redis_prefix + "n"),
            return_exceptions=True,
        )
        await pipeline.close()
        return results

    ok, error, incremented = asyncio.run(scenario())
    assert ok is True or ok == b"OK"
    assert isinstance(error, ResponseError)
    assert "not an integer" in str(error)
    assert incremented == 2


def test_a_cancelled_caller_does_not_shift_the_replies(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> tuple[list[object], object]:
        pipeline = AutoPipeline(redis_url)
        await pipeline.execute("SET", redis_prefix + "a", "A")
        await pipeline.execute("SET", redis_prefix + "b", "B")
        # BLPOP holds the connection for 0.3 s, so the GETs sent after it wait in flight.
        blocking = asyncio.ensure_future(pipeline.execute("BLPOP", redis_prefix + "l", 0.3))
        cancelled = asyncio.ensure_future(pipeline.execute("GET", redis_prefix + "a"))
        others = [asyncio.ensure_future(pipeline.execute("GET", redis_prefix + k)) for k in "ba"]
        await asyncio.sleep(0.1)
        cancelled.cancel()  # its reply still comes, and must go nowhere
        results = await asyncio.gather(*others)
        await blocking
        after = await pipeline.execute("GET", redis_prefix + "b")
        await pipeline.close()
        return results, after

    assert asyncio.run(scenario()) == ([b"B", b"A"], b"B")


def test_a_restarted_redis_costs_no_command(
    redis_server: Callable[[int], RedisServer],
) -> None:
    port = free_port()
    server = redis_server(port)
    pipeline = AutoPipeline(server.url)

    async def set_and_get(value: str) -> object:
        await pipeline.execute("SET", "k", value)
        return await pipeline.execute("GET", "k")

    async def scenario() -> tuple[object, object]:
        before = await set_and_get("1")
        server.stop()
        redis_server(port)  # same port, empty: the open connection is dead
        after = await set_and_get("2")
        await pipeline.close()
        return before, after

    assert asyncio.run(scenario()) == (b"1", b"2")


def test_a_dead_redis_fails_fast_with_a_connection_error() -> None:
    async def scenario() -> float:
        pipeline = AutoPipeline(f"redis://127.0.0.1:{free_port()}/0")
        started = time.monotonic()
        with pytest.raises(ConnectionError):
            await pipeline.execute("PING")
        await pipeline.close()
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 2


def test_a_hung_redis_times_out_and_the_pipeline_recovers(
    redis_server: Callable[[int], RedisServer],
) -> None:
    server = redis_server(free_port())
    assert server.process is not None
    pid = server.process.pid
    pipeline = AutoPipeline(server.url, timeout=0.5)

    async def scenario() -> tuple[list[object], float, object]:
        await pipeline.execute("SET", "k", "v")
        os.kill(pid, signal.SIGSTOP)  # Redis stops answering, its socket stays open
        try:
            started = time.monotonic()
            hung = await asyncio.gather(
                *(pipeline.execute("GET", "k") for _ in range(5)), return_exceptions=True
            )
            waited = time.monotonic() - started
        finally:
            os.kill(pid, signal.SIGCONT)
        back = await pipeline.execute("GET", "k")
        await pipeline.close()
        return hung, waited, back

    hung, waited, back = asyncio.run(scenario())
    assert all(isinstance(r, TimeoutError) for r in hung), hung
    assert 0.5 <= waited < 2
    assert back == b"v"


def test_a_pipeline_follows_its_caller_to_a_new_event_loop(redis_url: str) -> None:
    pipeline = AutoPipeline(redis_url)
    assert asyncio.run(pipeline.execute("PING")) in (True, b"PONG")
    assert asyncio.run(pipeline.execute("ECHO", "again")) == b"again"


def test_event_loops_in_several_threads_share_one_pipeline(
    redis_url: str, redis_prefix: str
) -> None:
    pipeline = AutoPipeline(redis_url)

    def worker(name: str) -> list[object]:
        async def scenario() -> list[object]:
            keys = [f"{redis_prefix}{name}:{n}" for n in range(200)]
            await asyncio.gather(*(pipeline.execute("SET", k, n) for n, k in enumerate(keys)))
            values = await asyncio.gather(*(pipeline.execute("GET", k) for k in keys))
            await pipeline.close()
            return values

        return asyncio.run(scenario())

    with ThreadPoolExecutor(max_workers=3) as threads:
        results = list(threads.map(worker, ["a", "b", "c"]))
    expected = [str(n).encode() for n in range(200)]
    assert results == [expected, expected, expected]
