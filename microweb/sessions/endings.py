"""How a process hears that sessions ended, wherever they were ended: the listening
side of a store's announcements (see "Ended sessions" in `store.py`).

Rules:
- An announcement is a list of end keys (`store.end_key(sid)`, a hash of each
  id): never an id, which would be a credential on the wire.
- `Endings.listen()` returns once listening: every announcement made after it
  returned reaches `heard.next()`, in order, unless `heard.gaps` grows (an
  outage in which announcements were lost). A gap is counted once listening
  again, so a watcher that re-checks its sessions against the store when
  `gaps` grows misses no ending.
- `BusEndings` listens on one channel of a `microweb.broadcast.Broadcast`: in
  the process (the memory store, which announces with `announce`), or through
  Redis pub/sub (the Redis store, which announces from its own scripts, in the
  same step as the delete). The bus is opened on the first `listen()`, so a
  process that watches no session opens no connection, and reopened on a new
  event loop (a test client runs each lifespan on its own).
- Any error out of `listen()` or `next()` (Redis unreachable, a listener cut
  off for falling behind, the bus closing) means "announcements may have been
  lost": the caller listens again, and re-checks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..broadcast import Broadcast, Subscription

__all__ = ["BusEndings", "Endings", "Heard"]

# How many announcements a listener may fall behind before it is cut off (and re-checks).
QUEUE_SIZE = 10_000


class Heard(Protocol):
    """What `async with endings.listen() as heard` gives."""

    @property
    def gaps(self) -> int:
        """How many outages the listener lived through (announcements in them are lost),
        each counted once it hears again."""
        ...

    async def next(self, within: float) -> list[str] | None:
        """The end keys of the next announcement; None when none came within `within`
        seconds (so the caller can look at `gaps`)."""
        ...


class Endings(Protocol):
    """A store's feed of ended sessions, as one process hears it."""

    def listen(self) -> contextlib.AbstractAsyncContextManager[Heard]:
        """Listen from now on (returns once listening)."""
        ...

    async def close(self) -> None:
        """Stop listening and release the connection (the store's `close`)."""
        ...


class _BusHeard:
    __slots__ = ("_sub",)

    def __init__(self, sub: Subscription) -> None:
        self._sub = sub

    @property
    def gaps(self) -> int:
        return self._sub.gaps

    async def next(self, within: float) -> list[str] | None:
        # perf: asyncio.timeout cancels this task at the deadline; no task per message.
        try:
            async with asyncio.timeout(within):
                message = await anext(self._sub)
        except TimeoutError:
            return None
        except StopAsyncIteration:
            raise ConnectionError("the bus announcing ended sessions was closed") from None
        return message.split()


class BusEndings:
    """Endings announced on `channel` of the bus `make_bus()` returns (made when first
    listened to, on the running loop)."""

    def __init__(self, make_bus: Callable[[], Broadcast], channel: str) -> None:
        self._make_bus = make_bus
        self.channel = channel
        self._bus: Broadcast | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @contextlib.asynccontextmanager
    async def listen(self) -> AsyncIterator[Heard]:
        bus = await self._opened()
        async with bus.subscribe(self.channel, queue_size=QUEUE_SIZE) as sub:
            yield _BusHeard(sub)

    async def announce(self, keys: Sequence[str]) -> None:
        """Deliver `keys` to this bus's listeners, if it is open (in process: when it is
        not, nothing listens)."""
        bus = self._bus
        if keys and bus is not None and bus.is_open and self._loop is _running_loop():
            await bus.publish(self.channel, " ".join(keys))

    async def close(self) -> None:
        bus, self._bus = self._bus, None
        if bus is not None and self._loop is _running_loop():
            await bus.shutdown()
        self._loop = None

    async def _opened(self) -> Broadcast:
        loop = asyncio.get_running_loop()
        if self._bus is None or self._loop is not loop:
            # A bus left open on a loop that is gone cannot be shut down from here: drop it.
            self._bus = self._make_bus()
            self._loop = loop
        if not self._bus.is_open:
            await self._bus.startup()
        return self._bus


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
