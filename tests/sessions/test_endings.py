"""What stores tell the watchers of WebSockets: how long a session has left (`time_left`,
never sliding it), and, on stores with a feed (memory, Redis), an announcement of each
signed-in session they destroy, carrying a hash of its id, never the id."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as redis

from microweb.sessions.manager import SessionManager
from microweb.sessions.options import SessionOptions
from microweb.sessions.store import USER, Change, SessionStore, end_key
from microweb.sessions.store_file import FileStore
from microweb.sessions.store_memory import MemoryStore
from microweb.sessions.store_redis import RedisStore

from .conftest import REDIS_URL_FIXTURES, RedisServer

IDLE = 60.0


async def signed_in(store: Any, user: str) -> str:
    sid = store.new_id(user)
    change = Change({"user_id": '"x"', USER: user})
    assert await store.save_signed_in(sid, change, user_id=user, idle_s=IDLE, index_s=2 * IDLE)
    return sid


async def anonymous(store: Any) -> str:
    sid = store.new_id()
    assert await store.save(sid, Change({"cart": "[]"}), create=True, idle_s=IDLE)
    return sid


async def next_heard(heard: Any) -> list[str] | None:
    return await heard.next(within=5.0)  # type: ignore[no-any-return]


def test_time_left_counts_down_to_the_idle_expiry_and_never_slides_it(server_store: Any) -> None:
    async def scenario() -> tuple[float, float, list[float | None]]:
        await server_store.open()
        try:
            sid = await signed_in(server_store, "ann")
            gone = await anonymous(server_store)
            await server_store.destroy(gone)
            await asyncio.sleep(0.05)
            [first] = await server_store.time_left([sid], IDLE)
            await asyncio.sleep(0.05)
            [second] = await server_store.time_left([sid], IDLE)
            return first, second, await server_store.time_left([gone, sid], IDLE)
        finally:
            await server_store.close()

    first, second, both = asyncio.run(scenario())
    assert 0 < second < first < IDLE
    assert both[0] is None and both[1] is not None and both[1] <= second


def test_the_file_store_has_no_feed_and_its_check_sees_what_another_worker_ended(
    tmp_path: Any,
) -> None:
    """Workers on one host share the directory, not a channel: each finds an end by
    checking."""

    async def scenario() -> tuple[bool, list[float | None]]:
        mine, theirs = FileStore(tmp_path / "sessions"), FileStore(tmp_path / "sessions")
        await mine.open()
        sid = await signed_in(mine, "hal")
        await theirs.destroy(sid)
        return mine.endings() is None, await mine.time_left([sid], IDLE)

    assert asyncio.run(scenario()) == (True, [None])


@pytest.fixture(params=["memory", *REDIS_URL_FIXTURES])
def feed_store(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return MemoryStore()
    url = request.getfixturevalue(REDIS_URL_FIXTURES[request.param])
    return RedisStore(url, prefix=request.getfixturevalue("redis_prefix"))


def test_a_destroyed_signed_in_session_is_announced_and_an_anonymous_one_is_not(
    feed_store: Any,
) -> None:
    async def scenario() -> tuple[list[str] | None, str]:
        await feed_store.open()
        try:
            async with feed_store.endings().listen() as heard:
                await feed_store.destroy(await anonymous(feed_store))
                sid = await signed_in(feed_store, "bob")
                await feed_store.destroy(sid)
                return await next_heard(heard), sid
        finally:
            await feed_store.close()

    keys, sid = asyncio.run(scenario())
    assert keys == [end_key(sid)]


def test_logout_everywhere_announces_every_session_of_the_user(feed_store: Any) -> None:
    async def scenario() -> tuple[set[str], set[str]]:
        await feed_store.open()
        try:
            async with feed_store.endings().listen() as heard:
                sids = {await signed_in(feed_store, "cy") for _ in range(3)}
                await signed_in(feed_store, "someone else")
                await feed_store.destroy_user("cy")
                keys: set[str] = set()
                while len(keys) < 3:
                    got = await next_heard(heard)
                    assert got is not None
                    keys.update(got)
                return keys, {end_key(sid) for sid in sids}
        finally:
            await feed_store.close()

    heard, expected = asyncio.run(scenario())
    assert heard == expected


def test_a_signed_in_session_evicted_from_the_memory_store_is_announced() -> None:
    async def scenario() -> tuple[list[str] | None, str]:
        store = MemoryStore(max_sessions=1)
        async with store.endings().listen() as heard:
            first = await signed_in(store, "dee")
            await signed_in(store, "eve")  # over the cap of signed-in sessions: dee goes
            keys = await next_heard(heard)
        await store.close()
        return keys, first

    keys, first = asyncio.run(scenario())
    assert keys == [end_key(first)]


def test_the_redis_channel_carries_a_hash_of_the_id_never_the_id(
    redis_url: str, redis_prefix: str
) -> None:
    async def scenario() -> tuple[str, str]:
        store = RedisStore(redis_url, prefix=redis_prefix)
        listener = redis.Redis.from_url(redis_url, decode_responses=True)
        pubsub = listener.pubsub()
        try:
            await pubsub.subscribe(redis_prefix + "ended")
            await pubsub.get_message(timeout=1.0)  # the subscribe confirmation
            sid = await signed_in(store, "fay")
            await store.destroy(sid)
            message = None
            while message is None:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
            return str(message["data"]), sid
        finally:
            await pubsub.aclose()
            await listener.aclose()
            await store.close()

    data, sid = asyncio.run(scenario())
    assert data == end_key(sid)
    assert sid not in data and sid.split("~")[0] not in data
    assert len(data) == 32 and int(data, 16) >= 0


def test_no_pub_sub_connection_is_opened_until_someone_listens(
    throwaway_redis: RedisServer,
) -> None:
    """Logins and logouts publish on the store's own connection; the pub/sub connection
    that hears them is opened by the first listener (the first watched socket)."""

    async def pubsub_clients(admin: Any) -> int:
        listed = await admin.execute_command("CLIENT", "LIST", "TYPE", "pubsub")
        text = listed.decode() if isinstance(listed, bytes) else str(listed)
        return len(text.splitlines())

    async def scenario() -> tuple[int, int]:
        store = RedisStore(throwaway_redis.url, prefix="microweb-test:")
        admin = redis.Redis.from_url(throwaway_redis.url)
        try:
            await store.open()
            await store.destroy(await signed_in(store, "gus"))
            before = await pubsub_clients(admin)
            async with store.endings().listen():
                return before, await pubsub_clients(admin)
        finally:
            await store.close()
            await admin.aclose()

    assert asyncio.run(scenario()) == (0, 1)


def test_a_store_without_time_left_watches_nothing_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A store written before the interface existed keeps working; its sockets simply
    outlive their sessions, and the log says why."""

    class OldStore(MemoryStore):
        time_left = SessionStore.time_left  # as a store that never defined it

    class Socket:
        async def close(self, code: int = 1000, reason: str = "") -> None:
            raise AssertionError("nothing should close it")

    async def scenario() -> list[object]:
        manager = SessionManager(SessionOptions(driver=OldStore()))
        return [manager.watch("a" * 43, None, Socket()) for _ in range(2)]

    assert asyncio.run(scenario()) == [None, None]
    said = [r.getMessage() for r in caplog.records if "time_left" in r.getMessage()]
    assert said == [
        "The session store OldStore does not implement time_left(), so WebSockets are not "
        "closed when their session ends"
    ]
