"""`ConnectionPool`: the PostgreSQL session store's own psycopg connections.

Rules:
- Each event loop has its own connections (a psycopg async connection belongs
  to the loop that opened it), at most `max_size` of them; a caller waits for
  one to come back when all are busy.
- No background task: a connection is made when one is needed and none is
  idle, so a database that comes back is used by the next request, and one
  that is down refuses the next request at once (connection refused), never
  after a reconnect backoff.
- A connection goes back to the pool only when it is healthy and idle (not in
  a transaction); any other is closed and its place freed. `discard_idle()`
  closes every idle connection of the loop: after a server restart they are
  all dead.
- Connections run in autocommit. Statements are prepared on the server only
  on a connection to the server itself: one whose backend (`pg_backend_pid()`)
  is the one its startup announced. Through PgBouncer (or any pooler) the two
  differ, and nothing is prepared: in transaction mode each transaction may
  run on another server connection, where a statement prepared on the first
  is missing or, worse, another statement under the same name.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

__all__ = ["ConnectionPool"]

_PREPARE_AFTER = 5

Connection = psycopg.AsyncConnection[Any]


class _LoopConnections:
    __slots__ = ("idle", "size", "waiters")

    def __init__(self) -> None:
        self.idle: deque[Connection] = deque()
        self.size = 0  # idle + in use + being opened
        self.waiters: deque[asyncio.Future[Connection | None]] = deque()


class ConnectionPool:
    """Up to `max_size` connections to `url` per event loop."""

    def __init__(self, url: str, *, max_size: int = 10, connect_timeout: int = 5) -> None:
        self.url = url
        self.max_size = max_size
        self.connect_timeout = connect_timeout
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopConnections] = (
            weakref.WeakKeyDictionary()
        )

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A connection for the block; it goes back to the pool after, or is closed."""
        conn = await self.acquire()
        try:
            yield conn
        finally:
            await self.release(conn)

    def acquire(self) -> Awaitable[Connection]:
        """A connection of this loop's, for `release` to take back."""
        return self._acquire(self._here())

    def release(self, conn: Connection) -> Awaitable[None]:
        """Take back `conn` from `acquire`: kept when healthy and idle, else closed."""
        return self._release(self._here(), conn)

    async def discard_idle(self) -> None:
        """Close this loop's idle connections (after one was found dead)."""
        here = self._here()
        while here.idle:
            conn = here.idle.popleft()
            here.size -= 1
            await conn.close()
        self._wake(here, None)

    async def close(self) -> None:
        """Close this loop's idle connections; those in use close when they come back."""
        await self.discard_idle()
        self._loops.pop(asyncio.get_running_loop(), None)

    def _here(self) -> _LoopConnections:
        loop = asyncio.get_running_loop()
        here = self._loops.get(loop)
        if here is None:
            here = self._loops[loop] = _LoopConnections()
        return here

    async def _acquire(self, here: _LoopConnections) -> Connection:
        while True:
            while here.idle:
                conn = here.idle.pop()  # the most recently used: the likeliest alive
                if not conn.closed:
                    return conn
                here.size -= 1
            if here.size < self.max_size:
                here.size += 1
                try:
                    return await self._connect()
                except BaseException:
                    here.size -= 1
                    self._wake(here, None)
                    raise
            waiter: asyncio.Future[Connection | None] = asyncio.get_running_loop().create_future()
            here.waiters.append(waiter)
            try:
                handed = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    late = waiter.result()  # handed over as we were cancelled
                    if late is not None:
                        here.idle.append(late)
                raise
            if handed is not None:
                return handed

    async def _connect(self) -> Connection:
        conn = await psycopg.AsyncConnection.connect(
            self.url, autocommit=True, prepare_threshold=None, connect_timeout=self.connect_timeout
        )
        try:
            cursor = await conn.execute("SELECT pg_backend_pid()")
            row = await cursor.fetchone()
        except BaseException:
            await conn.close()
            raise
        if row is not None and row[0] == conn.info.backend_pid:
            # perf: talking to the server itself, statements are prepared after a few uses
            # (psycopg's default): no parse and plan per request, a third faster on the
            # session round trip here. Behind a pooler the pids differ: none is prepared.
            conn.prepare_threshold = _PREPARE_AFTER
        return conn

    async def _release(self, here: _LoopConnections, conn: Connection) -> None:
        healthy = not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE
        if healthy and self._loops.get(asyncio.get_running_loop()) is here:
            if not self._wake(here, conn):
                here.idle.append(conn)
            return
        here.size -= 1
        await conn.close()
        self._wake(here, None)

    @staticmethod
    def _wake(here: _LoopConnections, conn: Connection | None) -> bool:
        """Hand `conn` (or, with None, a free place) to the first live waiter."""
        while here.waiters:
            waiter = here.waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False
