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
from collections.abc import Callable, Sequence
from typing import Any

from itsdangerous import BadSignature, Signer
from mypy_extensions import mypyc_attr

from ..cookies import serialize_cookie
from .drivers import make_store
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

__all__ = ["COOKIE_LIMIT", "SessionCookieTooLarge", "SessionManager"]

logger = logging.getLogger("microweb.sessions")

COOKIE_LIMIT = 4096
_ID = "__id"
_USER_INDEX_UNTIL = "__uidx"
SEEN_RESOLUTION_S = 60.0
MAX_USER_AGENT = 256
_VARY_COOKIE = (b"vary", b"Cookie")


@mypyc_attr(native_class=False)  # mypyc compiles no subclass of RuntimeError
class SessionCookieTooLarge(RuntimeError):
    """The session cookie is over the 4096 bytes browsers keep."""


class SessionManager:
    """Everything about sessions that is not a framework: see the options
    table of the Sessions section in the docs. `driver` may also be a ready
    `SessionStore` instance."""

    def __init__(
        self,
        *,
        driver: str | SessionStore = "memory",
        lifetime: float = 120,
        absolute_lifetime: float | None = None,
        expire_on_close: bool = False,
        cookie: str = "microweb_session",
        path: str = "/",
        domain: str | None = None,
        secure: bool = True,
        http_only: bool = True,
        same_site: str = "lax",
        secret: str | bytes | Sequence[str | bytes] | None = None,
        url: str | None = None,
        client: Any = None,
        directory: str = ".sessions",
        prefix: str = "microweb:session:",
        max_sessions: int = 100_000,
        durable: bool = False,
        durable_timeout: float = 1.0,
        table: str = "microweb_sessions",
        create_tables: bool = True,
        sweep_every: float = 300,
    ) -> None:
        _check_positive("lifetime", lifetime)
        if absolute_lifetime is not None:
            _check_positive("absolute_lifetime", absolute_lifetime)
        if not same_site:  # serialize_cookie would leave SameSite out
            raise ValueError(
                f"The session cookie needs a SameSite attribute: same_site must be 'lax', "
                f"'strict' or 'none', got {same_site!r}"
            )
        # serialize_cookie checks the cookie's name and options (ValueError).
        options: dict[str, Any] = {
            "path": path,
            "domain": domain,
            "secure": secure,
            "http_only": http_only,
            "same_site": same_site,
        }
        self.idle_s = lifetime * 60.0
        self.absolute_s = None if absolute_lifetime is None else absolute_lifetime * 60.0
        self.expire_on_close = expire_on_close
        self.cookie_name = cookie
        max_age = None if expire_on_close else math.ceil(self.idle_s)
        empty = serialize_cookie(cookie, "", max_age=max_age, **options)
        self._cookie_attributes = empty[len(cookie) + 1 :]  # "; Max-Age=...; Path=/; ..."
        self._expired_cookie = serialize_cookie(cookie, "", max_age=0, **options)
        keys = _secret_keys(secret)
        signing_keys = [k.encode() if isinstance(k, str) else k for k in reversed(keys)]
        self._signer = Signer(signing_keys, salt="microweb.session.id") if keys else None
        self._token_cookies = TokenCookies(self.idle_s, self.absolute_s, self._signer)
        self.store = make_store(
            driver,
            keys=keys,
            idle_s=self.idle_s,
            url=url,
            client=client,
            directory=directory,
            prefix=prefix,
            max_sessions=max_sessions,
            durable=durable,
            durable_timeout=durable_timeout,
            table=table,
            create_tables=create_tables,
            sweep_every=sweep_every,
        )
        self._client_side = self.store.client_side  # perf: read several times a request
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
        if self._client_side:
            record = self.store.decode_cookie(cookie_value, self.idle_s)
            sid = record.pop(_ID, None) if record is not None else None
            if record is None or not is_valid_id(sid) or self._too_old(record):
                return Session(self)
            return Session(self, sid, record)
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
        if self._client_side:
            state.saved(changed, removed)
            self._set_cookie(state)  # fail here, where the caller sees it
            return
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
        if state.exists and state.id is not None and not self._client_side:
            with self._destroying:
                await self.store.destroy(state.id)

    async def index_user(
        self, session: Session, user_id: str, user_agent: str | None = None
    ) -> None:
        """Save `session` and index it under `user_id` (for `destroy_user` and
        `user_sessions`), with an opaque ref and the user agent that logged in."""
        if self._client_side:
            return
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
        if self._client_side:
            raise NotImplementedError(
                "The cookie driver keeps no sessions on the server, so it cannot list them"
            )
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
        if self._client_side:
            return None
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
        if self._client_side:
            return
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
            and not self._client_side
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
        sliding = state.accessed and (self._client_side or not self.expire_on_close)
        if not (sliding or state.written or state.id_changed):
            return None
        assert state.id is not None
        if self._client_side:
            value = self.store.encode_cookie({**state.record.full(), _ID: state.id})
        elif self._signer is not None:
            value = self._signer.sign(state.id).decode()
        else:
            value = state.id
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

    def _token_cookie(self, state: SessionState) -> str:
        """The Set-Cookie of a session its cookie carries (`_in_token_cookie`)."""
        record = state.record
        created = _meta_time(record.meta, CREATED) or time.time()
        value = self._token_cookies.write(record.values[TOKEN_KEY], created)
        return f"{self.cookie_name}={value}{self._cookie_attributes}"


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
        """Log that the store failed with `exc`; return the 503 to raise."""
        name = type(exc).__name__
        logger.error("Session store unavailable while %s: %s: %s", self.doing, name, exc)
        return SessionUnavailable()


def _meta_time(meta: dict[str, str], key: str) -> float:
    """The epoch seconds in meta field `key`; 0 when it is absent or not a number."""
    try:
        return float(meta.get(key, "0"))
    except ValueError:
        return 0.0


def _check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a positive number of minutes, got {value!r}")


def _secret_keys(secret: str | bytes | Sequence[str | bytes] | None) -> list[str | bytes]:
    if secret is None:
        return []
    keys: list[str | bytes] = [secret] if isinstance(secret, str | bytes) else list(secret)
    if not keys or not all(isinstance(k, str | bytes) and k for k in keys):
        raise ValueError("secret must be a non-empty key or a list of keys, newest first")
    return keys
