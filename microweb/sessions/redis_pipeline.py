"""`AutoPipeline`: the Redis commands of concurrent requests share one connection
and go out in batches.

Rules:
- `execute(*args)` queues a command. One writer task sends everything queued
  in one write (a batch); one reader task hands each reply to its command in
  order, as Redis answers a connection's commands in the order they arrive.
  Under load a batch carries the commands of many requests: one system call
  and one wake-up where a pooled client makes one per command, and no pool to
  wait for.
- The connection is redis-py's, made from the URL (AUTH, SELECT, TLS, the RESP
  parser and its errors); only the scheduling is done here.
- An error reply (a `ResponseError`, such as NOSCRIPT) fails its own command.
  A broken connection fails every command in flight on it with
  `ConnectionError`, and the next command opens a new connection; `execute`
  tries a command that failed that way once more (a restarted Redis costs no
  request), so commands must be idempotent.
- A command without a reply after `timeout` seconds fails with `TimeoutError`,
  and the connection is dropped with everything in flight on it: a hung Redis
  never hangs a request.
- Each event loop has its own queue, writer and connection (a connection
  belongs to the loop that opened it), so several loops, in several threads,
  may share one pipeline.
- Blocking commands (BLPOP, WAIT, ...) would hold up everyone behind them on
  the shared connection; the session store sends only WAIT, one per round.
- `execute_tracked` also returns the connection (an opaque token) a command
  went out on, and `execute_on` sends a command on that connection only, or
  fails with `ConnectionError` when it is gone: WAIT counts the writes of its
  own connection, so it must never land on a new one.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, ResponseError, TimeoutError

from ..redis_connect import RedisTarget

__all__ = ["AutoPipeline", "Backoff", "OncePerLoop", "RoutingPipeline", "node_url"]

_Command = tuple[tuple[Any, ...], "asyncio.Future[Any]"]


class _Link:
    """One open connection, the commands sent on it (oldest first, with the
    loop time each was sent) and its reader task."""

    __slots__ = ("__weakref__", "broken", "connection", "in_flight", "reader", "watchdog")

    def __init__(self, connection: AbstractConnection) -> None:
        self.connection = connection
        self.in_flight: deque[tuple[asyncio.Future[Any], float]] = deque()
        self.reader: asyncio.Task[None] | None = None
        self.watchdog: asyncio.TimerHandle | None = None
        self.broken = False


class _Tracked(asyncio.Future[Any]):
    """A command's future that notes the connection it went out on (`link`); with `on`
    set, it may go out on that connection only."""

    link: _Link | None = None
    on: _Link | None = None


_GONE = "The Redis connection that made the writes is gone; nothing can wait for them"


class _LoopState:
    """What one event loop uses: its queue, its writer task, its connection and
    the tasks closing its broken connections."""

    __slots__ = ("closing", "link", "loop", "queue", "tracked", "writer")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: list[_Command] = []
        self.writer: asyncio.Task[None] | None = None
        self.link: _Link | None = None
        self.closing: set[asyncio.Task[None]] = set()
        self.tracked = 0  # tracked commands queued


class AutoPipeline:
    """Run Redis commands for many concurrent callers over one connection per event loop."""

    def __init__(self, url: str, *, timeout: float = 5.0, connect_timeout: float = 2.0) -> None:
        # No retry inside redis-py: `execute` decides what is tried again.
        self._pool = ConnectionPool.from_url(
            url,
            socket_connect_timeout=connect_timeout,
            socket_timeout=None,  # the watchdog times replies out, once per batch
            retry=Retry(NoBackoff(), 0),
        )
        self.timeout = timeout
        self._states: dict[asyncio.AbstractEventLoop, _LoopState] = {}

    async def execute(self, *args: Any) -> Any:
        """Send one command and return its reply (redis-py's parsed RESP value).

        Raises `ResponseError` for an error reply, `ConnectionError` when Redis
        cannot be reached twice in a row, `TimeoutError` after `timeout`.
        """
        try:
            return await self._submit(args)
        except ConnectionError:  # the connection broke: once more, on a new one
            return await self._submit(args)

    async def execute_tracked(self, *args: Any) -> tuple[Any, AutoPipeline, object]:
        """`execute`, also returning this pipeline and the connection the command went
        out on (for `execute_on`)."""
        try:
            return await self._tracked(args)
        except ConnectionError:
            return await self._tracked(args)

    async def execute_on(self, connection: object, *args: Any) -> Any:
        """Send a command on `connection` (from `execute_tracked`) and return its reply;
        `ConnectionError` when that connection is gone, without sending it elsewhere."""
        future = _Tracked(loop=asyncio.get_running_loop())
        future.on = connection if isinstance(connection, _Link) else None
        if future.on is None or future.on.broken:
            raise ConnectionError(_GONE)
        return await self._submit(args, future)

    async def _tracked(self, args: tuple[Any, ...]) -> tuple[Any, AutoPipeline, object]:
        future = _Tracked(loop=asyncio.get_running_loop())
        reply = await self._submit(args, future)
        return reply, self, future.link

    async def execute_after_tracked(
        self, first: tuple[Any, ...], args: tuple[Any, ...]
    ) -> tuple[Any, AutoPipeline, object]:
        """Send `first`, then the command `args` right behind it on the same connection
        (ASKING before a command for a migrating slot); return the command's reply,
        this pipeline and the connection used."""
        try:
            return await self._submit_pair_tracked(first, args)
        except ConnectionError:
            return await self._submit_pair_tracked(first, args)

    async def _submit_pair_tracked(
        self, first: tuple[Any, ...], args: tuple[Any, ...]
    ) -> tuple[Any, AutoPipeline, object]:
        # Queued in one step, so one batch carries them, adjacent and in order.
        second = _Tracked(loop=asyncio.get_running_loop())
        replies = await asyncio.gather(
            self._submit(first), self._submit(args, second), return_exceptions=True
        )
        for reply in replies:
            if isinstance(reply, BaseException):
                raise reply
        return replies[1], self, second.link

    async def close(self) -> None:
        """Fail whatever this event loop has queued and close its connection
        (another loop's connection goes with that loop)."""
        state = self._states.pop(asyncio.get_running_loop(), None)
        if state is not None:
            closed = ConnectionError("The Redis session store is closed")
            _fail(state.queue, closed)
            state.queue = []
            if state.link is not None:
                self._break(state, state.link, closed)
            if state.closing:
                await asyncio.gather(*state.closing, return_exceptions=True)

    # -- internals -------------------------------------------------------------

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            for old in [old for old in list(self._states) if old.is_closed()]:
                self._states.pop(old, None)
            state = self._states[loop] = _LoopState(loop)
        return state

    def _submit(
        self, args: tuple[Any, ...], tracked: _Tracked | None = None
    ) -> asyncio.Future[Any]:
        state = self._state()
        if tracked is None:
            future = state.loop.create_future()
        else:
            future = tracked
            state.tracked += 1
        state.queue.append((args, future))
        if state.writer is None:
            state.writer = state.loop.create_task(self._write(state))
        return future

    async def _write(self, state: _LoopState) -> None:
        """Send what is queued, batch after batch, until the queue is empty."""
        try:
            while state.queue:
                try:
                    link = await self._open(state)
                except Exception as exc:  # Redis down: whatever waits fails now
                    queued, state.queue = state.queue, []
                    _fail(queued, _connection_error(exc))
                    return
                batch, state.queue = state.queue, []
                if state.tracked:
                    state.tracked = 0
                    _note_link(batch, link)
                batch = [(args, future) for args, future in batch if not future.done()]
                if not batch:
                    continue
                connection = link.connection
                try:
                    packed = connection.pack_commands(args for args, _ in batch)
                except Exception as exc:  # an argument redis-py cannot encode
                    _fail(batch, exc)
                    continue
                sent_at = state.loop.time()
                link.in_flight.extend((future, sent_at) for _, future in batch)
                if link.watchdog is None:
                    link.watchdog = state.loop.call_later(self.timeout, self._watch, state, link)
                try:
                    await connection.send_packed_command(packed, check_health=False)
                except Exception as exc:
                    self._break(state, link, _connection_error(exc))
        finally:
            state.writer = None

    async def _open(self, state: _LoopState) -> _Link:
        link = state.link
        if link is not None and not link.broken:
            return link
        connection = self._pool.connection_class(**self._pool.connection_kwargs)
        await connection.connect()  # type: ignore[no-untyped-call]
        link = state.link = _Link(connection)
        link.reader = state.loop.create_task(self._read(state, link))
        return link

    async def _read(self, state: _LoopState, link: _Link) -> None:
        """Hand each reply on `link` to the oldest command waiting for one."""
        connection, in_flight = link.connection, link.in_flight
        try:
            while True:
                try:
                    reply: Any = await connection.read_response()
                    failed = False
                except ResponseError as exc:  # an error reply: this command's alone
                    reply, failed = exc, True
                if not in_flight:
                    raise ConnectionError("Redis sent a reply nobody asked for")
                future, _ = in_flight.popleft()
                if not future.done():  # a cancelled request no longer waits
                    if failed:
                        future.set_exception(reply)
                    else:
                        future.set_result(reply)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not _in_loop(state.loop):
                # The loop ended with this reader still waiting (an app stopped without
                # its shutdown hooks) and garbage collection is closing it, from whatever
                # thread: there is no loop here to fail commands on or close the link with.
                return
            self._break(state, link, _connection_error(exc))

    def _watch(self, state: _LoopState, link: _Link) -> None:
        """Drop `link` when its oldest command has waited `timeout` seconds."""
        link.watchdog = None
        if link.broken or not link.in_flight:
            return
        waited = state.loop.time() - link.in_flight[0][1]
        if waited >= self.timeout:
            late = TimeoutError(f"Redis did not answer within {self.timeout:g} s")
            self._break(state, link, late)
        else:
            link.watchdog = state.loop.call_later(self.timeout - waited, self._watch, state, link)

    def _break(self, state: _LoopState, link: _Link, exc: Exception) -> None:
        """Fail everything in flight on `link` with `exc` and close it."""
        if link.broken:
            return
        link.broken = True
        if state.link is link:
            state.link = None
        if link.watchdog is not None:
            link.watchdog.cancel()
        while link.in_flight:
            future, _ = link.in_flight.popleft()
            if not future.done():
                future.set_exception(exc)
        if link.reader is not None and link.reader is not asyncio.current_task():
            link.reader.cancel()
        closing = state.loop.create_task(link.connection.disconnect(nowait=True))
        state.closing.add(closing)
        closing.add_done_callback(state.closing.discard)


class Backoff:
    """Retries of one command across a topology change: jittered, doubling waits (50 ms
    up to 1 s) until `retry_for` seconds have passed since the first attempt."""

    __slots__ = ("deadline", "delay", "loop")

    def __init__(self, retry_for: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.deadline = self.loop.time() + retry_for
        self.delay = 0.05

    async def wait(self) -> bool:
        """Sleep before the next attempt; False (at once) when time is up."""
        if self.loop.time() + self.delay > self.deadline:
            return False
        await asyncio.sleep(self.delay * (0.5 + random.random()))
        self.delay = min(self.delay * 2, 1.0)
        return True


def node_url(target: RedisTarget, address: tuple[str, int], db: int = 0) -> str:
    """The `redis://` (or `rediss://`) URL of one node of `target`, with its credentials."""
    scheme = "rediss" if target.tls else "redis"
    auth = ""
    if target.password is not None:
        auth = f"{quote(target.username or '', safe='')}:{quote(target.password, safe='')}@"
    host = f"[{address[0]}]" if ":" in address[0] else address[0]
    return f"{scheme}://{auth}{host}:{address[1]}/{db}"


def _note_link(batch: list[_Command], link: _Link) -> None:
    """Tell the tracked commands of `batch` the connection they go out on; fail those
    bound to another one."""
    for _, future in batch:
        if isinstance(future, _Tracked) and not future.done():
            if future.on is not None and future.on is not link:
                future.set_exception(ConnectionError(_GONE))
            future.link = link


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether this code runs in `loop` (not closed by garbage collection elsewhere)."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _fail(commands: list[_Command], exc: Exception) -> None:
    for _, future in commands:
        if not future.done():
            future.set_exception(exc)


def _connection_error(exc: Exception) -> Exception:
    """`exc` as redis-py would raise it: timeouts stay timeouts, the rest is a
    `ConnectionError` (so `execute` tries once more)."""
    if isinstance(exc, ConnectionError | TimeoutError):
        return exc
    if isinstance(exc, asyncio.TimeoutError):
        return TimeoutError(str(exc) or "Timeout talking to Redis")
    return ConnectionError(f"{type(exc).__name__}: {exc}")


class OncePerLoop:
    """Runs `work` in the background at most once at a time per event loop (a
    cluster's slot map, the Sentinels' answer): redis-py's connections belong to the
    loop that opened them, so each loop asks for itself."""

    __slots__ = ("_tasks", "_work")

    def __init__(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._work = work
        self._tasks: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}

    def soon(self) -> None:
        """Start `work` on this loop unless it is running there already."""
        self._task()

    async def wait(self) -> None:
        """Start `work` unless it is running, and wait for it to end (its error raised);
        cancelling the caller leaves the work running for the others."""
        await asyncio.shield(self._task())

    def cancel(self) -> None:
        """Stop this loop's run of `work`, if any (the pipeline's close)."""
        task = self._tasks.pop(asyncio.get_running_loop(), None)
        if task is not None:
            task.cancel()

    def _task(self) -> asyncio.Task[None]:
        loop = asyncio.get_running_loop()
        task = self._tasks.get(loop)
        if task is None:
            task = self._tasks[loop] = loop.create_task(self._work())
            task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task.get_loop(), None)
        if not task.cancelled():
            task.exception()  # retrieved: the commands waiting for it see it themselves


class RoutingPipeline:
    """Base of the pipelines that send each command to a primary they learn (Cluster,
    Sentinel), through an `AutoPipeline` per primary."""

    def __init__(self, target: RedisTarget, *, timeout: float = 5.0, retry_for: float = 6.0):
        self.target = target
        self.timeout = timeout  # of each primary's AutoPipeline
        self.retry_for = retry_for  # seconds a command is retried across a failover

    async def execute(self, *args: Any) -> Any:
        """Send one command to its primary and return the reply."""
        return (await self.execute_tracked(*args))[0]

    async def execute_tracked(self, *args: Any) -> tuple[Any, AutoPipeline, object]:
        """`execute`, also returning the primary's pipeline and the connection the command
        went out on (for a WAIT on that same connection)."""
        raise NotImplementedError

    async def close(self) -> None:
        """Close this event loop's connections."""
        raise NotImplementedError
