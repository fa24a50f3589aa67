"""`SessionWatcher`: closes this worker's WebSockets whose session ended, wherever and
however it ended. One per `SessionManager`, made when the first socket is watched.

Rules:
- Watched: a socket whose handshake carried a session stored on the server
  and signed in (a record with "__user"; `Session.close_on_end` decides).
  An anonymous session is not watched: it grants nothing a client cannot get
  again at once by dropping its cookie, so closing its sockets protects
  nothing, and anonymous traffic (the kind a flood is made of) then adds no
  entry here. The cookie driver keeps no record on the server, so nothing can
  end its sessions early: its sockets are not watched.
- A socket costs its registration and nothing else: a hash, a dict entry, a
  timer (shared by the sockets of one session). Nothing is done per HTTP
  request. The first watched socket starts the listener, which opens the
  store's feed (the Redis pub/sub connection); with no socket ever watched, no
  connection is opened.
- A watched session ends when the store's feed announces it (logout, logout
  everywhere, `logout(c, session=ref)`, regenerate and login, a destroy in the
  store, an eviction: on any worker or host), or when a check finds it gone or
  expired. Each of its sockets is then closed with code 4401 and the reason
  "Session ended", in a task of its own, so a slow client delays no other.
- Deadlines: each watched session has a timer at its idle expiry (its load just
  slid that to one idle lifetime from the handshake) or its absolute one
  (`"__created"` + `absolute_lifetime`), whichever comes first. At the idle
  deadline the store is asked what is left (`time_left`): another request may
  have slid it, and the timer moves there. No request needs to arrive.
- Checks (`time_left` for many sessions at once): when the listener starts
  listening (sockets watched before), when the feed's `gaps` grows (an outage:
  announcements may be lost; looked at every `GAP_LOOK_S`), after any error of
  the feed (it is listened to again, backing off from 50 ms to 1 s), and, for a
  store without a feed (file), every `store.check_every` seconds while anything
  is watched.
- Every end key heard is remembered for `RECENT_S` (at most `RECENT_MAX`): a
  socket whose handshake loaded its session just before a logout elsewhere was
  announced is closed as soon as it is watched.
- A store that cannot be reached during a check keeps the sockets open (a
  Redis outage must not drop every socket) and is asked again every `RETRY_S`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol

from .store import SessionStore, end_key

__all__ = ["CLOSE_CODE", "CLOSE_REASON", "Closable", "SessionWatcher"]

logger = logging.getLogger("microweb.sessions")

CLOSE_CODE = 4401  # 4000-4999 are the application's; 4401 reads as HTTP's 401
CLOSE_REASON = "Session ended"
RECENT_S = 60.0
RECENT_MAX = 10_000
GAP_LOOK_S = 0.25
RETRY_S = 1.0
BACKOFF_FIRST_S = 0.05
BACKOFF_MAX_S = 1.0


class Closable(Protocol):
    """What a watcher closes: a `WebSocket`, or anything with the same `close`."""

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class _Watched:
    """One watched session: its id, creation time, the sockets open under it, its timer."""

    __slots__ = ("created", "sid", "targets", "timer")

    def __init__(self, sid: str, created: float | None) -> None:
        self.sid = sid
        self.created = created
        self.targets: set[Closable] = set()
        self.timer: asyncio.TimerHandle | None = None


class SessionWatcher:
    """Watches the sessions of `store` (idle lifetime `idle_s`, absolute `absolute_s`)."""

    def __init__(self, store: SessionStore, idle_s: float, absolute_s: float | None) -> None:
        self.store = store
        self.idle_s = idle_s
        self.absolute_s = absolute_s
        self._watched: dict[str, _Watched] = {}
        self._recent: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        """How many sessions are watched."""
        return len(self._watched)

    # -- registration --------------------------------------------------------

    def watch(self, sid: str, created: float | None, target: Closable) -> Callable[[], None]:
        """Close `target` when session `sid` (created at epoch `created`) ends; return
        the function that stops watching it (call it when the socket is done)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._forget(loop)
        key = end_key(sid)
        if self._ended_recently(key):
            self._spawn(_close(target))
            return _nothing
        entry = self._watched.get(key)
        if entry is None:
            entry = self._watched[key] = _Watched(sid, created)
            self._schedule(key, entry, self.idle_s)
        entry.targets.add(target)
        if self._listener is None or self._listener.done():
            self._listener = loop.create_task(self._listen(), name="microweb session watcher")
        return lambda: self._unwatch(key, target)

    def _unwatch(self, key: str, target: Closable) -> None:
        entry = self._watched.get(key)
        if entry is None:
            return
        entry.targets.discard(target)
        if not entry.targets:
            del self._watched[key]
            if entry.timer is not None:
                entry.timer.cancel()

    async def stop(self) -> None:
        """Stop watching (the app's shutdown): the listener, the timers, the checks."""
        tasks = [*self._tasks, *([self._listener] if self._listener else [])]
        for entry in self._watched.values():
            if entry.timer is not None:
                entry.timer.cancel()
        self._watched.clear()
        self._listener = None
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        if tasks and self._loop is asyncio.get_running_loop():
            await asyncio.wait(tasks, timeout=2.0)

    # -- endings ---------------------------------------------------------------

    def _end(self, key: str) -> None:
        """Session `key` ended: close its sockets, and remember it for late comers."""
        self._remember(key)
        entry = self._watched.pop(key, None)
        if entry is None:
            return
        if entry.timer is not None:
            entry.timer.cancel()
        for target in entry.targets:
            self._spawn(_close(target))

    def _remember(self, key: str) -> None:
        recent = self._recent
        now = time.monotonic()
        recent[key] = now
        recent.move_to_end(key)
        while recent and (len(recent) > RECENT_MAX or next(iter(recent.values())) < now - RECENT_S):
            recent.popitem(last=False)

    def _ended_recently(self, key: str) -> bool:
        heard = self._recent.get(key)
        return heard is not None and heard >= time.monotonic() - RECENT_S

    # -- deadlines and checks ----------------------------------------------------

    def _schedule(self, key: str, entry: _Watched, idle_left: float) -> None:
        """Set the timer of `entry` at its idle deadline, `idle_left` seconds from now,
        or its absolute one if that comes first."""
        delay = min(idle_left, self._absolute_left(entry))
        if entry.timer is not None:
            entry.timer.cancel()
        entry.timer = None
        if not math.isinf(delay):
            assert self._loop is not None
            entry.timer = self._loop.call_later(max(delay, 0.0), self._due, key)

    def _absolute_left(self, entry: _Watched) -> float:
        if self.absolute_s is None:
            return math.inf
        if entry.created is None:
            return 0.0  # no creation time: the manager treats it as too old
        return entry.created + self.absolute_s - time.time()

    def _due(self, key: str) -> None:
        entry = self._watched.get(key)
        if entry is not None:
            entry.timer = None
            self._spawn(self._check([key], reschedule=True))

    async def _check(self, keys: Sequence[str], *, reschedule: bool = False) -> None:
        """Ask the store what is left of the watched sessions `keys`: close those gone or
        expired; with `reschedule`, move the others' timers to their new deadlines."""
        while True:
            entries = [(k, self._watched[k]) for k in keys if k in self._watched]
            if not entries:
                return
            try:
                left = await self.store.time_left([e.sid for _, e in entries], self.idle_s)
                break
            except Exception as exc:  # any backend failure: keep the sockets, ask again
                logger.warning(
                    "Session store unreachable while checking %d watched sessions; "
                    "asking again in %s s: %s: %s",
                    len(entries),
                    RETRY_S,
                    type(exc).__name__,
                    exc,
                )
                await asyncio.sleep(RETRY_S)
        for (key, entry), idle_left in zip(entries, left, strict=True):
            if self._watched.get(key) is not entry:
                continue  # unwatched or ended meanwhile
            if idle_left is None or idle_left <= 0 or self._absolute_left(entry) <= 0:
                self._end(key)
            elif reschedule:
                self._schedule(key, entry, idle_left)

    def _check_all(self) -> None:
        if self._watched:
            self._spawn(self._check(list(self._watched)))

    # -- the listener ----------------------------------------------------------

    async def _listen(self) -> None:
        endings = self.store.endings()
        if endings is None:
            # No feed (file): check every watched session, while there are any.
            while self._watched:
                await asyncio.sleep(self.store.check_every)
                await self._check(list(self._watched))
            return
        delay = BACKOFF_FIRST_S
        failing = False
        while True:
            try:
                async with endings.listen() as heard:
                    if failing:
                        logger.warning("Listening to ended sessions again")
                        failing = False
                    delay = BACKOFF_FIRST_S
                    gaps = heard.gaps
                    self._check_all()  # sessions watched before listening, or in an outage
                    while True:
                        for key in await heard.next(within=GAP_LOOK_S) or ():
                            self._end(key)
                        if heard.gaps != gaps:
                            gaps = heard.gaps
                            self._check_all()
            except Exception as exc:  # the feed failed: listen again, then check
                if not failing:
                    logger.warning(
                        "Not hearing which sessions end (%s: %s); retrying, and checking the "
                        "watched sessions against the store once back",
                        type(exc).__name__,
                        exc,
                    )
                    failing = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)

    # -- plumbing ----------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _forget(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start afresh on `loop`: what was watched on another loop (a lifespan that
        ended without shutdown) cannot be reached from this one."""
        self._watched.clear()
        self._tasks.clear()
        self._listener = None
        self._loop = loop


async def _close(target: Closable) -> None:
    with contextlib.suppress(Exception):  # the client left already
        await target.close(CLOSE_CODE, CLOSE_REASON)


def _nothing() -> None:
    pass
