"""`MemoryStore`: sessions in a dict of this process (development, tests,
single-process apps).

Rules:
- No method awaits between reading and writing the dict, so each operation
  is atomic on the event loop: concurrent merges cannot lose keys.
- Entries are kept in least-recently-used order. Expired entries are dropped
  when met and by a sweep from the old end on an access once the oldest may
  have expired (it stops at the first live entry). Past `max_sessions`, the
  least recently used go.
- Records are copied in and out, so a caller never shares a dict with the store.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict

from .store import Change, SessionStore

__all__ = ["MemoryStore"]


class _Entry:
    __slots__ = ("expires", "record")

    def __init__(self, record: dict[str, str], expires: float) -> None:
        self.record = record
        self.expires = expires


class MemoryStore(SessionStore):
    """Keep sessions in memory; at most `max_sessions` of them."""

    def __init__(self, max_sessions: int = 100_000) -> None:
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be at least 1, got {max_sessions}")
        self.max_sessions = max_sessions
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._users: dict[str, set[str]] = {}
        self._sweep_at = math.inf  # no entry expires before this (a lower bound)

    def __len__(self) -> int:
        """Return how many sessions are held (expired ones not yet swept included)."""
        return len(self._entries)

    async def load(self, sid: str, idle_s: float) -> dict[str, str] | None:
        entry = self._live(sid)
        if entry is None:
            return None
        self._refresh(entry, idle_s)
        return dict(entry.record)

    async def save(self, sid: str, change: Change, *, create: bool, idle_s: float) -> bool:
        entry = self._live(sid)
        if entry is None:
            if not create:
                return False
            entry = self._entries[sid] = _Entry({}, 0.0)
        entry.record.update(change.changed)
        for key in change.removed:
            entry.record.pop(key, None)
        self._refresh(entry, idle_s)
        while len(self._entries) > self.max_sessions:
            self._entries.popitem(last=False)
        return True

    async def destroy(self, sid: str) -> None:
        self._entries.pop(sid, None)

    async def index_user(self, user_id: str, sid: str, idle_s: float) -> None:
        sids = self._users.setdefault(user_id, set())
        sids.intersection_update(self._entries)
        sids.add(sid)

    async def destroy_user(self, user_id: str) -> None:
        for sid in self._users.pop(user_id, ()):
            self._entries.pop(sid, None)

    async def user_sessions(self, user_id: str, idle_s: float) -> list[tuple[str, dict[str, str]]]:
        now = time.monotonic()
        found = []
        for sid in self._users.get(user_id, ()):
            entry = self._entries.get(sid)
            if entry is not None and entry.expires > now:
                found.append((sid, dict(entry.record)))
        return found

    def _refresh(self, entry: _Entry, idle_s: float) -> None:
        entry.expires = time.monotonic() + idle_s
        if entry.expires < self._sweep_at:
            self._sweep_at = entry.expires

    def _live(self, sid: str) -> _Entry | None:
        """Return the live entry of `sid`, marked most recently used, after a sweep."""
        now = time.monotonic()
        entries = self._entries
        if now >= self._sweep_at:
            # perf: LRU order is also expiry order for one idle time, so the
            # sweep stops at the first live entry, and need not run before it expires.
            self._sweep_at = math.inf
            while entries:
                oldest = next(iter(entries.values()))
                if oldest.expires > now:
                    self._sweep_at = oldest.expires
                    break
                entries.popitem(last=False)
        entry = entries.get(sid)
        if entry is None:
            return None
        if entry.expires <= now:
            del entries[sid]
            return None
        entries.move_to_end(sid)
        return entry
