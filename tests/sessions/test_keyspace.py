"""The Redis keyspace: all of one user's keys in one Cluster slot, anonymous sessions
spread over every slot, and logout everywhere that no login or regenerate can outrun."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.crc import key_slot

from microweb.sessions.manager import SessionManager
from microweb.sessions.options import SessionOptions
from microweb.sessions.store import is_valid_id
from microweb.sessions.store_redis import RedisStore

from .conftest import REDIS_URL_FIXTURES

REDIS_DRIVERS = list(REDIS_URL_FIXTURES)
PREFIXES = st.text(min_size=1, max_size=20).filter(lambda p: "{" not in p and "}" not in p)


def slot(key: str) -> int:
    return key_slot(key.encode())


@settings(max_examples=300, deadline=None)
@given(user_id=st.text(max_size=60), prefix=PREFIXES)
def test_all_of_a_users_keys_share_one_slot(user_id: str, prefix: str) -> None:
    store = RedisStore(prefix=prefix)
    keys = [store.index_key(user_id), *store._user_keys(user_id)]
    keys += [store.session_key(store.new_id(user_id)) for _ in range(3)]
    assert len({slot(key) for key in keys}) == 1, keys
    assert all(key.startswith(prefix) for key in keys)


@settings(max_examples=100, deadline=None)
@given(user_id=st.text(max_size=60))
def test_a_users_ids_are_valid_share_a_tag_and_differ(user_id: str) -> None:
    store = RedisStore()
    first, second = store.new_id(user_id), store.new_id(user_id)
    assert is_valid_id(first) and is_valid_id(second)
    assert first.partition("~")[2] == second.partition("~")[2]
    assert first.partition("~")[0] != second.partition("~")[0]


def test_anonymous_sessions_and_users_spread_over_the_slots() -> None:
    store = RedisStore()
    anonymous = Counter(slot(store.session_key(store.new_id())) for _ in range(20_000))
    users = Counter(slot(store.index_key(f"user{i}")) for i in range(20_000))
    # 20,000 keys over 16,384 slots: a uniform spread leaves about 4,700 empty slots.
    assert len(anonymous) > 11_000
    assert len(users) > 11_000
    # Each of a 3-primary cluster's shards gets its share.
    for counts in (anonymous, users):
        shards = Counter(min(s * 3 // 16384, 2) for s in counts.elements())
        assert min(shards.values()) > 6_000


# -- on real servers: a single node, a cluster, Sentinel -------------------------------


@pytest.fixture(params=REDIS_DRIVERS)
def manager_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    url = request.getfixturevalue(REDIS_URL_FIXTURES[request.param])
    return {"driver": "redis", "url": url, "prefix": request.getfixturevalue("redis_prefix")}


async def signed_in(manager: SessionManager, user: str) -> str:
    """Log `user` in on a new session, as `login()` does; return the session id."""
    session = await manager.load(None)
    session.put("user_id", user)
    await session.regenerate()
    await session.index_user(user)
    await manager.commit(session)
    return session.id


async def live(manager: SessionManager, sid: str) -> bool:
    return not (await manager.load(sid)).is_new


def test_a_regenerate_that_started_before_logout_everywhere_stays_logged_out(
    manager_options: dict[str, Any],
) -> None:
    async def scenario() -> tuple[bool, bool, list[str]]:
        manager = SessionManager(SessionOptions(**manager_options))
        sid = await signed_in(manager, "ada")
        request = await manager.load(sid)  # a request on this device is under way ...
        await manager.destroy_user("ada")  # ... when another one logs out everywhere
        await request.regenerate()
        await manager.commit(request)
        regenerated = await live(manager, request.id)
        listed = [s for s, _ in await manager.user_sessions("ada")]
        fresh = await signed_in(manager, "ada")  # a new login afterwards still works
        alive = await live(manager, fresh)
        await manager.shutdown()
        return regenerated, alive, listed

    regenerated, fresh_login_alive, listed = asyncio.run(scenario())
    assert regenerated is False
    assert listed == []
    assert fresh_login_alive is True


def test_a_regenerate_without_logout_everywhere_keeps_the_user_signed_in(
    manager_options: dict[str, Any],
) -> None:
    async def scenario() -> tuple[bool, bool, list[str], str]:
        manager = SessionManager(SessionOptions(**manager_options))
        sid = await signed_in(manager, "ada")
        request = await manager.load(sid)
        await request.regenerate()
        await manager.commit(request)
        listed = [s for s, _ in await manager.user_sessions("ada")]
        result = await live(manager, sid), await live(manager, request.id), listed, request.id
        await manager.shutdown()
        return result

    old_alive, new_alive, listed, new_sid = asyncio.run(scenario())
    assert (old_alive, new_alive) == (False, True)
    assert listed == [new_sid]


def test_logout_everywhere_ends_a_login_that_lands_while_it_runs(
    manager_options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A login indexed after logout everywhere read the index, but before its script ran,
    is found by the script and ended too."""

    async def scenario() -> tuple[list[bool], list[str]]:
        manager = SessionManager(SessionOptions(**manager_options))
        store = manager.store
        assert isinstance(store, RedisStore)
        first = await signed_in(manager, "ada")
        landed: list[str] = []
        read_index = store._members

        async def members_then_a_login(index: str) -> list[str]:
            found = await read_index(index)
            if not landed:
                landed.append(await signed_in(manager, "ada"))
            return found

        monkeypatch.setattr(store, "_members", members_then_a_login)
        await manager.destroy_user("ada")
        monkeypatch.undo()
        alive = [await live(manager, sid) for sid in (first, *landed)]
        listed = [s for s, _ in await manager.user_sessions("ada")]
        await manager.shutdown()
        return alive, listed

    alive, listed = asyncio.run(scenario())
    assert alive == [False, False]
    assert listed == []


def test_a_users_index_drops_expired_entries_at_the_next_login(
    manager_options: dict[str, Any],
) -> None:
    """Indexing costs the same however many sessions a user has: expired entries go in
    one step, without a lookup per session."""

    async def scenario() -> tuple[int, int]:
        # lifetime 0.01 min: idle 0.6 s, index entries live 1.2 s
        manager = SessionManager(SessionOptions(**manager_options, lifetime=0.01))
        store = manager.store
        assert isinstance(store, RedisStore)
        await asyncio.gather(*(signed_in(manager, "ada") for _ in range(200)))
        before = int(await store._run("ZCARD", store.index_key("ada")))
        await asyncio.sleep(1.3)
        await signed_in(manager, "ada")
        after = int(await store._run("ZCARD", store.index_key("ada")))
        await manager.shutdown()
        return before, after

    before, after = asyncio.run(scenario())
    assert (before, after) == (200, 1)


# The id grammar, written as a regex: is_valid_id must agree with it on every string.
ID_GRAMMAR = re.compile(r"[A-Za-z0-9_-]{43}(?:~[0-9a-f]{6})?")
NEAR_ID_CHARS = st.sampled_from(list("aZ09_-~fF.+/ é٣\x00\n"))


@pytest.mark.parametrize(
    "sid",
    [
        "a" * 43,
        "a" * 43 + "~0a1b2c",
        "a" * 42,
        "a" * 44,
        "a" * 43 + "~",
        "a" * 43 + "~0A1B2C",  # the tag is lowercase hex
        "a" * 43 + "-0a1b2c",
        "a" * 42 + "٣",  # a digit, but not an ASCII one
        "a" * 42 + "é",
        "a" * 42 + ".",
        "a" * 43 + "~0a1b2c\n",
        "",
    ],
)
def test_session_ids_have_exactly_new_ids_shape(sid: str) -> None:
    assert is_valid_id(sid) is (ID_GRAMMAR.fullmatch(sid) is not None)


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_is_valid_id_agrees_with_the_grammar(data: st.DataObject) -> None:
    sid = list(RedisStore().new_id(data.draw(st.sampled_from([None, "user"]))))
    for _ in range(data.draw(st.integers(0, 3))):
        at = data.draw(st.integers(0, len(sid)))
        char = data.draw(NEAR_ID_CHARS)
        match data.draw(st.sampled_from(["replace", "insert", "delete"])):
            case "replace" if at < len(sid):
                sid[at] = char
            case "insert":
                sid.insert(at, char)
            case "delete" if at < len(sid):
                del sid[at]
    text = "".join(sid)
    assert is_valid_id(text) is (ID_GRAMMAR.fullmatch(text) is not None)


def test_is_valid_id_refuses_what_is_not_a_str() -> None:
    assert not is_valid_id(None)
    assert not is_valid_id(b"a" * 43)
    assert not is_valid_id(43)
