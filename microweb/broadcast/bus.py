"""`Broadcast`: named channels with publish and subscribe, in one process or through Redis.

Rules:
- `Broadcast()` delivers in the process; `Broadcast(url)` (a Redis URL of any
  topology `redis_connect` serves) or `Broadcast(client=...)` relays through
  Redis pub/sub, so every worker and host sharing the Redis sees each message.
- A subscription yields, in order and as `str`, each message published on its
  channel after `subscribe()` returned. With Redis that is after Redis confirmed
  the SUBSCRIBE sent for it (sent again when the channel is already subscribed):
  messages still on their way from before are not given to it. (A Redis Cluster's
  nodes forward a message to one another after answering its publisher, so there
  one published just before may still arrive.)
- Subscribers never do I/O. Entering `subscribe()` adds a `Subscription` to a
  dict and waits for the relay to start it; leaving takes it out.
  A subscriber cancelled at any point leaves no task and no half-sent command.
- Each subscription buffers at most `queue_size` messages. One that falls that
  far behind is cut off, so neither the relay nor the other subscribers ever
  wait for it: it yields what it had buffered, then raises `SubscriberTooSlow`.
- Shutdown (the app's lifespan, or leaving `async with bus`) ends every
  subscriber's iteration cleanly, after what it had buffered, then stops the
  relay in a bounded time (see `redis_relay.py`).
- The bus is opened by `startup()` on the running loop and may be opened again
  after `shutdown()` (a test client opens the same app many times).
"""

from __future__ import annotations

import asyncio
import collections
from typing import TYPE_CHECKING, Any, Protocol

from ..compose import Middleware, Next
from ..redis_connect import parse_redis_url

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["Broadcast", "BroadcastUnavailable", "SubscriberTooSlow", "Subscription"]


class BroadcastUnavailable(ConnectionError):
    """Redis could not be reached: `publish()` sent nothing, or `subscribe()` could not
    be confirmed in time; or, from an iteration, the relay task died (a bug, logged)."""


class SubscriberTooSlow(Exception):
    """A subscription fell `queue_size` messages behind and was cut off."""


class Subscription:
    """What `async with bus.subscribe(channel) as sub` gives: `async for message in sub`.

    `gaps` counts the Redis outages this subscription lived through: windows in
    which messages published on its channel were lost (pub/sub keeps nothing). An
    outage is counted once the subscription receives again, so state re-read when
    `gaps` grows misses nothing published since.
    """

    __slots__ = (
        "_active",
        "_items",
        "_limit",
        "_missed",
        "_started",
        "_state",
        "_waiter",
        "channel",
        "gaps",
    )

    def __init__(self, channel: str, limit: int) -> None:
        self.channel = channel
        self.gaps = 0
        self._missed = False  # lost its connection; counted in `gaps` once receiving again
        self._items: collections.deque[str] = collections.deque()
        self._limit = limit
        self._state = "open"  # "open", "closed" (ends quietly), "overflowed" or "failed"
        self._active = False  # receiving: the relay has confirmed its start
        self._waiter: asyncio.Future[None] | None = None  # __anext__ waiting for a message
        self._started: asyncio.Future[None] | None = None  # subscribe() waiting to start

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> str:
        while not self._items:
            if self._state == "closed":
                raise StopAsyncIteration
            if self._state == "overflowed":
                raise SubscriberTooSlow(
                    f"The subscriber of {self.channel!r} fell {self._limit} messages behind "
                    "and was unsubscribed (Broadcast(queue_size=...) sets the limit)"
                )
            if self._state == "failed":
                raise BroadcastUnavailable(
                    f"The broadcast relay stopped; {self.channel!r} receives nothing more"
                )
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def _put(self, message: str) -> bool:
        """Queue `message`; False when the queue was full (the subscription is then cut off)."""
        if self._state != "open" or not self._active:
            return True
        if len(self._items) >= self._limit:
            self._end("overflowed")
            return False
        self._items.append(message)
        self._wake()
        return True

    def _activate(self) -> None:
        self._active = True
        _resolve(self._started)

    def _end(self, state: str) -> None:
        if self._state == "open":
            self._state = state
            self._wake()
            _resolve(self._started)

    def _wake(self) -> None:
        _resolve(self._waiter)


def _resolve(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


class Relay(Protocol):
    """Where a bus's messages go and come from: in the process, or through Redis."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def attach(self, sub: Subscription) -> None:
        """`sub` was added to the bus's channels: start it."""

    def detach(self, sub: Subscription, last: bool) -> None:
        """`sub` left (`last`: its channel has no subscriber left)."""

    async def ready(self, sub: Subscription) -> None:
        """Return once `sub` has started (or ended): it receives what is published from now on."""

    async def publish(self, channel: str, message: str) -> None: ...


class InProcess:
    """The relay of `Broadcast()`: a publish is delivered at once to this process's
    subscribers."""

    def __init__(self, bus: Broadcast) -> None:
        self.bus = bus

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def attach(self, sub: Subscription) -> None:
        sub._activate()

    def detach(self, sub: Subscription, last: bool) -> None:
        pass

    async def ready(self, sub: Subscription) -> None:
        pass

    async def publish(self, channel: str, message: str) -> None:
        self.bus._deliver(channel, message)
        # One turn of the loop, so subscribers already waiting take what they were given
        # before a publisher in a tight loop gives them more (as a Redis round trip would).
        await asyncio.sleep(0)


class Broadcast(Middleware):
    """Named channels: `await bus.publish(channel, message)`, `async with
    bus.subscribe(channel) as sub: async for message in sub`.

    `url=None` keeps messages in the process; a Redis URL (`redis://`, `rediss://`,
    `redis+cluster://`, `redis+sentinel://`) or a ready `client=` (a `redis.asyncio`
    client, left open at shutdown) relays them across processes. `app.use(bus)`
    opens and closes the bus with the app; `async with bus:` does it elsewhere.
    `queue_size` is how many messages a subscriber may fall behind before it is cut
    off; `subscribe_timeout` how long `subscribe()` waits for Redis to confirm.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        queue_size: int = 1000,
        subscribe_timeout: float = 5.0,
    ) -> None:
        if url is not None and client is not None:
            raise ValueError("Broadcast(): give a Redis url or a client, not both")
        if url is not None:
            parse_redis_url(url)  # a malformed URL is an error now, not at startup
        if not isinstance(queue_size, int) or queue_size < 1:
            raise ValueError(f"Broadcast(): queue_size must be a positive int, not {queue_size!r}")
        if subscribe_timeout <= 0:
            raise ValueError("Broadcast(): subscribe_timeout must be positive")
        self.url = url
        self.client = client
        self.queue_size = queue_size
        self.subscribe_timeout = subscribe_timeout
        self.channels: dict[str, set[Subscription]] = {}
        self._relay: Relay | None = None

    # -- lifespan ------------------------------------------------------------------

    async def __call__(self, c: Context, next: Next) -> Any:
        return await next()

    async def startup(self) -> None:
        """Open the bus on the running loop (a no-op when it is open)."""
        if self._relay is not None:
            return
        relay: Relay
        if self.url is None and self.client is None:
            relay = InProcess(self)
        else:
            from .redis_relay import RedisRelay  # imports redis-py

            relay = RedisRelay(self, self.url, self.client)
        await relay.start()
        self._relay = relay

    async def shutdown(self) -> None:
        """End every subscriber's iteration, then close the relay."""
        relay, self._relay = self._relay, None
        self.end_all("closed")
        if relay is not None:
            await relay.stop()

    async def __aenter__(self) -> Broadcast:
        await self.startup()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown()

    @property
    def is_open(self) -> bool:
        return self._relay is not None

    # -- publish and subscribe -----------------------------------------------------

    async def publish(self, channel: str, message: str) -> None:
        """Send `message` to every subscriber of `channel` (on every process sharing the
        Redis). `BroadcastUnavailable` when Redis cannot be reached: nothing is queued."""
        _check_channel(channel)
        if not isinstance(message, str):
            raise TypeError(f"Broadcast messages are str, not {type(message).__name__}")
        await self._opened().publish(channel, message)

    def subscribe(self, channel: str, *, queue_size: int | None = None) -> Subscribing:
        """`async with bus.subscribe(channel) as sub:` then `async for message in sub`.
        `queue_size` overrides the bus's for this subscription."""
        _check_channel(channel)
        return Subscribing(self, channel, queue_size or self.queue_size)

    def _opened(self) -> Relay:
        if self._relay is None:
            raise RuntimeError(
                "This Broadcast is not open: app.use(bus) opens it with the app's startup, "
                "or use `async with bus:`"
            )
        return self._relay

    # -- the local subscribers -------------------------------------------------------

    def _deliver(self, channel: str, message: str) -> None:
        """Hand `message` to this process's subscribers of `channel`; cut off the full ones."""
        subscribers = self.channels.get(channel)
        if subscribers:
            for sub in tuple(subscribers):
                if not sub._put(message):
                    self._detach(sub)

    def _attach(self, sub: Subscription) -> Relay:
        relay = self._opened()
        self.channels.setdefault(sub.channel, set()).add(sub)
        relay.attach(sub)
        return relay

    def _detach(self, sub: Subscription) -> None:
        subscribers = self.channels.get(sub.channel)
        if subscribers is None or sub not in subscribers:
            return
        subscribers.discard(sub)
        if not subscribers:
            del self.channels[sub.channel]
        if self._relay is not None:
            self._relay.detach(sub, last=not subscribers)

    def end_all(self, state: str) -> None:
        """End every subscription and forget them: "closed" ends their iterations
        quietly, "failed" with `BroadcastUnavailable`."""
        channels, self.channels = self.channels, {}
        for subscribers in channels.values():
            for sub in subscribers:
                sub._end(state)


class Subscribing:
    """The context manager `bus.subscribe()` returns."""

    __slots__ = ("_bus", "_channel", "_limit", "_sub")

    def __init__(self, bus: Broadcast, channel: str, limit: int) -> None:
        self._bus = bus
        self._channel = channel
        self._limit = limit
        self._sub: Subscription | None = None

    async def __aenter__(self) -> Subscription:
        if self._sub is not None:
            raise RuntimeError("This subscribe() is already entered; call bus.subscribe() again")
        sub = Subscription(self._channel, self._limit)
        relay = self._bus._attach(sub)
        try:
            await relay.ready(sub)
        except BaseException:
            self._bus._detach(sub)
            sub._end("closed")
            raise
        self._sub = sub
        return sub

    async def __aexit__(self, *exc_info: object) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            self._bus._detach(sub)
            sub._end("closed")


def _check_channel(channel: str) -> None:
    if not isinstance(channel, str) or not channel:
        raise TypeError(f"A Broadcast channel is a non-empty str, not {channel!r}")
