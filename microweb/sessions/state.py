"""What a `Session` and the `SessionManager` that built it share.

Rules:
- `SessionState` is the one place both sides read and write: the `Session`
  holds it as `session.state` and changes it through its methods, the manager
  reads it to decide what to save and which cookie to send. Neither side
  touches the other's private names.
- Each field has one meaning for the whole request (see `SessionState`);
  the transitions that move several fields together are its methods, so
  they happen in one place.
- `SessionBackend` is what a `Session` and `auth` call on its manager: ids,
  saving, deleting, user indexes and lists, ending one session, watching
  sockets. `SessionManager` implements it; the manager in turn
  calls one public `Session` method, `age_flash`, at the end of a request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from .record import Record

if TYPE_CHECKING:
    from .session_view import Session
    from .watch import Closable

__all__ = ["SessionBackend", "SessionState"]


class SessionState:
    """The id, the record and the flags of one session during one request.

    - `id`: the session id; None for a new session until its id is first
      needed (`Session.id` or the first save).
    - `record`: the `Record` holding the data and meta fields.
    - `exists`: the store holds a record under `id` (loaded, or saved since).
    - `is_new`: the request's cookie carried no live session; never changes.
    - `carried`: the values the cookie carried itself (a session that held
      nothing but its CSRF token, kept out of the store), else None.
    - `id_read`: a handler read `Session.id` since the id was set, so the
      session is stored even if it holds nothing but its token: the id it saw
      must name it on the next request.
    - `unavailable`: the store was down at load; every use raises 503.
    - `accessed`: a `Session` method ran (the response varies on Cookie, and
      the session is saved and its cookie re-sent at the end).
    - `written`: a save wrote the record in this request (its cookie is sent).
    - `lost`: a save found the record gone (a concurrent logout): nothing more
      is written and no cookie is sent.
    - `id_changed`: `regenerate` or `invalidate` gave it a new id.
    """

    __slots__ = (
        "accessed",
        "carried",
        "exists",
        "id",
        "id_changed",
        "id_read",
        "is_new",
        "lost",
        "record",
        "unavailable",
        "written",
    )

    def __init__(
        self,
        sid: str | None = None,
        record: dict[str, str] | None = None,
        unavailable: bool = False,
    ) -> None:
        """The state of `record` as loaded for `sid`, or of a new empty session."""
        self.id = sid
        self.record = Record(record)
        self.exists = record is not None
        self.is_new = record is None
        self.unavailable = unavailable
        self.accessed = False
        self.written = False
        self.lost = False
        self.id_changed = False
        self.id_read = False
        self.carried: dict[str, Any] | None = None

    def carry(self, values: dict[str, Any], meta: dict[str, str]) -> None:
        """Hold the `values` and `meta` fields a cookie carried instead of an id: the
        cookie held a live session (not new), but nothing is stored (the first save
        writes it all)."""
        self.is_new = False
        self.carried = values
        self.record.values.update(values)
        for key, value in meta.items():
            self.record.set_meta(key, value)

    def saved(self, changed: dict[str, str], removed: list[str]) -> None:
        """Record that a save stored `changed` and deleted `removed` (from `Record.diff`)."""
        self.record.saved(changed, removed)
        self.exists = True
        self.written = True

    def new_identity(self, sid: str) -> None:
        """Move to the new id `sid`: nothing is stored under it yet, so the next
        save writes the whole record."""
        self.record.forget_stored()
        self.id = sid
        self.id_changed = True
        self.id_read = False
        self.exists = False
        self.lost = False


class SessionBackend(Protocol):
    """What a `Session` calls on the object that built it (a `SessionManager`)."""

    def new_id(self, user_id: str | None = None) -> str:
        """A fresh session id (for a session signed in as `user_id`, when given)."""
        ...

    async def save(self, session: Session) -> None:
        """Write the changes of `session` now."""
        ...

    async def destroy(self, session: Session) -> None:
        """Delete the stored record of `session` (before it takes a new id)."""
        ...

    async def index_user(
        self, session: Session, user_id: str, user_agent: str | None = None
    ) -> None:
        """Save `session` and index it under `user_id`."""
        ...

    async def destroy_user(self, user_id: str | int) -> None:
        """Destroy every session indexed under `user_id`."""
        ...

    async def user_sessions(self, user_id: str) -> list[tuple[str, dict[str, str]]]:
        """The (id, record) of each live session of `user_id`."""
        ...

    async def end(self, sid: str) -> None:
        """Destroy the session `sid` (one of a user's sessions)."""
        ...

    def watch(self, sid: str, created: float | None, socket: Closable) -> Callable[[], None] | None:
        """Close `socket` when session `sid` ends; the function that stops watching."""
        ...
