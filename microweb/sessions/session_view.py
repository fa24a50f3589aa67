"""`Session`: the per-request view of one session record.

Rules:
- The data is a `Record`: decoded lazily, changes found by re-encoding, so
  nested changes (`s.get("cart").append(x)`) are saved too.
- `put` encodes at once, so an unstorable value is a `TypeError` naming the
  key where the bug is; values changed later in place are checked at save.
- Keys are strings; keys starting with "__" are reserved for meta fields. A
  key must have a UTF-8 form (no lone surrogate): a store writes key names as
  they are, so `put` refuses such a key with a `ValueError`, on every driver.
  (Values hold any string: see serializer.py.)
- Reads accept dot paths into nested dicts (and list indexes, in ASCII
  digits); an exact top-level key always wins over a path. Writes with a dotted key that is not
  a top-level key write into nested dicts, as Laravel's `Arr::set` does.
- Flash data follows Laravel's `Store`: `_flash.new` and `_flash.old` hold key
  lists; the manager calls `age_flash` once at the end of a request that used
  the session (old keys are forgotten, new become old).
- Every public method marks the session as used (`state.accessed`, for
  `Vary: Cookie`), and an unavailable session (store down at load) raises
  `SessionUnavailable` there.
- What the manager needs to know (id, record, flags) is `state`, a
  `SessionState`; what the session asks of the manager is `SessionBackend`.
- `close_on_end(socket)` is not a use of the session (no `Vary`, no save): a
  WebSocket handshake calls it for the socket it opens.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final

from ..exceptions import HTTPException
from .serializer import encode
from .state import SessionBackend, SessionState
from .store import CREATED, GENERATION, REF, SEEN, USER, USER_AGENT

if TYPE_CHECKING:
    from ..context import Context
    from .watch import Closable

__all__ = [
    "FLASH_NEW",
    "FLASH_OLD",
    "TOKEN_KEY",
    "Session",
    "SessionUnavailable",
    "session_of",
]

FLASH_NEW: Final = "_flash.new"
FLASH_OLD: Final = "_flash.old"
_KEPT_ON_REGENERATE = frozenset({CREATED, USER, REF, USER_AGENT, SEEN, GENERATION})
TOKEN_KEY: Final = "_token"  # noqa: S105 (a key name, not a secret)

_MISSING: Final[Any] = object()


class SessionUnavailable(HTTPException):
    """503 with `Retry-After: 5`: the session store could not be reached."""

    def __init__(self) -> None:
        super().__init__(503, "Session store unavailable", {"Retry-After": "5"})


class Session:
    """The session of one request: a dict-like object with Laravel's methods.

    Built by `SessionManager.load`; never construct it yourself.
    """

    __slots__ = ("_backend", "_record", "_values", "state")

    def __init__(
        self,
        backend: SessionBackend,
        sid: str | None = None,
        record: dict[str, str] | None = None,
        *,
        unavailable: bool = False,
    ) -> None:
        """Wrap `record` (as loaded for `sid`), or start an empty new session."""
        self._backend = backend
        #: What this session and its manager share: id, record and flags.
        self.state = state = SessionState(sid, record, unavailable)
        # perf: the Record and the dict of values that every method reads
        self._record = state.record
        self._values = state.record.values

    # -- reading -------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value at `key` (a top-level key or a dot path), else `default`.

        `get("_flash." + key)` returns a flashed value, as `get(key)` does.
        """
        self._use()
        value = self._lookup(key)
        return default if value is _MISSING else value

    def has(self, key: str) -> bool:
        """Return True when `key` is present and not None."""
        self._use()
        value = self._lookup(key)
        return value is not _MISSING and value is not None

    def exists(self, key: str) -> bool:
        """Return True when `key` is present, even if its value is None."""
        self._use()
        return self._lookup(key) is not _MISSING

    def missing(self, key: str) -> bool:
        """Return True when `key` is absent."""
        return not self.exists(key)

    def all(self) -> dict[str, Any]:
        """Return a new dict of every top-level key (flash and token keys too)."""
        self._use()
        found = {key: self._lookup(key) for key in list(self._values)}
        return {key: value for key, value in found.items() if value is not _MISSING}

    def only(self, *keys: str) -> dict[str, Any]:
        """Return a dict of the given keys (dot paths allowed) that are present."""
        self._use()
        found = {key: self._lookup(key) for key in keys}
        return {key: value for key, value in found.items() if value is not _MISSING}

    # -- writing -------------------------------------------------------------

    def put(self, key: str | dict[str, Any], value: Any = None) -> None:
        """Store `value` at `key`, or every item of a dict given as `key`.

        Raises `TypeError` naming the key when the value cannot be stored and
        `ValueError` for keys starting with "__" or holding a lone surrogate.
        """
        self._use()
        items = key.items() if isinstance(key, dict) else [(key, value)]
        for name, item in items:
            self._set(name, item)

    def forget(self, *keys: str) -> None:
        """Remove the given keys (dot paths allowed); absent keys are ignored."""
        self._use()
        for key in keys:
            self._remove(key)

    def pull(self, key: str, default: Any = None) -> Any:
        """Remove `key` and return its value, or `default` when it is absent."""
        self._use()
        value = self._lookup(key)
        if value is _MISSING:
            return default
        self._remove(key)
        return value

    def flush(self) -> None:
        """Remove every key, flash data and CSRF token included."""
        self._use()
        self._values.clear()

    def increment(self, key: str, by: int | float = 1) -> Any:
        """Add `by` to the number at `key` (0 when absent) and return the result."""
        self._use()
        current = self._lookup(key)
        if current is _MISSING or current is None:
            current = 0
        if isinstance(current, bool) or not isinstance(current, int | float):
            raise TypeError(f"Session key {key!r} holds {type(current).__name__}, not a number")
        result = current + by
        self._set(key, result)
        return result

    def decrement(self, key: str, by: int | float = 1) -> Any:
        """Subtract `by` from the number at `key` (0 when absent); return the result."""
        return self.increment(key, -by)

    def push(self, key: str, value: Any) -> None:
        """Append `value` to the list at `key`, creating the list when absent."""
        self._use()
        current = self._lookup(key)
        if current is _MISSING or current is None:
            current = []
        if not isinstance(current, list):
            raise TypeError(f"Session key {key!r} holds {type(current).__name__}, not a list")
        current.append(value)
        self._set(key, current)

    # -- dict protocol -------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        self._use()
        value = self._lookup(key)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self.put(key, value)

    def __delitem__(self, key: str) -> None:
        if not self.exists(key):
            raise KeyError(key)
        self._remove(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.exists(key)

    def __len__(self) -> int:
        self._use()
        return len(self._values)

    def __iter__(self) -> Iterator[str]:
        self._use()
        return iter(list(self._values))

    def keys(self) -> list[str]:
        """Return the top-level keys (so `dict(session)` works)."""
        self._use()
        return list(self._values)

    def __repr__(self) -> str:
        if self.state.unavailable:
            return "<Session unavailable>"
        return f"<Session keys={list(self._values)!r}>"

    # -- flash ---------------------------------------------------------------

    def flash(self, key: str, value: Any = True) -> None:
        """Store `value` at `key` for this request and the next one only."""
        self.put(key, value)
        self._set_flash(FLASH_NEW, _union(self._flash_keys(FLASH_NEW), [key]))
        self._set_flash(FLASH_OLD, [k for k in self._flash_keys(FLASH_OLD) if k != key])

    def now(self, key: str, value: Any) -> None:
        """Store `value` at `key` for this request only."""
        self.put(key, value)
        self._set_flash(FLASH_OLD, _union(self._flash_keys(FLASH_OLD), [key]))

    def reflash(self) -> None:
        """Keep all current flash data for one more request."""
        self._use()
        old = self._flash_keys(FLASH_OLD)
        self._set_flash(FLASH_NEW, _union(self._flash_keys(FLASH_NEW), old))
        self._set_flash(FLASH_OLD, [])

    def flashes(self) -> dict[str, Any]:
        """This request's flash data: what the previous request flashed and what `now()`
        set, key -> value."""
        return {key: self.get(key) for key in self._flash_keys(FLASH_OLD)}

    def keep(self, *keys: str) -> None:
        """Keep only the given flash keys for one more request."""
        self._use()
        self._set_flash(FLASH_NEW, _union(self._flash_keys(FLASH_NEW), list(keys)))
        self._set_flash(FLASH_OLD, [k for k in self._flash_keys(FLASH_OLD) if k not in keys])

    # -- identity and persistence --------------------------------------------

    @property
    def id(self) -> str:
        """The session id (created on first use for a new session). Once read, the id
        names the session on the next request too: a session holding nothing but its
        CSRF token is then stored instead of being carried by its cookie."""
        self._use()
        state = self.state
        if state.id is None:
            state.id = self._backend.new_id()
        state.id_read = True
        return state.id

    @property
    def is_new(self) -> bool:
        """True when this request's cookie carried no live session."""
        self._use()
        return self.state.is_new

    @property
    def modified(self) -> bool:
        """True when saving now would change what the session holds (nested changes
        included); a token its cookie carried back unchanged is no change."""
        self._use()
        state = self.state
        if not state.exists:
            return bool(self._values) and self._values != state.carried
        changed, removed = self._record.diff()
        return bool(changed or removed)

    def token(self) -> str:
        """Return the CSRF token, creating it on first use."""
        self._use()
        token = self._lookup(TOKEN_KEY)
        if not isinstance(token, str) or not token:
            self.regenerate_token()
            token = self._values[TOKEN_KEY]
        return str(token)

    def regenerate_token(self) -> None:
        """Replace the CSRF token with a new random one."""
        self._use()
        self._put_top(TOKEN_KEY, secrets.token_urlsafe(32))

    @property
    def manager(self) -> SessionBackend:
        """The manager (a `SessionManager`: store and options) this session belongs to."""
        return self._backend

    async def regenerate(self) -> None:
        """Give the session a new id, keeping its data; the old record is
        deleted and the CSRF token rotated (call it at login)."""
        self._use()
        await self._backend.destroy(self)
        # Kept: the creation time (regenerating must not extend absolute_lifetime), and the
        # user with the device's ref and generation (the save indexes the new id, so logout
        # everywhere and user_sessions find it, unless the user logged out everywhere since).
        kept = {k: v for k, v in self._record.meta.items() if k in _KEPT_ON_REGENERATE}
        self._new_identity(kept.get(USER))
        for key, value in kept.items():
            self._record.set_meta(key, value)
        self.regenerate_token()

    async def invalidate(self) -> None:
        """Remove all data and give the session a new id; the old record is
        deleted (call it at logout)."""
        self._use()
        await self._backend.destroy(self)
        self._values.clear()
        self._new_identity()

    async def save(self) -> None:
        """Persist the changes now (the middleware also saves at the end)."""
        self._use()
        await self._backend.save(self)

    async def index_user(self, user_id: str | int, user_agent: str | None = None) -> None:
        """Save the session and index it under `user_id`, so that
        `SessionManager.destroy_user` can end it (logout everywhere) and
        `user_sessions` can list it (with `user_agent`)."""
        self._use()
        await self._backend.index_user(self, str(user_id), user_agent)

    async def destroy_user(self, user_id: str | int) -> None:
        """Destroy every session indexed under `user_id` (logout everywhere).

        Raises `NotImplementedError` on the cookie driver, which cannot do it.
        """
        self._use()
        await self._backend.destroy_user(user_id)

    def close_on_end(self, socket: Closable) -> Callable[[], None] | None:
        """Close `socket` (a `WebSocket`, or anything with its `close(code, reason)`)
        with code 4401, reason "Session ended", when this session ends: logout, logout
        everywhere, `logout(c, session=ref)`, regenerate (login too), idle or absolute
        expiry, or a destroy in the store, on whichever worker or host.

        Returns the function that stops watching (call it once the socket is done), or
        None when this session is not watched: not signed in, not stored, or kept in
        its cookie (the cookie driver). microweb calls it for every WebSocket it opens.
        """
        state = self.state
        if state.unavailable or not state.exists or state.id is None:
            return None
        meta = state.record.meta
        if USER not in meta:
            return None
        return self._backend.watch(state.id, _epoch(meta.get(CREATED)), socket)

    def age_flash(self) -> None:
        """Forget the flash data of this request and make what was flashed for the
        next one current. The manager calls it once, at the end of a request that
        used the session; do not call it yourself."""
        if FLASH_OLD not in self._values and FLASH_NEW not in self._values:
            return  # perf: most requests flash nothing
        for key in self._flash_keys(FLASH_OLD):
            self._remove(key)
        self._set_flash(FLASH_OLD, self._flash_keys(FLASH_NEW))
        self._values.pop(FLASH_NEW, None)

    # -- internals -----------------------------------------------------------

    def _use(self) -> None:
        state = self.state
        if state.unavailable:
            raise SessionUnavailable()
        state.accessed = True

    def _lookup(self, key: str) -> Any:
        if key in self._values:
            try:
                return self._record.value(key)
            except KeyError:
                return _MISSING
        head, dot, rest = key.partition(".")
        if not dot:
            return _MISSING
        if head in self._values:
            value = _dig(self._lookup(head), rest)
            if value is not _MISSING:
                return value
        if head == "_flash" and rest in self._flash_keys(FLASH_NEW) + self._flash_keys(FLASH_OLD):
            return self._lookup(rest)
        return _MISSING

    def _set(self, key: str, value: Any) -> None:
        head, dot, rest = key.partition(".")
        if not dot or key in self._values:
            self._put_top(key, value)
            return
        encode(head, value)  # fail before changing anything
        container = self._lookup(head)
        if not isinstance(container, dict):
            container = {}
        node = container
        *parents, last = rest.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[last] = value
        self._put_top(head, container)

    def _put_top(self, key: str, value: Any) -> None:
        if not isinstance(key, str) or not key:
            raise TypeError(f"Session keys must be non-empty strings, got {key!r}")
        if key.startswith("__"):
            raise ValueError(f"Session keys starting with '__' are reserved: {key!r}")
        if not key.isascii():
            try:
                key.encode()
            except UnicodeEncodeError:
                raise ValueError(
                    f"Session key {key!r} holds a lone surrogate, which no store can write as "
                    "a key name; use it as a value, or another key"
                ) from None
        text = encode(key, value)
        self._values[key] = value
        self._record.encoded_at_put(key, value, text)

    def _remove(self, key: str) -> None:
        if key in self._values:
            del self._values[key]
            return
        head, dot, rest = key.partition(".")
        if not dot or head not in self._values:
            return
        *parents, last = rest.split(".")
        node = _dig(self._lookup(head), ".".join(parents)) if parents else self._lookup(head)
        if isinstance(node, dict):
            node.pop(last, None)

    def _flash_keys(self, which: str) -> list[str]:
        if which not in self._values:
            return []
        try:
            keys = self._record.value(which)
        except KeyError:
            return []
        return [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []

    def _set_flash(self, which: str, keys: list[str]) -> None:
        if keys:
            self._put_top(which, keys)
        else:
            self._values.pop(which, None)

    def _new_identity(self, user_id: str | None = None) -> None:
        """Take a new id (one for `user_id`'s sessions when signed in); the next save
        writes the whole record under it."""
        self.state.new_identity(self._backend.new_id(user_id))


def _epoch(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _dig(value: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and _is_index(part, len(value)):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _is_index(part: str, length: int) -> bool:
    """True when `part` is an index into a list of `length` items, in ASCII digits ("²"
    and "٣" are no index; a run of 5000 digits is none either, and never meets int())."""
    return part.isascii() and part.isdigit() and len(part) <= 18 and int(part) < length


def _union(first: list[str], second: list[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def session_of(c: Context) -> Session:
    """The request's session; a clear error when `session()` middleware is missing."""
    session = c.get("session")
    if session is None:
        raise RuntimeError(
            "No session on this request: add app.use(session(...)) before login, logout, "
            "csrf() and the auth guards"
        )
    if not isinstance(session, Session):
        raise TypeError(f"c.get('session') is a {type(session).__name__}, not a Session")
    return session
