"""`SessionManager`: options, the store and the cookie, framework-free.

Rules:
- `load(cookie_value)` never fails a request: a bad cookie gives a new
  session, a store that is down gives an "unavailable" session that raises
  `SessionUnavailable` (503) when the handler uses it, with one log line.
- A cookie value is `sid` or, with `secret`, `sid.signature`; a tampered or
  unsigned value is dropped before any store lookup, and so is an id of the
  wrong shape. An id the store does not hold is never adopted.
- A new session holding nothing but its CSRF token (whose id no handler read)
  is not stored on a server-side driver: its cookie carries the token instead
  (`token_cookie`, which also holds its expiry rules), re-sent whenever the
  session is used. Such a cookie gives the next request a session that holds
  the token and is not new, and whose first save creates it in the store under
  a fresh id.
- Timeouts are enforced here and in the store: idle (`lifetime`, minutes, by
  the store's expiry) and absolute (`absolute_lifetime`, minutes since
  "__created"). An expired session is destroyed and treated as absent.
- `commit(session)` ends a request: ages flash data and saves when the
  session was used, and returns the headers to add. `Vary: Cookie` when it was
  used; `Set-Cookie` when a session exists (sliding Max-Age) or was written, or
  a used session holds only its token (the token cookie); an expired cookie
  when the request's live session now holds nothing (`invalidate()`, `flush()`).
- A logged-in session keeps its user index alive: meta "__user" names the
  user and "__uidx" when the index entry may expire; `load` renews the entry
  once that is closer than one idle lifetime.
- Two kinds of persistence, two classes: `SessionManager` keeps records in a
  server-side store (memory, file, Redis, SQL) and its cookie carries the id;
  `CookieSessionManager` (the cookie driver) carries the whole record in the
  cookie and has nothing to destroy, index, list or watch. `make_manager`
  picks by the store's `client_side`.
- `watch(sid, created, socket)` closes the socket when that session ends (a
  `SessionWatcher`, made on first use; see watch.py); shutdown stops it
  before the store closes. A store without `time_left` (one written before it
  existed) watches nothing, and says so once in the log.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections.abc import Callable
from typing import Any, ClassVar, Final

from itsdangerous import BadSignature, Signer
from mypy_extensions import mypyc_attr

from .drivers import make_store
from .options import SessionOptions
from .session_view import TOKEN_KEY, Session, SessionUnavailable
from .state import SessionState
from .store import (
    CREATED,
    GENERATION,
    REF,
    SEEN,
    USER,
    USER_AGENT,
    Change,
    SessionStore,
    is_valid_id,
)
from .token_cookie import TokenCookies, is_token
from .watch import Closable, SessionWatcher

__all__ = [
    "COOKIE_LIMIT",
    "CookieSessionManager",
    "SessionCookieTooLarge",
    "SessionManager",
    "make_manager",
]

logger = logging.getLogger("microweb.sessions")

COOKIE_LIMIT: Final = 4096
_ID: Final = "__id"
_USER_INDEX_UNTIL = "__uidx"
SEEN_RESOLUTION_S: Final = 60.0
MAX_USER_AGENT = 256
_VARY_COOKIE: Final = (b"vary", b"Cookie")
DEFAULT_OPTIONS = SessionOptions()


@mypyc_attr(native_class=False)  # mypyc compiles no subclass of RuntimeError
class SessionCookieTooLarge(RuntimeError):
    """The session cookie is over the 4096 bytes browsers keep."""


class SessionManager:
    """Everything about sessions that is not a framework, for the checked `options`
    (see `SessionOptions`; `driver` may also be a ready `SessionStore` instance), on
    a server-side store; `CookieSessionManager` is the cookie driver's. `make_manager`
    picks the one the store needs."""

    client_side: ClassVar[bool] = False

    def __init__(self, options: SessionOptions = DEFAULT_OPTIONS) -> None:
        self.options = options
        self.idle_s = options.idle_s
        self.absolute_s = options.absolute_s
        self.expire_on_close = options.expire_on_close
        self.cookie_name = options.cookie
        max_age = None if options.expire_on_close else math.ceil(self.idle_s)
        empty = options.set_cookie("", max_age=max_age)
        self._cookie_attributes = empty[len(self.cookie_name) + 1 :]  # "; Max-Age=...; ..."
        self._expired_cookie = options.set_cookie("", max_age=0)
        keys = options.keys
        signing_keys = [k.encode() if isinstance(k, str) else k for k in reversed(keys)]
        self._signer = Signer(signing_keys, salt="microweb.session.id") if keys else None
        self._token_cookies = TokenCookies(self.idle_s, self.absolute_s, self._signer)
        self.store = make_store(options)
        if self.store.client_side is not self.client_side:
            kind = "CookieSessionManager" if self.store.client_side else "SessionManager"
            raise TypeError(f"{type(self.store).__name__} needs a {kind}: use make_manager()")
        # The cookie is re-sent on every request that used the session, to slide its
        # Max-Age; with `expire_on_close` there is no Max-Age to slide.
        self._slides = not options.expire_on_close
        self._started = False
        self._start_lock: asyncio.Lock | None = None
        self._saving = _StoreErrors(self.store, "saving")
        self._destroying = _StoreErrors(self.store, "destroying a session")
        self._indexing = _StoreErrors(self.store, "indexing a session")
        self._destroying_user = _StoreErrors(self.store, "destroying a user's sessions")
        self._listing = _StoreErrors(self.store, "listing a user's sessions")
        self._watcher: SessionWatcher | None = None
        self._unwatchable_said = False  # logged that the store cannot watch sessions

    # -- lifecycle -----------------------------------------------------------

    async def startup(self) -> None:
        """Open the store (application startup)."""
        if not self._started:
            await self.store.open()
            self._started = True

    async def shutdown(self) -> None:
        """Stop watching sockets and close the store (application shutdown)."""
        if self._watcher is not None:
            await self._watcher.stop()
        if self._started:
            self._started = False
            await self.store.close()

    async def ensure_started(self) -> None:
        """Open the store now unless startup already did (apps without lifespan)."""
        if self._started:
            return
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            await self.startup()

    # -- per request ---------------------------------------------------------

    def new_id(self, user_id: str | None = None) -> str:
        """Return a fresh session id (for a session signed in as `user_id`, when given)."""
        return self.store.new_id(user_id)

    async def load(self, cookie_value: str | None) -> Session:
        """Return the session a request's cookie value names: the stored one,
        a new empty one, or an unavailable one when the store is down."""
        if not self._started:
            await self.ensure_started()
        if not cookie_value:
            return Session(self)
        sid = cookie_value if self._signer is None else self._unsign(cookie_value)
        if not is_valid_id(sid):
            return self._carried(sid)
        try:
            record = await self.store.load(sid, self.idle_s)
            # perf: the absolute_s test inline spares most requests a call
            if record is not None and self.absolute_s is not None and self._too_old(record):
                await self.store.destroy(sid)
                record = None
            if record is None:
                return Session(self)
            session = Session(self, sid, record)
            if USER in record:
                await self._renew_user_index(session.state)
        except self.store.unavailable_errors as exc:
            logger.error(
                "Session store unavailable, requests using the session answer 503: %s: %s",
                type(exc).__name__,
                exc,
            )
            return Session(self, unavailable=True)
        return session

    def _carried(self, value: str | None) -> Session:
        """The session a token cookie's (verified) `value` carries; a new empty one
        when it is not a live token cookie."""
        session = Session(self)
        carried = self._token_cookies.read(value) if value else None
        if carried is not None:
            session.state.carry({TOKEN_KEY: carried.token}, {CREATED: repr(carried.created)})
        return session

    async def commit(self, session: Session) -> list[tuple[bytes, bytes]]:
        """End the request of `session`: age flash data and save if it was used;
        return the headers to add to the response, as ASGI (name, value) pairs."""
        state = session.state
        if state.unavailable:
            return []
        headers: list[tuple[bytes, bytes]] = []
        if state.accessed:
            headers.append(_VARY_COOKIE)
            session.age_flash()
            if USER in state.record.meta:  # perf: most sessions are anonymous
                self._note_seen(state)
        if state.accessed or state.record.meta_dirty:
            # perf: deciding is synchronous; most requests have nothing to write
            # and skip the coroutine of `_write`.
            changes = self._changes(state)
            if changes is not None:
                await self._write(state, *changes)
        cookie = self._set_cookie(state)
        if cookie is not None:
            headers.append((b"set-cookie", cookie.encode("latin-1")))
        return headers

    async def save(self, session: Session) -> None:
        """Write the changes of `session` to the store (a new session with no
        data is not created). Raises `SessionUnavailable` when the store is down
        and `SessionCookieTooLarge` for a cookie over 4096 bytes."""
        state = session.state
        if state.unavailable:
            raise SessionUnavailable()
        changes = self._changes(state)
        if changes is not None:
            await self._write(state, *changes)

    def _changes(self, state: SessionState) -> tuple[dict[str, str], list[str]] | None:
        """What saving `state` writes, as `Record.diff` gives it; None for nothing.
        A new session gets its id and creation time here, once it has data."""
        record = state.record
        if not state.exists:
            if not record.values or self._in_token_cookie(state):
                return None
            if state.id is None:
                state.id = self.new_id(record.meta.get(USER))
            if CREATED not in record.meta:
                record.set_meta(CREATED, repr(time.time()))
        changed, removed = record.diff()
        return (changed, removed) if changed or removed else None

    async def _write(
        self, state: SessionState, changed: dict[str, str], removed: list[str]
    ) -> None:
        assert state.id is not None
        create = not state.exists
        user = state.record.meta.get(USER)
        # perf: a try block costs nothing until it catches; `with self._saving` would
        # add two calls (about 120 ns) to every request that writes.
        try:
            if create and user is not None:  # a login or a regenerate: index the new id
                saved = await self.store.save_signed_in(
                    state.id,
                    Change(changed, removed),
                    user_id=user,
                    idle_s=self.idle_s,
                    index_s=2 * self.idle_s,
                )
            else:
                change = Change(changed, removed)
                saved = await self.store.save(state.id, change, create=create, idle_s=self.idle_s)
        except self.store.unavailable_errors as exc:
            raise self._saving.unavailable(exc) from exc
        if not saved:
            # Destroyed meanwhile (logout), or its user logged out everywhere since it
            # was loaded: never bring it back.
            state.lost = True
            return
        state.saved(changed, removed)

    async def destroy(self, session: Session) -> None:
        """Delete the stored record of `session` (regenerate, invalidate)."""
        state = session.state
        if state.exists and state.id is not None:
            with self._destroying:
                await self.store.destroy(state.id)

    async def index_user(
        self, session: Session, user_id: str, user_agent: str | None = None
    ) -> None:
        """Save `session` and index it under `user_id` (for `destroy_user` and
        `user_sessions`), with an opaque ref and the user agent that logged in."""
        state = session.state
        record = state.record
        if not state.exists:
            # A fresh sign-in (login regenerated the id): the id of one of this user's
            # sessions, and the user's current generation, read when it is stored.
            state.id = self.new_id(user_id)
            record.drop_meta(GENERATION)
        record.set_meta(USER, user_id)
        record.set_meta(REF, secrets.token_urlsafe(16))
        record.set_meta(SEEN, repr(time.time()))
        if user_agent:
            record.set_meta(USER_AGENT, user_agent[:MAX_USER_AGENT])
        record.set_meta(_USER_INDEX_UNTIL, repr(time.time() + 2 * self.idle_s))
        created = not state.exists
        await self.save(session)  # indexes a session it creates
        if not created and state.exists and not state.lost:
            await self._index(state, user_id)

    async def _index(self, state: SessionState, user_id: str) -> None:
        assert state.id is not None
        with self._indexing:
            await self.store.index_user(user_id, state.id, 2 * self.idle_s)

    async def user_sessions(self, user_id: str) -> list[tuple[str, dict[str, str]]]:
        """The (id, record) of each live session of `user_id`. Raises
        `NotImplementedError` on the cookie driver, which keeps no list."""
        with self._listing:
            found = await self.store.user_sessions(user_id, self.idle_s)
        return [(s, r) for s, r in found if r.get(USER) == user_id and not self._too_old(r)]

    async def end(self, sid: str) -> None:
        """Destroy the session `sid` (one of a user's sessions, by `logout(session=ref)`)."""
        with self._destroying:
            await self.store.destroy(sid)

    async def destroy_user(self, user_id: str | int) -> None:
        """Destroy every session indexed under `user_id` (logout everywhere).
        Raises `NotImplementedError` on the cookie driver."""
        with self._destroying_user:
            await self.store.destroy_user(str(user_id))

    def watch(self, sid: str, created: float | None, socket: Closable) -> Callable[[], None] | None:
        """Close `socket` (code 4401) when session `sid`, created at epoch `created`,
        ends; return the function that stops watching it, or None on the cookie driver,
        whose sessions nothing on the server can end."""
        if self._watcher is None:
            if type(self.store).time_left is SessionStore.time_left:
                if not self._unwatchable_said:
                    self._unwatchable_said = True
                    logger.warning(
                        "The session store %s does not implement time_left(), so WebSockets "
                        "are not closed when their session ends",
                        type(self.store).__name__,
                    )
                return None
            self._watcher = SessionWatcher(self.store, self.idle_s, self.absolute_s)
        return self._watcher.watch(sid, created, socket)

    # -- helpers -------------------------------------------------------------

    def _note_seen(self, state: SessionState) -> None:
        """Record when a signed-in session (the caller checks "__user") was last used,
        to the minute: at most one extra write a minute per session, not one per request."""
        now = time.time()
        if now - _meta_time(state.record.meta, SEEN) >= SEEN_RESOLUTION_S:
            state.record.set_meta(SEEN, repr(now))

    def _unsign(self, value: str) -> str | None:
        """The session id a signed cookie value carries; None when it was tampered with."""
        assert self._signer is not None
        try:
            return self._signer.unsign(value).decode()
        except (BadSignature, UnicodeError):
            return None

    def _too_old(self, record: dict[str, str]) -> bool:
        if self.absolute_s is None:
            return False
        try:
            created = float(record[CREATED])
        except (KeyError, ValueError):
            return True
        return time.time() - created >= self.absolute_s

    async def _renew_user_index(self, state: SessionState) -> None:
        meta = state.record.meta
        user = meta.get(USER)
        if user is None or state.id is None:
            return
        now = time.time()
        if _meta_time(meta, _USER_INDEX_UNTIL) - now < self.idle_s:
            await self.store.index_user(user, state.id, 2 * self.idle_s)
            state.record.set_meta(_USER_INDEX_UNTIL, repr(now + 2 * self.idle_s))

    def _in_token_cookie(self, state: SessionState) -> bool:
        """True when `state`, not in the store, holds nothing but a CSRF token (and no
        handler read its id): its cookie carries the token, and nothing is stored."""
        values = state.record.values
        return (
            len(values) == 1
            and not state.id_read
            and is_token(values.get(TOKEN_KEY))
            and USER not in state.record.meta
        )

    def _set_cookie(self, state: SessionState) -> str | None:
        """Return the Set-Cookie value this response needs, or None."""
        if state.lost:
            return None
        if not state.exists:
            if state.accessed and self._in_token_cookie(state):
                return self._token_cookie(state)
            if (state.id_changed or state.accessed) and not state.is_new:
                return self._expired_cookie  # the cookie's session now holds nothing
            return None
        # A request that never touched the session sends no cookie (so static files
        # stay cacheable); one that did re-sends it to slide its Max-Age.
        sliding = state.accessed and self._slides
        if not (sliding or state.written or state.id_changed):
            return None
        assert state.id is not None
        if self.client_side:  # a class constant: the cookie driver's value is its record
            value = self._cookie_value(state)
        else:  # perf: inline, where a method would cost a call on most requests
            value = state.id if self._signer is None else self._signer.sign(state.id).decode()
        # perf: ids, signatures and the cookie driver's payload are URL-safe base64,
        # dots and "~", so the value needs no escaping and the attributes are prebuilt.
        header = f"{self.cookie_name}={value}{self._cookie_attributes}"
        if len(header) > COOKIE_LIMIT:
            raise SessionCookieTooLarge(
                f"The session cookie {self.cookie_name!r} is {len(header)} bytes, over the "
                f"{COOKIE_LIMIT}-byte limit browsers keep: store less in the session, or use "
                "a server-side driver (memory, file, redis)"
            )
        return header

    def _cookie_value(self, state: SessionState) -> str:
        """The cookie's value where it is more than the (signed) id: `CookieSessionManager`."""
        raise NotImplementedError

    def _token_cookie(self, state: SessionState) -> str:
        """The Set-Cookie of a session its cookie carries (`_in_token_cookie`)."""
        record = state.record
        created = _meta_time(record.meta, CREATED) or time.time()
        value = self._token_cookies.write(record.values[TOKEN_KEY], created)
        return f"{self.cookie_name}={value}{self._cookie_attributes}"


class CookieSessionManager(SessionManager):
    """The manager of a client-side store (the cookie driver): the whole record
    travels in the cookie, so there is no store to write, index, list or watch."""

    client_side: ClassVar[bool] = True

    def __init__(self, options: SessionOptions) -> None:
        super().__init__(options)
        self._slides = True  # the record itself is in the cookie: re-send it when used

    async def load(self, cookie_value: str | None) -> Session:
        if not self._started:
            await self.ensure_started()
        if not cookie_value:
            return Session(self)
        record = self.store.decode_cookie(cookie_value, self.idle_s)
        sid = record.pop(_ID, None) if record is not None else None
        if record is None or not is_valid_id(sid) or self._too_old(record):
            return Session(self)
        return Session(self, sid, record)

    async def _write(
        self, state: SessionState, changed: dict[str, str], removed: list[str]
    ) -> None:
        state.saved(changed, removed)
        self._set_cookie(state)  # fail here, where the caller sees it

    async def destroy(self, session: Session) -> None:
        return None  # nothing is stored: the next cookie replaces the old one

    async def index_user(
        self, session: Session, user_id: str, user_agent: str | None = None
    ) -> None:
        return None

    async def user_sessions(self, user_id: str) -> list[tuple[str, dict[str, str]]]:
        raise NotImplementedError(
            "The cookie driver keeps no sessions on the server, so it cannot list them"
        )

    def watch(self, sid: str, created: float | None, socket: Closable) -> Callable[[], None] | None:
        return None

    def _note_seen(self, state: SessionState) -> None:
        return None

    def _in_token_cookie(self, state: SessionState) -> bool:
        return False  # the cookie holds the whole record, token included

    def _cookie_value(self, state: SessionState) -> str:
        assert state.id is not None
        return self.store.encode_cookie({**state.record.full(), _ID: state.id})


def make_manager(options: SessionOptions = DEFAULT_OPTIONS) -> SessionManager:
    """The manager for `options`: a `CookieSessionManager` for a client-side store."""
    if isinstance(options.driver, SessionStore):
        client_side = options.driver.client_side
    else:
        client_side = options.driver == "cookie"
    return CookieSessionManager(options) if client_side else SessionManager(options)


class _StoreErrors:
    """`with` block turning the store's "backend down" errors into
    `SessionUnavailable` (503), with one log line naming what failed."""

    __slots__ = ("doing", "errors")

    def __init__(self, store: SessionStore, doing: str) -> None:
        self.errors = store.unavailable_errors
        self.doing = doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _: Any) -> None:
        if exc is not None and isinstance(exc, self.errors):
            raise self.unavailable(exc) from exc

    def unavailable(self, exc: BaseException) -> SessionUnavailable:
        """Log that the store failed with `exc`; return the 503 to raise, caused by `exc`
        (set here: the compiled build drops the `from` of `raise ... from exc`)."""
        name = type(exc).__name__
        logger.error("Session store unavailable while %s: %s: %s", self.doing, name, exc)
        error = SessionUnavailable()
        error.__cause__ = exc
        return error


def _meta_time(meta: dict[str, str], key: str) -> float:
    """The epoch seconds in meta field `key`; 0 when it is absent or not a number."""
    try:
        return float(meta.get(key, "0"))
    except ValueError:
        return 0.0
