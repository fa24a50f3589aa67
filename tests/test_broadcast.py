"""`microweb.broadcast.Broadcast`: named channels in one process and through Redis (one
server, Cluster, Sentinel), two apps sharing a Redis, a Redis restart, slow and
cancelled subscribers, and a lifespan that always ends."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis

from microweb import MicroWeb
from microweb.broadcast import Broadcast, BroadcastUnavailable, SubscriberTooSlow, Subscription
from microweb.context import Context
from microweb.testing import TestClient

from .conftest import RedisServer, free_port
from .redis_topologies import REDIS_URL_FIXTURES

# How long a guard waits for something that takes milliseconds before it calls it a hang.
HANG = 30.0


def new_channel() -> str:
    return f"microweb-test:{uuid.uuid4().hex}"


@pytest.fixture(params=["memory", *REDIS_URL_FIXTURES])
def bus_url(request: pytest.FixtureRequest) -> str | None:
    """None (in process), then the URL of each Redis topology."""
    if request.param == "memory":
        return None
    url: str = request.getfixturevalue(REDIS_URL_FIXTURES[request.param])
    return url


@pytest.fixture(params=list(REDIS_URL_FIXTURES))
def topology_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(REDIS_URL_FIXTURES[request.param])
    return url


def run(coro: Awaitable[Any]) -> Any:
    """Run `coro` on a fresh loop; a hang fails the test instead of stopping the suite."""

    async def guarded() -> Any:
        async with asyncio.timeout(HANG):
            return await coro

    return asyncio.run(guarded())


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll `check` until true; fail after HANG seconds."""
    deadline = time.monotonic() + HANG
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def next_of(sub: Subscription) -> str:
    return await anext(sub)


async def next_after(sub: Subscription, earlier: str, url: str | None) -> str:
    """The next message, past `earlier` (published before `sub` began) on a Redis
    Cluster only: its nodes forward each message to the others after they answer the
    publisher, so one published just before may still reach a new subscription there."""
    message = await next_of(sub)
    if message == earlier and url is not None and "+cluster" in url:
        message = await next_of(sub)
    return message


def other_tasks() -> set[asyncio.Task[Any]]:
    """The running tasks but the bus's own relay (which stays while the bus is open)."""
    return {t for t in asyncio.all_tasks() if not t.get_name().startswith("microweb broadcast")}


# -- in one process and on every topology --------------------------------------------


def test_a_subscriber_gets_each_message_published_after_it_subscribed_in_order(
    bus_url: str | None,
) -> None:
    async def scenario() -> list[str]:
        channel = new_channel()
        async with Broadcast(bus_url) as bus:
            await bus.publish(channel, "before anyone listened")
            async with bus.subscribe(channel) as sub:
                for text in ["one", "two", "héllo ✓ three"]:
                    await bus.publish(channel, text)
                first = await next_after(sub, "before anyone listened", bus_url)
                return [first, await next_of(sub), await next_of(sub)]

    assert run(scenario()) == ["one", "two", "héllo ✓ three"]


def test_every_subscriber_of_a_channel_gets_every_message_and_no_other_channels(
    bus_url: str | None,
) -> None:
    async def scenario() -> tuple[list[str], list[str], list[str]]:
        news, sport = new_channel(), new_channel()
        async with (
            Broadcast(bus_url) as bus,
            bus.subscribe(news) as first,
            bus.subscribe(news) as second,
            bus.subscribe(sport) as other,
        ):
            await bus.publish(news, "n1")
            await bus.publish(sport, "s1")
            await bus.publish(news, "n2")
            await bus.publish(sport, "s2")
            return (
                [await next_of(first), await next_of(first)],
                [await next_of(second), await next_of(second)],
                [await next_of(other), await next_of(other)],
            )

    assert run(scenario()) == (["n1", "n2"], ["n1", "n2"], ["s1", "s2"])


def test_two_workers_sharing_a_redis_see_each_others_messages(topology_url: str) -> None:
    async def scenario() -> tuple[str, str]:
        channel = new_channel()
        async with (
            Broadcast(topology_url) as worker_a,
            Broadcast(topology_url) as worker_b,
            worker_a.subscribe(channel) as on_a,
            worker_b.subscribe(channel) as on_b,
        ):
            await worker_a.publish(channel, "from a")
            await worker_b.publish(channel, "from b")
            return (
                f"{await next_of(on_a)},{await next_of(on_a)}",
                f"{await next_of(on_b)},{await next_of(on_b)}",
            )

    assert run(scenario()) == ("from a,from b", "from a,from b")


def test_leaving_a_subscription_ends_it_and_unsubscribes_the_process(
    bus_url: str | None,
) -> None:
    async def scenario() -> None:
        channel = new_channel()
        async with Broadcast(bus_url) as bus:
            async with bus.subscribe(channel) as sub:
                await bus.publish(channel, "kept")
                assert await next_of(sub) == "kept"
            await bus.publish(channel, "after it left")
            assert [message async for message in sub] == []
            assert bus.channels == {}
            async with bus.subscribe(channel) as again:  # the channel can be taken up again
                await bus.publish(channel, "again")
                assert await next_after(again, "after it left", bus_url) == "again"

    run(scenario())


def test_a_slow_subscriber_is_cut_off_after_its_queue_and_the_others_go_on(
    bus_url: str | None,
) -> None:
    async def scenario() -> None:
        channel = new_channel()
        async with (
            Broadcast(bus_url, queue_size=3) as bus,
            bus.subscribe(channel) as slow,
            bus.subscribe(channel, queue_size=100) as keeping_up,
        ):
            for i in range(6):
                await bus.publish(channel, str(i))
            assert [await next_of(keeping_up) for _ in range(6)] == ["0", "1", "2", "3", "4", "5"]
            assert [await next_of(slow) for _ in range(3)] == ["0", "1", "2"]
            with pytest.raises(SubscriberTooSlow, match="fell 3 messages behind"):
                await next_of(slow)
            await bus.publish(channel, "6")
            assert await next_of(keeping_up) == "6"

    run(scenario())


def test_shutdown_ends_every_subscribers_iteration_cleanly(bus_url: str | None) -> None:
    async def scenario() -> list[list[str]]:
        channel = new_channel()
        bus = Broadcast(bus_url)
        await bus.startup()
        subscribed, received = asyncio.Semaphore(0), asyncio.Semaphore(0)

        async def listen() -> list[str]:
            got = []
            async with bus.subscribe(channel) as sub:
                subscribed.release()
                async for message in sub:  # ends only when the bus shuts down
                    got.append(message)
                    received.release()
            return got

        listeners = [asyncio.create_task(listen()) for _ in range(3)]
        for _ in listeners:
            await subscribed.acquire()
        await bus.publish(channel, "last words")
        for _ in listeners:
            await received.acquire()
        await bus.shutdown()
        return await asyncio.gather(*listeners)

    assert run(scenario()) == [["last words"]] * 3


def test_a_subscriber_cancelled_while_waiting_leaves_no_task_behind(
    bus_url: str | None,
) -> None:
    async def scenario() -> None:
        channel = new_channel()
        async with Broadcast(bus_url) as bus:
            before = other_tasks()
            entered = asyncio.Event()

            async def listen() -> None:
                async with bus.subscribe(channel) as sub:
                    entered.set()
                    async for _ in sub:
                        pass

            task = asyncio.create_task(listen())
            await entered.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert other_tasks() == before
            assert bus.channels == {}

    run(scenario())


def test_subscribers_cancelled_at_any_point_of_subscribe_leave_the_bus_working(
    bus_url: str | None,
) -> None:
    """Cancel a subscribe() after 0, 1, 2 ... turns of the loop: at every point it
    leaves no task and no subscriber behind, and the bus still delivers."""

    async def scenario() -> None:
        channel = new_channel()
        async with Broadcast(bus_url) as bus:
            await bus.publish(channel, "opens the publishing side first")
            before = other_tasks()
            for turns in range(40):
                task = asyncio.create_task(_subscribe_and_wait(bus, channel))
                for _ in range(turns):
                    await asyncio.sleep(0)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert bus.channels == {}
                # The relay's own sends may be under way a moment longer; nothing stays.
                await until(lambda: _same(other_tasks(), before), "the tasks to settle")
            async with bus.subscribe(channel) as sub:
                await bus.publish(channel, "still works")
                assert await next_of(sub) == "still works"

    run(scenario())


async def _same(tasks: set[asyncio.Task[Any]], before: set[asyncio.Task[Any]]) -> bool:
    return tasks == before


async def _subscribe_and_wait(bus: Broadcast, channel: str) -> None:
    async with bus.subscribe(channel) as sub:
        await next_of(sub)


# -- with an app -----------------------------------------------------------------------


def build_app(bus: Broadcast, channel: str) -> MicroWeb:
    """An app whose POST /say publishes, and whose own background task (started with
    the app, as a framework feature would) records what the channel carries."""
    app = MicroWeb()
    app.use(bus)
    heard: list[str] = []
    tasks: list[asyncio.Task[None]] = []

    async def listen(ready: asyncio.Event) -> None:
        async with bus.subscribe(channel) as sub:
            ready.set()
            async for message in sub:
                heard.append(message)

    @app.on_startup
    async def start_listening() -> None:
        heard.clear()
        ready = asyncio.Event()
        tasks[:] = [asyncio.create_task(listen(ready))]
        await ready.wait()

    @app.post("/say")
    async def say(c: Context) -> str:
        await bus.publish(channel, str((await c.req.form()).get("text", "")))
        return "sent"

    @app.get("/heard")
    async def what_was_heard(c: Context) -> dict[str, Any]:
        return {"heard": heard, "listening": not tasks[0].done()}

    return app


def heard(client: TestClient, count: int) -> list[str]:
    """What the app heard, once it has heard `count` messages (HANG at most)."""
    deadline = time.monotonic() + HANG
    while True:
        answer = client.get("/heard").json()
        if len(answer["heard"]) >= count or time.monotonic() > deadline:
            return list(answer["heard"])
        time.sleep(0.01)


def test_app_use_opens_and_closes_the_bus_with_the_app(bus_url: str | None) -> None:
    bus = Broadcast(bus_url)
    app = build_app(bus, new_channel())
    with TestClient(app) as client:
        assert bus.is_open
        assert client.post("/say", form={"text": "hello"}).text == "sent"
        assert heard(client, 1) == ["hello"]
    assert not bus.is_open
    with TestClient(app) as client:  # opened again, on the new client's loop
        client.post("/say", form={"text": "again"})
        assert heard(client, 1) == ["again"]
        assert client.get("/heard").json()["listening"] is True


def test_two_apps_sharing_a_redis_hear_each_other(topology_url: str) -> None:
    channel = new_channel()
    worker_a = build_app(Broadcast(topology_url), channel)
    worker_b = build_app(Broadcast(topology_url), channel)
    with TestClient(worker_a) as a, TestClient(worker_b) as b:
        a.post("/say", form={"text": "from a"})
        assert heard(b, 1) == ["from a"]
        b.post("/say", form={"text": "from b"})
        assert heard(a, 2) == ["from a", "from b"]
        assert heard(b, 2) == ["from a", "from b"]


def test_the_test_client_never_hangs_on_exit_over_many_cycles(bus_url: str | None) -> None:
    """Open, subscribe and close the app 60 times. The pattern this replaces (a listener
    task that subscribes through redis-py's PubSub and is cancelled on shutdown) hung
    `TestClient.__exit__` within 1 to 3 cycles: a cancellation arriving as redis-py's
    send completed was swallowed by Python 3.11's `wait_for`, and the task went on to
    block forever in `listen()`. Here some cycles close while the subscribe is under
    way, and an on_shutdown hook cancels the listener at whatever point it is, as the
    old pattern did."""
    channel = new_channel()
    bus = Broadcast(bus_url)
    app = MicroWeb()
    app.use(bus)
    listeners: list[asyncio.Task[None]] = []

    async def listen() -> None:
        async with bus.subscribe(channel) as sub:
            async for _ in sub:
                pass

    @app.on_startup
    async def start() -> None:
        listeners.append(asyncio.create_task(listen()))

    @app.on_shutdown
    async def stop() -> None:
        listeners[-1].cancel()

    @app.get("/ping")
    async def ping(c: Context) -> str:
        return "pong"

    finished: list[int] = []

    def cycles() -> None:
        for cycle in range(60):
            with TestClient(app) as client:
                if cycle % 3 == 1:
                    assert client.get("/ping").text == "pong"
            finished.append(cycle)

    thread = threading.Thread(target=cycles, daemon=True)
    thread.start()
    thread.join(HANG)
    assert not thread.is_alive(), f"TestClient.__exit__ hung after {len(finished)} cycles"
    assert finished == list(range(60))
    assert all(task.done() for task in listeners)


# -- Redis: one connection, restarts, outages ---------------------------------------------


def _pubsub_clients(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return len(client.client_list(_type="pubsub"))
    finally:
        client.close()


def test_one_redis_connection_carries_every_subscription_of_a_process(
    throwaway_redis: RedisServer,
) -> None:
    async def scenario() -> tuple[int, list[str]]:
        async with Broadcast(throwaway_redis.url) as bus:
            channels = [new_channel() for _ in range(10)]
            async with _subscribed(bus, channels * 3) as subs:
                for channel in channels:
                    await bus.publish(channel, channel[-6:])
                got = [await next_of(sub) for sub in subs]
                return _pubsub_clients(throwaway_redis.url), got

    connections, got = run(scenario())
    assert connections == 1
    assert len(got) == 30 and all(len(message) == 6 for message in got)


class _subscribed:
    """Enter `bus.subscribe()` for each of `channels`."""

    def __init__(self, bus: Broadcast, channels: list[str]) -> None:
        self.entries = [bus.subscribe(channel) for channel in channels]

    async def __aenter__(self) -> list[Subscription]:
        return [await entry.__aenter__() for entry in self.entries]

    async def __aexit__(self, *exc_info: object) -> None:
        for entry in self.entries:
            await entry.__aexit__(None, None, None)


def test_subscriptions_work_again_after_redis_restarts(throwaway_redis: RedisServer) -> None:
    """Messages published while Redis is down are lost (pub/sub keeps nothing) and
    publishing then fails loudly; once Redis is back every subscription receives again
    by itself, and counts the gap."""

    async def scenario() -> tuple[str, str, int]:
        channel = new_channel()
        async with Broadcast(throwaway_redis.url) as bus, bus.subscribe(channel) as sub:
            await bus.publish(channel, "before")
            before = await next_of(sub)
            await asyncio.to_thread(throwaway_redis.stop)
            with pytest.raises(BroadcastUnavailable, match="Could not publish"):
                await bus.publish(channel, "during")
            await asyncio.to_thread(throwaway_redis.start)
            receiving = asyncio.create_task(next_of(sub))

            async def received() -> bool:
                if not receiving.done():
                    with contextlib.suppress(BroadcastUnavailable):  # Redis still starting
                        await bus.publish(channel, "after")
                return receiving.done()

            await until(received, "the subscription to receive again")
            return before, receiving.result(), sub.gaps

    assert run(scenario()) == ("before", "after", 1)


def test_a_gap_is_counted_once_the_subscription_receives_again(
    throwaway_redis: RedisServer,
) -> None:
    """Redis drops the bus's pub/sub connection: `gaps` grows once the channel is
    subscribed again, so a message published as soon as it has grown is received (the
    rule a feature that re-checks its state on a gap relies on)."""

    async def scenario() -> tuple[int, str]:
        channel = new_channel()
        admin = redis.asyncio.Redis.from_url(throwaway_redis.url)
        try:
            async with Broadcast(throwaway_redis.url) as bus, bus.subscribe(channel) as sub:
                await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")

                async def grown() -> bool:
                    return sub.gaps > 0

                await until(grown, "the gap to be counted")
                await bus.publish(channel, "right after")
                return sub.gaps, await next_of(sub)
        finally:
            await admin.aclose()

    assert run(scenario()) == (1, "right after")


def test_subscribe_gives_up_when_redis_cannot_be_reached() -> None:
    async def scenario() -> None:
        url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
        async with Broadcast(url, subscribe_timeout=0.3) as bus:
            with pytest.raises(BroadcastUnavailable, match="did not confirm"):
                async with bus.subscribe(new_channel()):
                    pass
            assert bus.channels == {}
            with pytest.raises(BroadcastUnavailable, match="Could not publish"):
                await bus.publish(new_channel(), "lost")

    run(scenario())


def test_a_relay_that_dies_fails_its_subscribers_loudly(caplog: pytest.LogCaptureFixture) -> None:
    """A relay task that ends by surprise (here: a `client=` that is no Redis client)
    is logged, and every subscribe() then raises instead of waiting for nothing."""

    async def scenario() -> None:
        async with Broadcast(client=object(), subscribe_timeout=HANG) as bus:
            for _ in range(2):
                with pytest.raises(BroadcastUnavailable, match="relay stopped"):
                    async with bus.subscribe(new_channel()):
                        pass
            assert bus.channels == {}

    with caplog.at_level("ERROR", logger="microweb.broadcast"):
        run(scenario())
    assert "the relay task ended: AttributeError" in caplog.text


# -- wrong use -----------------------------------------------------------------------------


def test_a_bus_that_is_not_open_says_how_to_open_it() -> None:
    async def scenario() -> None:
        bus = Broadcast()
        with pytest.raises(RuntimeError, match=r"app.use\(bus\)"):
            await bus.publish("news", "hi")
        with pytest.raises(RuntimeError, match=r"app.use\(bus\)"):
            async with bus.subscribe("news"):
                pass

    run(scenario())


def test_bad_arguments_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="Unknown Redis URL scheme 'http'"):
        Broadcast("http://example.com")
    with pytest.raises(ValueError, match="not both"):
        Broadcast("redis://localhost/0", client=object())
    with pytest.raises(ValueError, match="queue_size"):
        Broadcast(queue_size=0)

    async def scenario() -> None:
        async with Broadcast() as bus:
            with pytest.raises(TypeError, match="messages are str, not bytes"):
                await bus.publish("news", b"bytes")  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="non-empty str"):
                bus.subscribe("")

    run(scenario())


def test_importing_the_broadcast_module_does_not_import_redis() -> None:
    code = (
        "import sys, microweb, microweb.broadcast\n"
        "from microweb.broadcast import Broadcast\n"
        "Broadcast()\n"
        "print('redis' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert result.stdout.strip() == "False"
