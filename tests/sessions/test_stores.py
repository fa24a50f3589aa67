"""Store behaviour: merges, no resurrection, counted calls, per-driver rules."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from microweb.sessions.manager import SessionManager, make_manager
from microweb.sessions.options import SessionOptions
from microweb.sessions.store import Change, checked_id, new_id
from microweb.sessions.store_cookie import CookieStore
from microweb.sessions.store_file import FileStore
from microweb.sessions.store_memory import MemoryStore
from microweb.sessions.store_redis import RedisStore
from microweb.testing import TestClient

from .conftest import COOKIE


async def stored_session(manager: SessionManager, **data: Any) -> str:
    s = await manager.load(None)
    s.put(data)
    await manager.commit(s)
    return s.id


def test_concurrent_requests_changing_different_keys_both_persist(server_store: Any) -> None:
    async def scenario() -> dict[str, Any]:
        manager = SessionManager(SessionOptions(driver=server_store))
        sid = await stored_session(manager, base=0)
        first, second = await manager.load(sid), await manager.load(sid)
        first.put("x", 1)
        second.put("y", 2)
        await asyncio.gather(manager.commit(first), manager.commit(second))
        result = (await manager.load(sid)).all()
        await manager.shutdown()
        return result

    assert asyncio.run(scenario()) == {"base": 0, "x": 1, "y": 2}


def test_concurrent_removal_and_change_both_persist(server_store: Any) -> None:
    async def scenario() -> dict[str, Any]:
        manager = SessionManager(SessionOptions(driver=server_store))
        sid = await stored_session(manager, a=1, b=2)
        first, second = await manager.load(sid), await manager.load(sid)
        first.forget("a")
        second.put("b", 3)
        await asyncio.gather(manager.commit(first), manager.commit(second))
        result = (await manager.load(sid)).all()
        await manager.shutdown()
        return result

    assert asyncio.run(scenario()) == {"b": 3}


def test_destroyed_session_is_not_recreated_by_a_late_save(server_store: Any) -> None:
    async def scenario() -> tuple[list[tuple[str, str]], bool]:
        manager = SessionManager(SessionOptions(driver=server_store))
        sid = await stored_session(manager, user_id=7)
        slow, logout = await manager.load(sid), await manager.load(sid)
        await logout.invalidate()
        await manager.commit(logout)
        slow.put("late", True)
        headers = await manager.commit(slow)
        gone = await server_store.load(sid, 60) is None
        await manager.shutdown()
        return headers, gone

    headers, gone = asyncio.run(scenario())
    assert gone
    assert [h for h in headers if h[0] == "Set-Cookie"] == []


def test_untouched_request_makes_no_store_call(
    server_store: Any, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(driver=server_store)
    client.get("/plain")
    client.get("/get/a")
    assert server_store.calls == {}


def test_read_only_request_loads_but_never_saves(
    server_store: Any, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(driver=server_store)
    client.get("/set/a/1")
    server_store.reset()
    client.get("/get/a")
    client.get("/plain")
    assert server_store.calls == {"load": 2}


def test_unknown_id_is_replaced_not_adopted(
    server_store: Any, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(driver=server_store)
    planted = new_id()
    client.cookies.set(COOKIE, planted)
    client.get("/set/a/1")
    assert client.cookies.get(COOKIE) != planted
    assert client.get(f"/stored/{planted}").json() == {"stored": False}


def test_tampered_signature_is_dropped_before_any_store_lookup(
    server_store: Any, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(driver=server_store, secret="k")
    client.get("/set/a/1")
    value = client.cookies.get(COOKIE) or ""
    sid = value.partition(".")[0]
    server_store.reset()
    client.cookies.set(COOKIE, sid + ".forged")
    assert client.get("/get/a").json() == {"value": None}
    client.cookies.set(COOKIE, sid)  # unsigned
    assert client.get("/get/a").json() == {"value": None}
    assert server_store.calls == {}


def test_regenerate_deletes_the_old_record(
    server_store: Any, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(driver=server_store)
    client.get("/set/a/1")
    old = client.cookies.get(COOKIE)
    client.get("/regenerate")
    assert client.get(f"/stored/{old}").json() == {"stored": False}
    assert client.get(f"/stored/{client.cookies.get(COOKIE)}").json() == {"stored": True}


def test_invalidate_deletes_the_old_record(
    server_store: Any, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(driver=server_store)
    client.get("/set/a/1")
    old = client.cookies.get(COOKIE)
    client.get("/invalidate")
    assert client.get(f"/stored/{old}").json() == {"stored": False}


def test_destroy_user_ends_every_session_of_that_user(server_store: Any) -> None:
    async def scenario() -> list[bool]:
        manager = SessionManager(SessionOptions(driver=server_store))
        sids = []
        for user in ("ada", "ada", "bob"):
            s = await manager.load(None)
            s.put("user_id", user)
            await s.index_user(user)
            await manager.commit(s)
            sids.append(s.id)
        await manager.destroy_user("ada")
        alive = [await server_store.load(sid, 60) is not None for sid in sids]
        await manager.shutdown()
        return alive

    assert asyncio.run(scenario()) == [False, False, True]


def test_memory_store_evicts_least_recently_used_beyond_max_sessions(
    make_client: Callable[..., TestClient],
) -> None:
    store = MemoryStore(max_sessions=2)
    clients = [make_client(driver=store) for _ in range(3)]
    clients[0].get("/set/n/0")
    clients[1].get("/set/n/1")
    clients[0].get("/get/n")  # 0 is now more recent than 1
    clients[2].get("/set/n/2")
    assert len(store) == 2
    values = [c.get("/get/n").json()["value"] for c in clients]
    assert values == ["0", None, "2"]


def test_memory_store_never_evicts_a_signed_in_session_for_anonymous_ones() -> None:
    async def scenario() -> tuple[int, int, bool, bool]:
        store = MemoryStore(max_sessions=100)
        users = [new_id() for _ in range(10)]
        for sid in users:
            await store.save(sid, Change({"__user": "ada", "n": "1"}), create=True, idle_s=60)
        for _ in range(1000):  # anonymous visitors that each store a cart
            await store.save(new_id(), Change({"cart": "[]"}), create=True, idle_s=60)
        alive = [await store.load(sid, 60) is not None for sid in users]
        last = new_id()
        await store.save(last, Change({"cart": "[1]"}), create=True, idle_s=60)
        return len(store), store.signed_in, all(alive), await store.load(last, 60) is not None

    # 100 records in all: the 10 signed-in ones and the 90 most recent anonymous ones.
    assert asyncio.run(scenario()) == (100, 10, True, True)


def test_memory_store_evicts_signed_in_sessions_only_past_the_cap_on_their_own() -> None:
    async def scenario() -> tuple[int, list[bool]]:
        store = MemoryStore(max_sessions=3)
        anonymous = new_id()
        await store.save(anonymous, Change({"cart": "[]"}), create=True, idle_s=60)
        users = [new_id() for _ in range(4)]
        for sid in users:
            await store.save(sid, Change({"__user": "ada"}), create=True, idle_s=60)
        return store.signed_in, [await store.load(s, 60) is not None for s in [anonymous, *users]]

    # The anonymous record went first; then the least recently used signed-in one.
    assert asyncio.run(scenario()) == (3, [False, False, True, True, True])


def test_memory_store_counts_a_session_as_signed_in_once_a_save_gives_it_a_user() -> None:
    async def scenario() -> tuple[int, bool]:
        store = MemoryStore(max_sessions=2)
        sid = new_id()
        await store.save(sid, Change({"cart": "[]"}), create=True, idle_s=60)
        await store.save(sid, Change({"__user": "ada"}), create=False, idle_s=60)
        for _ in range(5):
            await store.save(new_id(), Change({"cart": "[]"}), create=True, idle_s=60)
        return store.signed_in, await store.load(sid, 60) is not None

    assert asyncio.run(scenario()) == (1, True)


def test_memory_store_drops_expired_sessions_without_being_asked_for_them() -> None:
    async def scenario() -> tuple[int, int, int]:
        store = MemoryStore()
        for _ in range(3):
            await store.save(new_id(), Change({"n": "1"}), create=True, idle_s=0.2)
        held = len(store)
        await asyncio.sleep(0.3)
        live = new_id()
        await store.save(live, Change({"n": "2"}), create=True, idle_s=60)
        after_expiry = len(store)  # the three expired ones went on this access
        assert await store.load(live, 60) == {"n": "2"}
        return held, after_expiry, len(store)

    assert asyncio.run(scenario()) == (3, 1, 1)


def test_memory_store_cap_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_sessions"):
        SessionManager(SessionOptions(max_sessions=0))


@pytest.mark.parametrize("sid", ["", "../victim", "a" * 42, "a" * 43 + "~12345g", None])
def test_checked_id_refuses_what_new_id_cannot_make(sid: Any) -> None:
    with pytest.raises(ValueError, match="Invalid session id"):
        checked_id(sid)


def test_checked_id_returns_an_id_new_id_made() -> None:
    for sid in (new_id(), new_id("00ff12")):
        assert checked_id(sid) is sid


def test_file_store_never_leaves_its_directory(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "sessions")
    outside = tmp_path / "victim.json"
    outside.write_text('{"a": "1"}')

    async def scenario() -> None:
        await store.open()
        assert await store.load("../victim", 60) is None
        with pytest.raises(ValueError, match="Invalid session id"):
            await store.save("../victim", Change({"a": "2"}), create=True, idle_s=60)
        with pytest.raises(ValueError, match=r"Invalid session id: '\.\./victim'"):
            await store.index_user("ada", "../victim", 60)
        await store.destroy("../victim")

    asyncio.run(scenario())
    assert outside.read_text() == '{"a": "1"}'
    assert sorted(os.listdir(tmp_path)) == ["sessions", "victim.json"]


def test_file_store_creates_private_directory_and_files(tmp_path: Path) -> None:
    directory = tmp_path / "sessions"
    store = FileStore(directory)
    sid = new_id()

    async def scenario() -> None:
        await store.open()
        await store.save(sid, Change({"a": "1"}), create=True, idle_s=60)

    asyncio.run(scenario())
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / f"{sid}.json").stat().st_mode) == 0o600


def test_file_store_cleans_up_expired_files_on_open(tmp_path: Path) -> None:
    directory = tmp_path / "sessions"
    sid = new_id()
    asyncio.run(FileStore(directory).save(sid, Change({"a": "1"}), create=True, idle_s=60))
    old = (directory / f"{sid}.json").stat().st_mtime - 120
    os.utime(directory / f"{sid}.json", (old, old))
    asyncio.run(FileStore(directory, idle_s=60).open())
    assert not (directory / f"{sid}.json").exists()


def _save_many(directory: str, sid: str, worker: int) -> None:
    async def run() -> None:
        store = FileStore(directory)
        for i in range(30):
            await store.save(sid, Change({f"w{worker}-{i}": "1"}), create=False, idle_s=60)

    asyncio.run(run())


def test_file_store_merges_saves_from_several_processes(tmp_path: Path) -> None:
    directory = str(tmp_path / "sessions")
    sid = new_id()
    asyncio.run(FileStore(directory).save(sid, Change({"base": "1"}), create=True, idle_s=60))
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_save_many, args=(directory, sid, w)) for w in range(3)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(30)
    record = asyncio.run(FileStore(directory).load(sid, 60))
    assert record is not None
    assert len(record) == 1 + 3 * 30


def test_cookie_driver_cannot_log_out_everywhere_and_says_why() -> None:
    manager = make_manager(SessionOptions(driver="cookie", secret="k"))
    with pytest.raises(NotImplementedError, match="browser"):
        asyncio.run(manager.destroy_user("ada"))
    assert isinstance(manager.store, CookieStore)


def test_redis_keys_all_start_with_the_prefix(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> None:
        manager = SessionManager(SessionOptions(driver="redis", url=redis_url, prefix=redis_prefix))
        s = await manager.load(None)
        s.put("user_id", "ada")
        await s.index_user("ada")
        await manager.commit(s)
        await manager.shutdown()

    asyncio.run(scenario())
    client = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in client.scan_iter(match=redis_prefix + "*")]
    client.close()
    assert len(keys) == 2
    assert any(k.startswith(redis_prefix + "user:") for k in keys)


def test_redis_user_index_outlives_its_sessions(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> None:
        manager = SessionManager(
            SessionOptions(driver="redis", url=redis_url, prefix=redis_prefix, lifetime=1)
        )
        s = await manager.load(None)
        s.put("user_id", "ada")
        await s.index_user("ada")
        await manager.commit(s)
        await manager.shutdown()

    asyncio.run(scenario())
    client = redis.Redis.from_url(redis_url)
    session_ttls = [
        client.pttl(k) for k in client.scan_iter(match=redis_prefix + "*") if b":user:" not in k
    ]
    user_ttl = client.pttl(RedisStore(prefix=redis_prefix).index_key("ada"))
    client.close()
    assert user_ttl >= max(session_ttls) > 0


def test_redis_store_uses_a_ready_client_and_never_closes_it(
    redis_url: str, redis_prefix: str
) -> None:
    from redis.asyncio import Redis

    async def scenario() -> bool:
        client = Redis.from_url(redis_url)
        manager = SessionManager(SessionOptions(driver="redis", client=client, prefix=redis_prefix))
        await manager.startup()
        sid = await stored_session(manager, a=1)
        await manager.shutdown()
        still_open = bool(await client.exists(redis_prefix + sid))
        await client.aclose()
        return still_open

    assert asyncio.run(scenario())


def test_redis_user_index_is_renewed_by_activity(redis_url: str, redis_prefix: str) -> None:
    from redis.asyncio import Redis

    async def scenario() -> tuple[int, int]:
        manager = SessionManager(
            SessionOptions(driver="redis", url=redis_url, prefix=redis_prefix, lifetime=0.02)
        )  # idle 1.2 s: the index lives 2.4 s and is renewed within 1.2 s of its end
        client = Redis.from_url(redis_url)
        s = await manager.load(None)
        s.put("user_id", "ada")
        await s.index_user("ada")
        await manager.commit(s)
        for _ in range(2):  # keep the session alive past the index's first half
            await asyncio.sleep(0.7)
            before = await client.pttl(RedisStore(prefix=redis_prefix).index_key("ada"))
            await manager.commit(await manager.load(s.id))
        after = await client.pttl(RedisStore(prefix=redis_prefix).index_key("ada"))
        await manager.shutdown()
        await client.aclose()
        return before, after

    before, after = asyncio.run(scenario())
    assert before < 1200
    assert after > 2000


def test_a_cookie_store_needs_the_cookie_manager() -> None:
    with pytest.raises(TypeError, match="CookieStore needs a CookieSessionManager"):
        SessionManager(SessionOptions(driver="cookie", secret="k"))
    assert make_manager(SessionOptions(driver="cookie", secret="k")).client_side
    assert not make_manager(SessionOptions(driver="memory")).client_side
