"""The Redis side of a `Broadcast`: one connection per process, one task that owns it.

Rules:
- One task (the relay) owns one pub/sub connection. It SUBSCRIBEs to the
  channels that have local subscribers (and UNSUBSCRIBEs the others), reads,
  and hands each message to the bus, which fans it out to bounded queues.
  Subscribers only change a dict and wake the relay; they never touch the
  connection, so cancelling one cannot leave a command half-sent.
- Each new subscription is started by a SUBSCRIBE of its own channel, sent
  even when the channel is subscribed already (Redis confirms it again and
  changes nothing). Replies and messages come in order on the connection, so
  the subscription receives exactly what Redis published after that reply;
  what was already on its way goes to the older subscriptions only.
  `ready()` waits for the reply, up to the bus's `subscribe_timeout`, then
  raises `BroadcastUnavailable`.
- The relay connects on the first subscription. It PINGs every second; a
  connection that gives nothing for 3 s is dead (a paused or partitioned server,
  where TCP says nothing). On any loss it reconnects with backoff (50 ms
  doubling to 1 s), to the current primary behind Sentinel (asked anew on each
  connect) or to the next node of a cluster, and re-subscribes every channel.
  Messages published while it was away are lost, as pub/sub keeps nothing:
  each subscription that was receiving counts the gap in `gaps` once Redis has
  confirmed its channel again (so a reader that re-checks its state when
  `gaps` grows misses nothing published after that check), and the outage and
  the recovery are logged once each (logger `microweb.broadcast`).
- Redis Cluster: classic pub/sub, where every node forwards each PUBLISH to
  every other, so one connection to any node hears every channel. Sharded
  pub/sub (SSUBSCRIBE) would need a connection per shard that owns a channel
  and a re-subscription on every slot move; benchmarks/broadcast.py measured
  what the forwarding costs (see RESULTS.md).
- Stopping never hangs: the relay cancels its tasks until they end, since a
  cancellation can be swallowed inside redis-py (Python 3.11's `wait_for`
  drops one that arrives as its inner call completes), gives up after 2 s with
  an error in the log, and closes a client it made (never one it was given).
- A relay task that ends by surprise is logged, and ends every subscription with
  `BroadcastUnavailable` instead of leaving them waiting forever.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from ..redis_connect import as_text, close, connect
from .bus import BroadcastUnavailable

if TYPE_CHECKING:
    from .bus import Broadcast, Subscription

__all__ = ["RedisRelay"]

logger = logging.getLogger("microweb.broadcast")

PING_EVERY_S = 1.0
DEAD_AFTER_S = 3.0
CONNECT_WITHIN_S = 5.0
BACKOFF_FIRST_S = 0.05
BACKOFF_MAX_S = 1.0
STOP_WITHIN_S = 2.0


class RedisRelay:
    """The relay of `Broadcast(url)` or `Broadcast(client=...)`."""

    def __init__(self, bus: Broadcast, url: str | None, client: Any) -> None:
        self.bus = bus
        self.url = url
        self.client = client
        self.owns_client = client is None
        self.closing = False
        self.last_error: BaseException | None = None
        # Per connection: the channels SUBSCRIBEd (and not UNSUBSCRIBEd since); the
        # subscriptions no SUBSCRIBE has been sent for yet; and per channel, in order,
        # the replies due: the subscriptions a SUBSCRIBE starts, or None (UNSUBSCRIBE).
        self.requested: set[str] = set()
        self.unsent: dict[str, list[Subscription]] = {}
        self.due: dict[str, collections.deque[list[Subscription] | None]] = {}
        self.node_turn = random.randrange(1 << 16)  # spreads processes over cluster nodes
        self.task: asyncio.Task[None] | None = None
        self.reader: asyncio.Task[None] | None = None
        self.wake: asyncio.Future[None] | None = None
        self.dirty = False  # the channels changed since the relay last looked

    # -- what the bus calls ------------------------------------------------------------

    async def start(self) -> None:
        if self.client is None:
            assert self.url is not None
            self.client = connect(self.url)
        self.task = asyncio.create_task(self._run(), name="microweb broadcast relay")
        self.task.add_done_callback(self._ended)

    def attach(self, sub: Subscription) -> None:
        self.unsent.setdefault(sub.channel, []).append(sub)
        self._changed()

    def detach(self, sub: Subscription, last: bool) -> None:
        unsent = self.unsent.get(sub.channel)
        if unsent is not None and sub in unsent:
            unsent.remove(sub)
            if not unsent:
                del self.unsent[sub.channel]
        if last:
            self._changed()

    async def ready(self, sub: Subscription) -> None:
        if self.task is not None and self.task.done() and not self.closing:
            sub._end("failed")  # the relay died (and said why in the log)
        if sub._active or sub._state != "open":
            self._raise_if_failed(sub)
            return
        sub._started = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(self.bus.subscribe_timeout):
                await sub._started
        except TimeoutError:
            raise BroadcastUnavailable(
                f"Redis did not confirm the subscription to {sub.channel!r} within "
                f"{self.bus.subscribe_timeout} s"
                + (f" (last error: {self.last_error})" if self.last_error else "")
            ) from None
        finally:
            sub._started = None
        self._raise_if_failed(sub)

    def _raise_if_failed(self, sub: Subscription) -> None:
        if sub._state == "failed":
            raise BroadcastUnavailable(
                f"The broadcast relay stopped, so {sub.channel!r} cannot be subscribed to "
                f"(the log says why: {self.last_error!r})"
            )

    async def publish(self, channel: str, message: str) -> None:
        try:
            await self.client.publish(channel, message)
        except (RedisError, OSError) as err:
            raise BroadcastUnavailable(f"Could not publish on {channel!r}: {err}") from err

    async def stop(self) -> None:
        self.closing = True
        self._changed()
        tasks = [task for task in (self.task, self.reader) if task is not None]
        await finish(tasks, "the broadcast relay")
        if self.owns_client and self.client is not None:
            client, self.client = self.client, None
            with contextlib.suppress(Exception, TimeoutError):
                async with asyncio.timeout(STOP_WITHIN_S):
                    await close(client)

    # -- the relay task --------------------------------------------------------------

    async def _run(self) -> None:
        delay = BACKOFF_FIRST_S
        down_since: float | None = None
        loop = asyncio.get_running_loop()
        while not self.closing:
            if not self.bus.channels:
                self.dirty = False
                await self._woken(None)  # no subscriber: no connection
                continue
            conn = None
            try:
                conn = await self._connect()
                self.last_error = None
                if down_since is not None:
                    logger.warning(
                        "Broadcast: Redis is back after %.1f s; subscribing to %d channels "
                        "again (messages published meanwhile were lost)",
                        loop.time() - down_since,
                        len(self.bus.channels),
                    )
                    down_since = None
                delay = BACKOFF_FIRST_S
                await self._serve(conn)
            except (RedisError, OSError, TimeoutError) as err:
                self.last_error = err
                if down_since is None and not self.closing:
                    down_since = loop.time()
                    logger.warning(
                        "Broadcast: no connection to Redis (%s); retrying, and messages "
                        "published until it is back are lost",
                        err,
                    )
            finally:
                self._lost(served=conn is not None)
                if conn is not None:
                    await _drop(conn)
            if not self.closing:
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)

    async def _serve(self, conn: Any) -> None:
        """Keep `conn` subscribed to the bus's channels and alive until the bus closes;
        raise when the connection is lost."""
        loop = asyncio.get_running_loop()
        reader = asyncio.create_task(self._read(conn), name="microweb broadcast reader")
        self.reader = reader
        try:
            next_ping = loop.time() + PING_EVERY_S
            while not self.closing:
                self.dirty = False
                await self._sync(conn)
                await self._woken(reader, within=max(0.0, next_ping - loop.time()))
                if reader.done():
                    reader.result()  # the connection's error
                    raise ConnectionError("the broadcast reader stopped")
                if loop.time() >= next_ping:
                    _check(conn)
                    await conn.send_command("PING", check_health=False)
                    next_ping = loop.time() + PING_EVERY_S
        finally:
            await finish([reader], "the broadcast reader")
            self.reader = None

    async def _woken(self, reader: asyncio.Task[None] | None, within: float | None = None) -> None:
        """Wait until the channels change, `reader` ends, or `within` seconds pass."""
        if self.dirty:
            return
        self.wake = wake = asyncio.get_running_loop().create_future()
        waiting: set[asyncio.Future[Any]] = {wake} if reader is None else {wake, reader}
        try:
            await asyncio.wait(waiting, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.wake = None

    async def _read(self, conn: Any) -> None:
        deliver = self.bus._deliver
        while True:
            reply = await conn.read_response(timeout=DEAD_AFTER_S, push_request=True)
            if reply is None:
                raise TimeoutError(f"no answer from Redis for {DEAD_AFTER_S} s")
            if not isinstance(reply, list | tuple) or len(reply) < 3:
                continue  # PONG
            kind = reply[0]
            if kind == b"message" or kind == "message":
                deliver(as_text(reply[1]), as_text(reply[2]))
            elif kind in (b"subscribe", b"unsubscribe", "subscribe", "unsubscribe"):
                self._confirmed(as_text(reply[1]))

    async def _sync(self, conn: Any) -> None:
        """SUBSCRIBE the channels of new subscriptions (and all of them on a new
        connection), UNSUBSCRIBE the channels left without a subscriber."""
        wanted = self.bus.channels
        add = [c for c in wanted if c not in self.requested or c in self.unsent]
        drop = [c for c in self.requested if c not in wanted]
        if not add and not drop:
            return
        _check(conn)
        # The books first: a subscriber arriving during the sends finds them true.
        for channel in add:
            self.requested.add(channel)
            self.due.setdefault(channel, collections.deque()).append(self.unsent.pop(channel, []))
        for channel in drop:
            self.requested.discard(channel)
            self.due.setdefault(channel, collections.deque()).append(None)
        if add:
            await conn.send_command("SUBSCRIBE", *add, check_health=False)
        if drop:
            await conn.send_command("UNSUBSCRIBE", *drop, check_health=False)

    def _confirmed(self, channel: str) -> None:
        due = self.due.get(channel)
        if not due:
            return
        started = due.popleft()
        if not due:
            del self.due[channel]
        if started is None:  # an UNSUBSCRIBE's reply
            return
        for sub in started:
            if sub._state == "open":
                sub._activate()
        for sub in self.bus.channels.get(channel, ()):
            if sub._missed:  # receiving again after an outage: count the gap now
                sub._missed = False
                sub.gaps += 1

    def _lost(self, served: bool) -> None:
        """The connection is gone (or none was made): nothing is subscribed any more.
        Subscriptions that were receiving on it have missed what is published until
        their channel is confirmed again (`_confirmed` counts the gap then); those still
        starting wait for the next connection."""
        if served:
            for subscribers in self.bus.channels.values():
                for sub in subscribers:
                    if sub._active:
                        sub._missed = True
        for due in self.due.values():
            for started in due:
                for sub in started or ():
                    if sub._state == "open":
                        self.unsent.setdefault(sub.channel, []).append(sub)
        self.due.clear()
        self.requested.clear()

    def _changed(self) -> None:
        self.dirty = True
        if self.wake is not None and not self.wake.done():
            self.wake.set_result(None)

    async def _connect(self) -> Any:
        """A new connection of its own (not from the client's pool): to the primary for
        one server or Sentinel, to the next node for a cluster."""
        client = self.client
        async with asyncio.timeout(CONNECT_WITHIN_S):
            if hasattr(client, "get_nodes"):  # RedisCluster
                from redis.asyncio.retry import Retry
                from redis.backoff import NoBackoff

                if not client.get_nodes():
                    await client.initialize()
                nodes = client.get_nodes()
                self.node_turn += 1
                node = nodes[self.node_turn % len(nodes)]
                # The relay's own backoff retries; the connection does not.
                conn = node.connection_class(
                    **{**node.connection_kwargs, "retry": Retry(NoBackoff(), 0)}
                )
            else:
                conn = client.connection_pool.make_connection()
            try:
                await conn.connect()
            except BaseException:
                await _drop(conn)
                raise
        return conn

    def _ended(self, task: asyncio.Task[None]) -> None:
        if self.closing or task.cancelled():
            return
        error = self.last_error = task.exception()
        logger.error("Broadcast: the relay task ended: %r", error, exc_info=error)
        self.bus.end_all("failed")


def _check(conn: Any) -> None:
    """Refuse to send on a connection that was closed: redis-py would quietly open it
    again, unsubscribed."""
    if not conn.is_connected:
        raise ConnectionError("the broadcast connection was closed")


async def _drop(conn: Any) -> None:
    with contextlib.suppress(Exception, TimeoutError):
        async with asyncio.timeout(STOP_WITHIN_S):
            await conn.disconnect(nowait=True)


async def finish(tasks: Iterable[asyncio.Task[Any]], what: str) -> None:
    """Cancel `tasks` until they have ended (a cancellation swallowed inside a library
    is sent again), for at most STOP_WITHIN_S; then log that `what` was left running."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STOP_WITHIN_S
    pending = {task for task in tasks if not task.done()}
    while pending:
        if loop.time() > deadline:
            logger.error("Broadcast: %s did not stop within %s s", what, STOP_WITHIN_S)
            return
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: it was reported where it mattered
