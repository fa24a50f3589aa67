"""`PostgresStore`: one row per session in a PostgreSQL table, through psycopg 3.

Rules:
- The rows, keys, handles, expiry slides and sweeps are `sql_base`'s; the SQL
  is `postgres_sql`'s, built once per table.
- `save` merges in one statement, `data = (data - removed) || changed` on
  `jsonb`, so concurrent requests changing different keys both persist; with
  `create=False` it updates only a live row, so a session destroyed meanwhile
  is never brought back; with `create=True` two first requests under one id
  meet in `INSERT ... ON CONFLICT`, never in an error.
- Logout everywhere cannot race a login: `save_signed_in` locks the user's
  row of `<table>_users`, reads their generation and stores the record in one
  statement (refusing a record whose `__gen` is stale); `destroy_user` bumps
  the generation under that lock, then deletes the user's rows in a second
  statement of the same transaction, which sees every login committed before.
- Connections come from this store's `ConnectionPool` (or the caller's
  `client=` pool, never closed here), in autocommit; statements are prepared
  on the server when the connection reaches it directly, never through
  PgBouncer or another pooler (see `postgres_pool`).
- The database down is a 503: refused connections fail at once, and an
  operation gives up after 5 s (a hung server); an operation that loses its
  connection (a restarted server) is tried once more on a new one, which
  every operation here allows (each is idempotent).
- `open` creates the tables when missing (`create_tables=True`), under an
  advisory lock so workers starting together do not race; with
  `create_tables=False` a missing table stops the app with an error naming it.
  A database down at startup is logged, and the tables are made at first use.
- The sweep deletes expired rows in batches under a transaction-scoped
  advisory lock (`pg_try_advisory_xact_lock`, which works through PgBouncer):
  the batches of two workers never run at once, and a worker that finds the
  lock taken leaves the sweep to the other.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, TypeVar

import psycopg
from psycopg import errors

from .postgres_pool import ConnectionPool
from .postgres_sql import postgres_sql
from .sql_base import SWEEP_BATCH, SqlStore, slide_slack
from .store import GENERATION, USER, Change, checked_id

__all__ = ["PostgresStore"]

logger = logging.getLogger("microweb.sessions")

T = TypeVar("T")
Connection = psycopg.AsyncConnection[Any]
Params = tuple[Any, ...] | dict[str, Any]

_TIMEOUT_S = 5.0  # longest an operation may take, waiting for a connection included
_CONNECT_S = 5
_POOL_SIZE = 10  # connections per worker


class PostgresStore(SqlStore):
    """Keep sessions in PostgreSQL at `url` (default `$DATABASE_URL`), or through a ready
    pool given as `client` (psycopg_pool's `AsyncConnectionPool`, or anything whose
    `connection()` is an async context manager giving a psycopg `AsyncConnection`)."""

    unavailable_errors: ClassVar[tuple[type[BaseException], ...]] = (
        psycopg.OperationalError,  # connection lost or refused, pool timeout, shutdown
        errors.ReadOnlySqlTransaction,  # a standby: the primary is gone
        OSError,  # DatabaseUnavailable included
    )

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        table: str = "microweb_sessions",
        create_tables: bool = True,
        sweep_every: float = 300.0,
    ) -> None:
        super().__init__(table=table, create_tables=create_tables, sweep_every=sweep_every)
        if client is None:
            url = url or os.environ.get("DATABASE_URL")
            if not url:
                raise ValueError(
                    "driver='postgres' needs url='postgresql://user@host/db' "
                    "(or DATABASE_URL in the environment, or client=a psycopg pool)"
                )
            if not url.startswith(("postgresql://", "postgres://")):
                raise ValueError(f"A PostgreSQL url starts with postgresql://, got {url!r}")
        self.url = url
        self.sql = postgres_sql(self.table)
        # The advisory lock ids of this table's schema changes and sweeps.
        self._lock = _lock_id(f"microweb schema {self.table}")
        self._sweep_lock = _lock_id(f"microweb sweep {self.table}")
        self._client = client
        self._pool = ConnectionPool(url or "", max_size=_POOL_SIZE, connect_timeout=_CONNECT_S)
        self._schema_ready = False

    # -- lifecycle -------------------------------------------------------------

    async def open(self) -> None:
        try:
            await self._run(_nothing)  # makes the tables
        except self.unavailable_errors as exc:
            logger.warning("PostgreSQL session store not reachable at startup: %s", exc)
        self.start_sweeping()

    async def close(self) -> None:
        await self.stop_sweeping()
        await self._pool.close()

    # -- the interface ---------------------------------------------------------

    async def load(self, sid: str, idle_s: float) -> dict[str, str] | None:
        key = self.row_key(sid)
        if key is None:
            return None
        row = await self._fetch(self.sql.load, (idle_s - slide_slack(idle_s), key))
        if row is None:
            return None
        data, stale = row
        if stale:
            await self._execute(self.sql.slide, (idle_s, key))
        return _record(data)

    async def save(self, sid: str, change: Change, *, create: bool, idle_s: float) -> bool:
        if not create and not change.removed and USER not in change.changed:
            # perf: most saves; the statement with the fewest parameters to send and adapt
            changed = _json(change.changed)
            key = self.row_key(checked_id(sid))
            merge = (changed, idle_s - slide_slack(idle_s), idle_s, key)
            return await self._execute(self.sql.merge, merge) > 0
        args = {
            "id": self.row_key(checked_id(sid)),
            "changed": _json(change.changed),
            "removed": [_stored(key) for key in change.removed],
            "idle": idle_s,
            "fresh": idle_s - slide_slack(idle_s),
            "user_changes": USER in change.changed or USER in change.removed,
        }
        if create:
            await self._execute(self.sql.upsert, args)
            return True
        return await self._execute(self.sql.update, args) > 0

    async def save_signed_in(
        self, sid: str, change: Change, *, user_id: str, idle_s: float, index_s: float
    ) -> bool:
        args = {
            "id": self.row_key(checked_id(sid)),
            "changed": _json(change.changed),
            "removed": [_stored(key) for key in change.removed],
            "user": _stored(user_id),
            "idle": idle_s,
            "expected": change.changed.get(GENERATION, ""),
        }
        row = await self._fetch(self.sql.save_signed_in, args)
        return row is not None and row[0] > 0

    async def destroy(self, sid: str) -> None:
        key = self.doomed_key(sid)
        if key is not None:
            await self._execute(self.sql.destroy, {"id": key})

    async def index_user(self, user_id: str, sid: str, idle_s: float) -> None:
        key = self.row_key(checked_id(sid))
        await self._execute(self.sql.index_user, {"id": key, "user": _stored(user_id)})

    async def destroy_user(self, user_id: str) -> None:
        user = {"user": _stored(user_id)}

        async def work(conn: Connection) -> None:
            async with conn.pipeline(), conn.transaction():
                await conn.execute(self.sql.bump_generation, user)
                await conn.execute(self.sql.destroy_user_rows, user)

        await self._run(work)

    async def user_sessions(self, user_id: str, idle_s: float) -> list[tuple[str, dict[str, str]]]:
        async def work(conn: Connection) -> list[tuple[Any, ...]]:
            cursor = await conn.execute(self.sql.user_sessions, {"user": _stored(user_id)})
            return await cursor.fetchall()

        return [(self.handle(bytes(key)), _record(data)) for key, data in await self._run(work)]

    async def time_left(self, sids: Sequence[str], idle_s: float) -> list[float | None]:
        keys = [self.row_key(sid) for sid in sids]

        async def work(conn: Connection) -> list[tuple[Any, ...]]:
            ids = [key for key in keys if key is not None]
            cursor = await conn.execute(self.sql.time_left, {"ids": ids})
            return await cursor.fetchall()

        left = {bytes(key): seconds for key, seconds in await self._run(work)}
        return [None if key is None else left.get(key) for key in keys]

    async def sweep(self) -> int | None:
        args = {"lock": self._sweep_lock, "batch": SWEEP_BATCH}
        total = 0
        while True:
            row = await self._fetch(self.sql.sweep, args)
            held, gone = row if row is not None else (False, 0)
            if not held:
                return total or None
            total += int(gone)
            if gone < SWEEP_BATCH:
                break
        while await self._execute(self.sql.sweep_users, args) == SWEEP_BATCH:
            pass
        if total:
            logger.info("Swept %d expired sessions from %s", total, self.table)
        return total

    # -- connections -----------------------------------------------------------

    async def _fetch(self, sql: str, args: Params) -> tuple[Any, ...] | None:
        async def work(conn: Connection) -> tuple[Any, ...] | None:
            cursor = await conn.execute(sql, args)
            return await cursor.fetchone()

        return await self._run(work)

    async def _execute(self, sql: str, args: Params) -> int:
        async def work(conn: Connection) -> int:
            cursor = await conn.execute(sql, args)
            return cursor.rowcount

        return await self._run(work)

    async def _run(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """Run `work` on a pooled connection: once more on a new one when the first had
        lost its server. Raises psycopg's errors, or TimeoutError after 5 s, when the
        database cannot be used."""
        pool = self._client or self._pool
        for attempt in range(2):
            try:
                async with asyncio.timeout(_TIMEOUT_S):
                    if self._client is not None:
                        async with pool.connection() as conn:
                            return await self._work(conn, work)
                    # perf: our own pool without a context manager's generator
                    conn = await self._pool.acquire()
                    try:
                        return await self._work(conn, work)
                    finally:
                        await self._pool.release(conn)
            except psycopg.OperationalError:
                if attempt:
                    raise
                # A restarted server closed every connection: drop the idle ones.
                refresh = getattr(pool, "discard_idle", None) or getattr(pool, "check", None)
                if refresh is not None:
                    await refresh()
        raise AssertionError("unreachable")

    async def _work(self, conn: Connection, work: Callable[[Connection], Awaitable[T]]) -> T:
        if not self._schema_ready:
            await self._ensure_schema(conn)
        return await work(conn)

    async def _ensure_schema(self, conn: Connection) -> None:
        """Create the tables when missing (or, with create_tables=False, check them)."""
        cursor = await conn.execute(self.sql.tables_exist)
        found = await cursor.fetchone()
        if found is not None and all(found):
            self._schema_ready = True
            return
        if not self.create_tables:
            missing = self.table if found is None or not found[0] else self.users_table
            raise LookupError(
                f"The session table {missing!r} does not exist: create it (docs/sessions.md "
                "has the SQL) or leave create_tables=True"
            )
        async with conn.transaction():
            await conn.execute(self.sql.lock_schema, {"lock": self._lock})
            await conn.execute(self.sql.schema)
        self._schema_ready = True


async def _nothing(conn: Connection) -> None:
    return None


def _lock_id(name: str) -> int:
    """A signed 64-bit advisory lock id for `name`."""
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
    )


# jsonb and text hold no U+0000. A key, value or user id with one (a session key made of
# a form field, say) is stored escaped: _ESC first, then the text with each _ESC doubled
# and each NUL written _ESC + "0". Text starting with _ESC is escaped too, so reading
# back is exact. microweb's own values (JSON text) never need it.
_ESC = "\x01"
_ESCAPED = re.compile("\x01(.)", re.DOTALL)


def _stored(text: str) -> str:
    if "\x00" in text or text.startswith(_ESC):
        return _ESC + text.replace(_ESC, _ESC + _ESC).replace("\x00", _ESC + "0")
    return text


def _read_back(text: str) -> str:
    if not text.startswith(_ESC):
        return text
    return _ESCAPED.sub(lambda m: "\x00" if m[1] == "0" else m[1], text[1:])


def _json(changed: dict[str, str]) -> str:
    """`changed` as the jsonb text to merge."""
    text = json.dumps(changed)
    if "\\u0000" in text or "\\u0001" in text:  # rare: the escaping above
        text = json.dumps({_stored(k): _stored(v) for k, v in changed.items()})
    return text


def _record(data: Any) -> dict[str, str]:
    if isinstance(data, str):
        data = json.loads(data)
    if not isinstance(data, dict):
        return {}
    record = {k: v for k, v in data.items() if isinstance(v, str)}
    if any(k[:1] == _ESC or v[:1] == _ESC for k, v in record.items()):
        record = {_read_back(k): _read_back(v) for k, v in record.items()}
    return record
