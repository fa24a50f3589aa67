"""The interface every session store implements, and helpers they share.

Rules:
- A record is a `dict[str, str]`: each top-level session key maps to its
  tagged-JSON string (see `serializer`), and meta fields start with "__"
  (`"__created"`: creation time as epoch seconds).
- `save` MERGES: it writes only the changed keys and deletes only the removed
  ones, atomically, so concurrent requests changing different keys both
  persist. With `create=False` it writes nothing and returns False when the
  record is gone: a session destroyed concurrently is never brought back.
- `load` also counts as activity: it slides the idle expiry in the same step.
- Ids reaching a store have been validated by `is_valid_id`; stores that build
  paths or keys from them check again anyway, with `checked_id`. An id is 43
  random url-safe characters, optionally followed by `~` and a 6-hex-digit tag
  that a store may add to the ids of a user's sessions (`new_id(user_id)`): the
  Redis store puts all of one user's keys in one Cluster slot that way.
- `save_signed_in` creates a signed-in record and indexes it under its user in
  one step where the backend allows it, so logout everywhere cannot miss it.
- A store raises whatever its backend raises when the backend is down; the
  manager turns that into `SessionUnavailable`.

Ended sessions (how WebSockets end with their session; see `watch.py`):
- A signed-in session (a record with `"__user"`) may have sockets open on any
  worker or host. Each worker's watcher asks its store for two things:
  `endings()`, a feed of ended sessions (`endings.Endings`), and
  `time_left(sids)`, each session's seconds to its idle expiry (read without
  sliding it), which it calls at a session's deadline, after a gap in the feed
  and, for stores without a feed, every `check_every` seconds.
- A store with a feed announces on it, once the record is gone, the `end_key` of
  every signed-in session it destroys: by `destroy`, by `destroy_user`, by
  eviction. Anonymous sessions need no announcement (no socket is watched for
  them); expiry needs none (the watcher's timer re-checks at the deadline).
  Announce in the same step as the delete where the backend allows it (the
  Redis store's scripts PUBLISH), so a destroy is never left unannounced.
- The wire carries `end_key(sid)`, never the id: the first 32 hex digits of
  SHA-256 over `"microweb.session.ended:" + sid` (UTF-8), which SQL computes as
  `left(encode(sha256(convert_to('microweb.session.ended:' || id, 'UTF8')), 'hex'), 32)`.
- A store that does not implement `time_left` is not watched: its sockets stay
  open after their session ends, and the manager logs that once.
- Memory: the feed is a `Broadcast()` in the process. Redis: PUBLISH on
  `prefix + "ended"` from the delete scripts, heard through a
  `microweb.broadcast` relay (one pub/sub connection per process, opened when
  the first socket is watched). File: no feed; each worker checks its watched
  sessions (`check_every`, 0.5 s: one `stat` per session). PostgreSQL and
  SQLite: no feed either; the check is one `SELECT` of the watched rows' expiry.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Final, TypeGuard, final

from mypy_extensions import mypyc_attr

if TYPE_CHECKING:
    from .endings import Endings

__all__ = [
    "CREATED",
    "GENERATION",
    "REF",
    "SEEN",
    "USER",
    "USER_AGENT",
    "Change",
    "SessionStore",
    "checked_id",
    "end_key",
    "is_valid_id",
    "new_id",
]

CREATED: Final = "__created"
USER: Final = "__user"  # meta field: the user a session is indexed under
REF = "__ref"  # meta field: the opaque handle `user_sessions` shows instead of the id
USER_AGENT = "__ua"  # meta field: the User-Agent that logged in
SEEN: Final = "__seen"  # meta field: when the session was last used (epoch seconds, to a minute)
GENERATION = "__gen"  # meta field: the user's logout-everywhere count when it was signed in

# secrets.token_urlsafe(32): 32 random bytes (256 bits) -> 43 url-safe characters
# ([A-Za-z0-9_-]), then optionally a store's tag: "~" and 6 lowercase hex digits.
_ID_LENGTH: Final = 43
_TAG_LENGTH: Final = 6
_HEX_DIGITS: Final = frozenset("0123456789abcdef")
TAG_SEPARATOR: Final = "~"


def new_id(tag: str | None = None) -> str:
    """Return a fresh session id: 256 random bits, 43 url-safe characters, then `~tag`
    when a `tag` (6 lowercase hex digits) is given."""
    sid = secrets.token_urlsafe(32)
    return sid if tag is None else f"{sid}{TAG_SEPARATOR}{tag}"


def is_valid_id(sid: object) -> TypeGuard[str]:
    """Return True when `sid` has the exact shape `new_id` produces."""
    # perf: str methods, not a regex: a fullmatch costs about 3,000 instructions a
    # request in the compiled build (its match state and Match object), this a tenth.
    if not isinstance(sid, str) or not sid.isascii():
        return False
    if len(sid) != _ID_LENGTH:
        if len(sid) != _ID_LENGTH + 1 + _TAG_LENGTH or sid[_ID_LENGTH] != TAG_SEPARATOR:
            return False
        for digit in sid[_ID_LENGTH + 1 :]:
            if digit not in _HEX_DIGITS:
                return False
        sid = sid[:_ID_LENGTH]
    # ASCII and, once "-" and "_" are letters, alphanumeric: exactly [A-Za-z0-9_-].
    return sid.replace("-", "a").replace("_", "a").isalnum()


def end_key(sid: str) -> str:
    """What announces the end of session `sid`: 32 hex digits of SHA-256 over
    "microweb.session.ended:" + `sid`. One-way, so the wire never carries a credential."""
    return hashlib.sha256(b"microweb.session.ended:" + sid.encode()).hexdigest()[:32]


def checked_id(sid: object) -> str:
    """Return `sid` when `is_valid_id(sid)`; raise `ValueError` naming it otherwise."""
    if not is_valid_id(sid):
        raise ValueError(f"Invalid session id: {sid!r}")
    return sid


@final
class Change:
    """What a save writes: the changed fields (name -> encoded value) and the names
    of the removed ones."""

    # perf: a plain class, not a NamedTuple, whose __new__ is Python code run on every
    # save (about 2,000 instructions a request in the compiled build).
    __slots__ = ("changed", "removed")

    def __init__(self, changed: dict[str, str], removed: Sequence[str] = ()) -> None:
        self.changed = changed
        self.removed = removed

    def __repr__(self) -> str:
        return f"Change(changed={self.changed!r}, removed={self.removed!r})"


# Subclassed by applications and by microweb's interpreted modules: the compiled build
# allows subclasses written in Python.
@mypyc_attr(allow_interpreted_subclasses=True)
class SessionStore:
    """Base class of session stores. Subclass it and implement every method.

    `unavailable_errors` lists what the backend raises when it is down.
    `client_side` is True for a store that keeps the record in the cookie
    itself (the cookie driver); the manager then asks it to `encode_cookie`
    and `decode_cookie` instead of calling `load` and `save`.
    """

    client_side: ClassVar[bool] = False
    #: Errors meaning "the backend cannot be reached now" (-> 503, not 500).
    unavailable_errors: ClassVar[tuple[type[BaseException], ...]] = (OSError,)
    #: Seconds between a watcher's checks of its watched sessions when `endings()` is None.
    check_every: ClassVar[float] = 0.5

    async def open(self) -> None:
        """Open connections or folders; called once at application startup."""

    async def close(self) -> None:
        """Release what `open` acquired; called once at application shutdown."""

    async def load(self, sid: str, idle_s: float) -> dict[str, str] | None:
        """Return the record of `sid` and extend its idle expiry to `idle_s`
        seconds from now, or None when there is no live record."""
        raise NotImplementedError

    async def save(self, sid: str, change: Change, *, create: bool, idle_s: float) -> bool:
        """Merge `change.changed` into the record of `sid` and delete the
        `change.removed` fields, atomically, and set its idle expiry to `idle_s` seconds.

        Returns False, writing nothing, when the record does not exist and
        `create` is False; True otherwise.
        """
        raise NotImplementedError

    async def destroy(self, sid: str) -> None:
        """Delete the record of `sid`, if there is one."""
        raise NotImplementedError

    def new_id(self, user_id: str | None = None) -> str:
        """A fresh id for a session; `user_id` when it is created signed in (a store may
        tag the ids of one user's sessions)."""
        return new_id()

    async def save_signed_in(
        self, sid: str, change: Change, *, user_id: str, idle_s: float, index_s: float
    ) -> bool:
        """Create the record of `sid`, signed in as `user_id`, and index it under that user
        for `index_s` seconds (a login, or a regenerate of a signed-in session).

        Returns False, writing nothing, when the user logged out everywhere since the
        session was loaded (its `GENERATION` field, when the change carries one, is stale).
        Stores that can should do this atomically; this default saves, then indexes.
        """
        if not await self.save(sid, change, create=True, idle_s=idle_s):
            return False
        await self.index_user(user_id, sid, index_s)
        return True

    async def index_user(self, user_id: str, sid: str, idle_s: float) -> None:
        """Remember that `sid` belongs to `user_id`; the index entry must live
        at least `idle_s` seconds. Dead entries may be pruned here."""
        raise NotImplementedError

    async def destroy_user(self, user_id: str) -> None:
        """Destroy every session indexed under `user_id`, and the index."""
        raise NotImplementedError

    async def user_sessions(self, user_id: str, idle_s: float) -> list[tuple[str, dict[str, str]]]:
        """The (id, record) of every live session indexed under `user_id`. Listing is not
        activity: it must not extend any session's idle expiry."""
        raise NotImplementedError

    def endings(self) -> Endings | None:
        """The feed on which this store announces ended sessions to every process, or
        None when it has none (its watchers then check `time_left` every `check_every`
        seconds). Opens no connection until listened to."""
        return None

    async def time_left(self, sids: Sequence[str], idle_s: float) -> list[float | None]:
        """For each id in `sids`, the seconds until it expires idle (`math.inf` when it
        never does), or None when it is gone (destroyed, expired, never stored). A check,
        not activity: it must not extend any session's idle expiry."""
        raise NotImplementedError

    def encode_cookie(self, record: dict[str, str]) -> str:
        """Client-side stores only: return the cookie value holding `record`."""
        raise NotImplementedError

    def decode_cookie(self, value: str, idle_s: float) -> dict[str, str] | None:
        """Client-side stores only: return the record in a cookie value, or None
        when it is tampered with or older than `idle_s` seconds."""
        raise NotImplementedError
