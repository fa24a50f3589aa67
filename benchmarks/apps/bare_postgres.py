"""The floor for PostgreSQL sessions: a hand-written ASGI app on psycopg 3, one SELECT and
one UPSERT a request.

``GET /session`` reads the JSON record keyed by the ``sid`` cookie (a new id, sent in a
Set-Cookie, when there is none or the table does not hold it), adds one to ``visits``,
writes the record back with ``INSERT ... ON CONFLICT DO UPDATE`` and an idle expiry, and
answers ``{"visits": n}``. A psycopg_pool pool of 10 connections (psycopg's defaults:
statements prepared on the server after 5 uses), opened on lifespan startup; commits
with ``synchronous_commit = off``. Table: ``bare_bench_sessions``, made at startup.

No hashing of ids, no signing, no flash data, no sliding cookie, no user index: only the
work a database session cannot avoid.
"""

from __future__ import annotations

import json
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from .bare import Scope, Send
from .bare_session import (
    IDLE_SECONDS,
    cookie_value,
    count_visit,
    dumps,
    open_and_close,
    send_visits,
    session_app,
)
from .sql_bench import BARE_TABLE, POSTGRES_URL

SELECT = f"SELECT data FROM {BARE_TABLE} WHERE id = %s AND expires_at > now()"
UPSERT = (
    f"INSERT INTO {BARE_TABLE} (id, data, expires_at) "
    f"VALUES (%s, %s, now() + interval '{IDLE_SECONDS} seconds') "
    "ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at"
)

_pool: AsyncConnectionPool[Any] | None = None


async def _visits(send: Send, scope: Scope) -> None:
    assert _pool is not None
    sid = cookie_value(scope)
    record: dict[str, Any] | None = None
    async with _pool.connection() as conn:
        if sid is not None:
            row = await (await conn.execute(SELECT, (sid,))).fetchone()
            if row is not None:
                record = json.loads(row[0])
        sid, new_sid, record, count = count_visit(sid, record)
        await conn.execute(UPSERT, (sid, dumps(record)))
    await send_visits(send, count, new_sid)


async def _configure(conn: AsyncConnection[Any]) -> None:
    await conn.execute("SET synchronous_commit = off")


async def _open() -> None:
    global _pool
    _pool = AsyncConnectionPool(
        POSTGRES_URL,
        min_size=10,
        max_size=10,
        open=False,
        configure=_configure,
        kwargs={"autocommit": True},
    )
    await _pool.open(wait=True)
    async with _pool.connection() as conn:
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {BARE_TABLE} "
            "(id text PRIMARY KEY, data text NOT NULL, expires_at timestamptz NOT NULL)"
        )


async def _close() -> None:
    if _pool is not None:
        await _pool.close()


app = session_app(_visits, open_and_close(_open, _close))
