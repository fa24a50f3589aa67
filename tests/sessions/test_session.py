"""The `Session` API, method by method, on a memory-backed manager."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any

import pytest

from microweb.sessions import Session, SessionUnavailable
from microweb.sessions.manager import SessionManager
from microweb.sessions.options import SessionOptions
from microweb.sessions.store_memory import MemoryStore


def new_session(manager: SessionManager | None = None) -> Session:
    return asyncio.run((manager or SessionManager(SessionOptions())).load(None))


def reload(manager: SessionManager, s: Session) -> Session:
    """Save `s` as the end of a request does, and load it as the next request."""

    async def cycle() -> Session:
        await manager.commit(s)
        return await manager.load(s.id)

    return asyncio.run(cycle())


def test_get_returns_the_value_or_the_default() -> None:
    s = new_session()
    s.put("name", "ada")
    assert s.get("name") == "ada"
    assert s.get("other") is None
    assert s.get("other", "fallback") == "fallback"


def test_get_follows_dot_paths_into_nested_dicts_and_lists() -> None:
    s = new_session()
    s.put("user", {"name": "ada", "roles": ["admin", "dev"]})
    assert s.get("user.name") == "ada"
    assert s.get("user.roles.1") == "dev"
    assert s.get("user.missing", "x") == "x"


@pytest.mark.parametrize(
    ("index", "found"),
    [
        ("1", "dev"),
        ("0" * 5000 + "1", "none"),  # no index of more than 18 digits
        ("9" * 5000, "none"),  # past int()'s 4300 digits: once a 500
        ("\u00b2", "none"),  # superscript two: str.isdigit() says yes, int() says no
        ("\u0661", "none"),  # Arabic-Indic one: int() would read 1
        ("\uff11", "none"),  # fullwidth one
        ("-1", "none"),
    ],
)
def test_a_list_index_in_a_dot_path_is_ascii_digits(index: str, found: str) -> None:
    s = new_session()
    s.put("roles", ["admin", "dev"])

    assert s.get("roles." + index, "none") == found


def test_exact_dotted_key_wins_over_a_dot_path() -> None:
    s = new_session()
    s.put({"a": {"b": "nested"}})
    s._put_top("a.b", "literal")
    assert s.get("a.b") == "literal"


def test_has_is_false_for_none_but_exists_is_true() -> None:
    s = new_session()
    s.put("nothing", None)
    assert not s.has("nothing")
    assert s.exists("nothing")
    assert not s.missing("nothing")
    assert s.missing("absent")


def test_all_returns_every_key() -> None:
    s = new_session()
    s.put({"a": 1, "b": [2]})
    assert s.all() == {"a": 1, "b": [2]}


def test_only_returns_the_present_keys_asked_for() -> None:
    s = new_session()
    s.put({"a": 1, "b": 2, "user": {"name": "ada"}})
    assert s.only("a", "user.name", "zzz") == {"a": 1, "user.name": "ada"}


def test_put_accepts_a_dict_of_values() -> None:
    s = new_session()
    s.put({"a": 1, "b": 2})
    assert (s["a"], s["b"]) == (1, 2)


def test_put_with_a_dot_path_writes_into_a_nested_dict() -> None:
    s = new_session()
    s.put("user.name", "ada")
    s.put("user.address.city", "London")
    assert s.get("user") == {"name": "ada", "address": {"city": "London"}}


def test_put_rejects_an_unstorable_value_at_once_naming_the_key() -> None:
    s = new_session()
    with pytest.raises(TypeError, match="'cart'"):
        s.put("cart", object())
    assert s.missing("cart")


def test_put_rejects_reserved_double_underscore_keys() -> None:
    s = new_session()
    with pytest.raises(ValueError, match="reserved"):
        s.put("__created", 1)


def test_forget_removes_keys_and_dot_paths() -> None:
    s = new_session()
    s.put({"a": 1, "b": 2, "user": {"name": "ada", "age": 36}})
    s.forget("a", "user.age", "absent")
    assert s.all() == {"b": 2, "user": {"name": "ada"}}


def test_pull_returns_and_removes_the_value() -> None:
    s = new_session()
    s.put("code", 123)
    assert s.pull("code") == 123
    assert s.missing("code")
    assert s.pull("code", "gone") == "gone"


def test_flush_removes_everything() -> None:
    s = new_session()
    s.put({"a": 1})
    s.token()
    s.flush()
    assert len(s) == 0


def test_increment_and_decrement_start_from_zero() -> None:
    s = new_session()
    assert s.increment("visits") == 1
    assert s.increment("visits", 5) == 6
    assert s.decrement("visits", 2) == 4
    assert s.decrement("debt") == -1


def test_increment_refuses_a_non_number() -> None:
    s = new_session()
    s.put("name", "ada")
    with pytest.raises(TypeError, match="'name'"):
        s.increment("name")


def test_push_appends_to_a_list_creating_it() -> None:
    s = new_session()
    s.push("user.teams", "developers")
    s.push("user.teams", "admins")
    assert s.get("user.teams") == ["developers", "admins"]


def test_dict_protocol() -> None:
    s = new_session()
    s["a"] = 1
    s["b"] = 2
    assert s["a"] == 1
    assert "a" in s
    assert "zzz" not in s
    assert len(s) == 2
    assert list(s) == ["a", "b"]
    assert dict(s) == {"a": 1, "b": 2}
    del s["a"]
    assert "a" not in s
    with pytest.raises(KeyError):
        _ = s["a"]
    with pytest.raises(KeyError):
        del s["a"]


def test_flash_is_readable_under_its_key_and_the_flash_prefix() -> None:
    s = new_session()
    s.flash("message", "saved")
    assert s.get("message") == "saved"
    assert s.get("_flash.message") == "saved"
    assert s.get("_flash.other") is None


def test_flash_without_value_stores_true() -> None:
    s = new_session()
    s.flash("welcome")
    assert s.get("welcome") is True


def test_token_is_created_once_and_stored_under_token() -> None:
    s = new_session()
    token = s.token()
    assert len(token) >= 32
    assert s.token() == token
    assert s.get("_token") == token


def test_regenerate_token_changes_it() -> None:
    s = new_session()
    token = s.token()
    s.regenerate_token()
    assert s.token() != token


def test_id_is_a_long_random_url_safe_string() -> None:
    s = new_session()
    assert len(s.id) == 43
    assert s.id != new_session().id


def test_is_new_and_modified_follow_the_record() -> None:
    manager = SessionManager()
    s = new_session(manager)
    assert s.is_new
    assert not s.modified
    s.put("a", 1)
    assert s.modified
    loaded = reload(manager, s)
    assert not loaded.is_new
    assert not loaded.modified
    loaded.get("a")
    assert not loaded.modified


def test_nested_change_marks_the_session_modified() -> None:
    manager = SessionManager()
    s = new_session(manager)
    s.put("cart", ["tea"])
    loaded = reload(manager, s)
    loaded.get("cart").append("milk")
    assert loaded.modified
    assert reload(manager, loaded).get("cart") == ["tea", "milk"]


def test_unstorable_nested_change_fails_at_save_naming_the_key() -> None:
    manager = SessionManager()
    s = new_session(manager)
    s.put("cart", [])
    s.get("cart").append(object())
    with pytest.raises(TypeError, match="'cart'"):
        asyncio.run(s.save())


def test_save_persists_immediately() -> None:
    manager = SessionManager()
    s = new_session(manager)
    s.put("when", date(2024, 1, 1))
    asyncio.run(s.save())
    loaded = asyncio.run(manager.load(s.id))
    assert loaded.get("when") == date(2024, 1, 1)


def test_regenerate_keeps_data_changes_id_and_rotates_token() -> None:
    manager = SessionManager()
    s = new_session(manager)
    s.put("a", 1)
    token = s.token()
    loaded = reload(manager, s)
    old_id = loaded.id
    asyncio.run(loaded.regenerate())
    assert loaded.id != old_id
    assert loaded.get("a") == 1
    assert loaded.token() != token
    assert asyncio.run(manager.store.load(old_id, 60)) is None
    assert reload(manager, loaded).get("a") == 1


def test_invalidate_flushes_changes_id_and_deletes_the_record() -> None:
    manager = SessionManager()
    s = new_session(manager)
    s.put("a", 1)
    loaded = reload(manager, s)
    old_id = loaded.id
    asyncio.run(loaded.invalidate())
    assert loaded.id != old_id
    assert len(loaded) == 0
    assert asyncio.run(manager.store.load(old_id, 60)) is None


def test_unavailable_session_raises_503_with_retry_after_on_use() -> None:
    s = Session(SessionManager(), unavailable=True)
    with pytest.raises(SessionUnavailable) as info:
        s.get("a")
    assert info.value.status == 503
    assert info.value.headers == {"Retry-After": "5"}
    assert info.value.message == "Session store unavailable"


def test_a_store_failing_at_save_is_a_logged_503(caplog: pytest.LogCaptureFixture) -> None:
    class FailingStore(MemoryStore):
        async def save(self, *args: Any, **kwargs: Any) -> bool:
            raise ConnectionRefusedError("store down")

    manager = SessionManager(SessionOptions(driver=FailingStore()))
    s = new_session(manager)
    s.put("a", 1)
    with (
        caplog.at_level(logging.ERROR, logger="microweb.sessions"),
        pytest.raises(SessionUnavailable) as info,
    ):
        asyncio.run(manager.commit(s))
    assert info.value.status == 503
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    (line,) = [r.getMessage() for r in caplog.records]
    assert line == "Session store unavailable while saving: ConnectionRefusedError: store down"
