"""`SessionState`: what a `Session` and its `SessionManager` share, flag by flag."""

from __future__ import annotations

import asyncio

from microweb.sessions.manager import SessionManager
from microweb.sessions.state import SessionState


def test_a_new_state_is_new_and_not_stored() -> None:
    state = SessionState()
    assert (state.id, state.is_new, state.exists, state.unavailable) == (None, True, False, False)
    assert not (state.accessed or state.written or state.lost or state.id_changed)
    assert state.record.values == {}


def test_a_loaded_state_exists_and_keeps_meta_apart() -> None:
    state = SessionState("sid", {"a": "1", "__created": "5"})
    assert (state.id, state.is_new, state.exists) == ("sid", False, True)
    assert state.record.stored == {"a": "1"}
    assert state.record.meta == {"__created": "5"}


def test_a_session_used_and_committed_is_accessed_exists_and_written() -> None:
    manager = SessionManager()

    async def request() -> SessionState:
        session = await manager.load(None)
        session.put("a", 1)
        await manager.commit(session)
        return session.state

    state = asyncio.run(request())
    assert state.accessed and state.exists and state.written and state.is_new
    assert state.id is not None and not state.id_changed


def test_regenerate_moves_the_state_to_a_new_id_with_nothing_stored_under_it() -> None:
    manager = SessionManager()

    async def requests() -> tuple[str, SessionState]:
        first = await manager.load(None)
        first.put("a", 1)
        await manager.commit(first)
        session = await manager.load(first.id)
        await session.regenerate()
        return first.id, session.state

    old, state = asyncio.run(requests())
    assert state.id is not None and state.id != old
    assert state.id_changed and not state.exists and not state.is_new
    assert state.record.stored == {}  # the next save writes the whole record


def test_a_state_its_cookie_carried_is_neither_new_nor_stored() -> None:
    state = SessionState()
    state.carry({"_token": "t"}, {"__created": "5"})
    assert (state.id, state.is_new, state.exists) == (None, False, False)
    assert state.carried == {"_token": "t"} and state.record.values == {"_token": "t"}
    assert state.record.stored == {}  # the first save writes it all
    assert state.record.meta_dirty == {"__created": "5"}


def test_a_new_id_forgets_that_the_old_one_was_read() -> None:
    state = SessionState("sid", {"a": "1"})
    state.id_read = True
    state.new_identity("other")
    assert not state.id_read
