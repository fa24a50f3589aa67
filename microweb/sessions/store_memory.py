"""`MemoryStore`: sessions in a dict of this process (development, tests,
single-process apps).

Rules:
- No method awaits between reading and writing the dicts, so each operation
  is atomic on the event loop: concurrent merges cannot lose keys.
- Signed-in sessions (a record with "__user") and anonymous ones are kept in
  two tables, each in least-recently-used order; a session moves to the
  signed-in table when a save gives it a user. Past `max_sessions` records in
  all, the least recently used ANONYMOUS one goes; a signed-in session goes
  only when signed-in sessions alone are over `max_sessions`. So anonymous
  traffic, however much, never evicts a signed-in user.
- Expired entries are dropped when met, and by a sweep from the old end of
  each table on an access once the oldest may have expired (it stops at the
  first live entry).
- Records are copied in and out, so a caller never shares a dict with the store.
- A signed-in session that is destroyed or evicted is announced on `endings()`,
  a `Broadcast()` in this process, once it is gone (after the dicts are
  written); nothing is published while no socket is watched.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Sequence

from mypy_extensions import mypyc_attr

from ..broadcast import Broadcast
from .endings import BusEndings
from .store import USER, Change, SessionStore, end_key

__all__ = ["MemoryStore"]


class _Entry:
    __slots__ = ("expires", "record")

    def __init__(self, record: dict[str, str], expires: float) -> None:
        self.record = record
        self.expires = expires


_Table = OrderedDict[str, _Entry]


# Subclassed by applications and by microweb's interpreted modules: the compiled build
# allows subclasses written in Python.
@mypyc_attr(allow_interpreted_subclasses=True)
class MemoryStore(SessionStore):
    """Keep sessions in memory; at most `max_sessions` of them, anonymous ones
    evicted first."""

    def __init__(self, max_sessions: int = 100_000) -> None:
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be at least 1, got {max_sessions}")
        self.max_sessions = max_sessions
        self._anonymous: _Table = OrderedDict()
        self._signed_in: _Table = OrderedDict()
        self._users: dict[str, set[str]] = {}
        self._sweep_at = math.inf  # no entry expires before this (a lower bound)
        self._endings = BusEndings(Broadcast, "ended")

    def __len__(self) -> int:
        """Return how many sessions are held (expired ones not yet swept included)."""
        return len(self._anonymous) + len(self._signed_in)

    @property
    def signed_in(self) -> int:
        """How many of the sessions held are signed in."""
        return len(self._signed_in)

    async def load(self, sid: str, idle_s: float) -> dict[str, str] | None:
        entry = self._live(sid)
        if entry is None:
            return None
        self._refresh(entry, idle_s)
        return dict(entry.record)

    async def save(self, sid: str, change: Change, *, create: bool, idle_s: float) -> bool:
        entry = self._live(sid)
        changed = change.changed
        if entry is None:
            if not create:
                return False
            entry = _Entry({}, 0.0)
            (self._signed_in if USER in changed else self._anonymous)[sid] = entry
        elif USER in changed and sid in self._anonymous:  # signed in without a new id
            self._signed_in[sid] = self._anonymous.pop(sid)
        entry.record.update(changed)
        for key in change.removed:
            entry.record.pop(key, None)
        self._refresh(entry, idle_s)
        if len(self._anonymous) + len(self._signed_in) > self.max_sessions:
            evicted = self._evict()
            if evicted:
                await self._endings.announce([end_key(s) for s in evicted])
        return True

    async def destroy(self, sid: str) -> None:
        if self._anonymous.pop(sid, None) is None and self._signed_in.pop(sid, None) is not None:
            await self._endings.announce([end_key(sid)])

    async def index_user(self, user_id: str, sid: str, idle_s: float) -> None:
        held = self._users.get(user_id, ())
        # perf: prunes by the user's own ids, never a pass over every session
        sids = {s for s in held if s in self._signed_in or s in self._anonymous}
        sids.add(sid)
        self._users[user_id] = sids

    async def destroy_user(self, user_id: str) -> None:
        ended = []
        for sid in self._users.pop(user_id, ()):
            if self._anonymous.pop(sid, None) is None and sid in self._signed_in:
                del self._signed_in[sid]
                ended.append(end_key(sid))
        await self._endings.announce(ended)

    def endings(self) -> BusEndings:
        return self._endings

    async def close(self) -> None:
        await self._endings.close()

    async def time_left(self, sids: Sequence[str], idle_s: float) -> list[float | None]:
        now = time.monotonic()
        left: list[float | None] = []
        for sid in sids:
            entry = self._signed_in.get(sid) or self._anonymous.get(sid)
            left.append(entry.expires - now if entry is not None and entry.expires > now else None)
        return left

    async def user_sessions(self, user_id: str, idle_s: float) -> list[tuple[str, dict[str, str]]]:
        now = time.monotonic()
        found = []
        for sid in self._users.get(user_id, ()):
            entry = self._signed_in.get(sid) or self._anonymous.get(sid)
            if entry is not None and entry.expires > now:
                found.append((sid, dict(entry.record)))
        return found

    def _evict(self) -> list[str]:
        """Drop least recently used sessions until at most `max_sessions` are held:
        anonymous ones while there are any, then signed-in ones (whose ids it returns)."""
        anonymous, signed_in = self._anonymous, self._signed_in
        evicted = []
        while len(anonymous) + len(signed_in) > self.max_sessions:
            if anonymous:
                anonymous.popitem(last=False)
            else:
                evicted.append(signed_in.popitem(last=False)[0])
        return evicted

    def _refresh(self, entry: _Entry, idle_s: float) -> None:
        entry.expires = time.monotonic() + idle_s
        if entry.expires < self._sweep_at:
            self._sweep_at = entry.expires

    def _sweep(self, now: float) -> None:
        # perf: LRU order is also expiry order for one idle time, so the sweep of
        # each table stops at its first live entry, and need not run before it expires.
        self._sweep_at = math.inf
        for entries in (self._anonymous, self._signed_in):
            while entries:
                oldest = next(iter(entries.values()))
                if oldest.expires > now:
                    self._sweep_at = min(self._sweep_at, oldest.expires)
                    break
                entries.popitem(last=False)

    def _live(self, sid: str) -> _Entry | None:
        """Return the live entry of `sid`, marked most recently used, after a sweep."""
        now = time.monotonic()
        if now >= self._sweep_at:
            self._sweep(now)
        entries = self._anonymous
        entry = entries.get(sid)
        if entry is None:
            entries = self._signed_in
            entry = entries.get(sid)
            if entry is None:
                return None
        if entry.expires <= now:
            del entries[sid]
            return None
        entries.move_to_end(sid)
        return entry
