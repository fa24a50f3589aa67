"""The floor for SQLite sessions: a hand-written ASGI app on the standard library's
sqlite3, one SELECT and one UPSERT a request, both in one hop to a thread.

``GET /session`` reads the JSON record keyed by the ``sid`` cookie (a new id, sent in a
Set-Cookie, when there is none or the table does not hold it), adds one to ``visits``,
writes it back with ``INSERT ... ON CONFLICT DO UPDATE`` and an idle expiry, and answers
``{"visits": n}``. One connection, WAL, ``synchronous = NORMAL``, opened on lifespan
startup. Table: ``bare_bench_sessions`` in the benchmark's SQLite file.

The statements run in a thread (``asyncio.to_thread``, one hop a request, fewer than the
driver's two): an app must not run them on the event loop, where a file locked by another
worker would stop every request of this one for as long as SQLite waits for the lock.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from typing import Any

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
from .sql_bench import BARE_TABLE, SQLITE_FILE

SELECT = f"SELECT data FROM {BARE_TABLE} WHERE id = ? AND expires_at > ?"
UPSERT = (
    f"INSERT INTO {BARE_TABLE} (id, data, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at"
)

_conn: sqlite3.Connection | None = None
_lock = threading.Lock()  # one connection, used by the pool's threads one at a time


def _count(sid: str | None) -> tuple[int, str | None]:
    """Read the record of `sid`, count one more visit, write it back (in a thread)."""
    assert _conn is not None
    now = time.time()
    record: dict[str, Any] | None = None
    with _lock:
        if sid is not None:
            row = _conn.execute(SELECT, (sid, now)).fetchone()
            if row is not None:
                record = json.loads(row[0])
        sid, new_sid, record, count = count_visit(sid, record)
        _conn.execute(UPSERT, (sid, dumps(record), now + IDLE_SECONDS))
    return count, new_sid


async def _visits(send: Send, scope: Scope) -> None:
    count, new_sid = await asyncio.to_thread(_count, cookie_value(scope))
    await send_visits(send, count, new_sid)


async def _open() -> None:
    global _conn
    _conn = sqlite3.connect(SQLITE_FILE, isolation_level=None, timeout=5, check_same_thread=False)
    _conn.execute("PRAGMA journal_mode = WAL")
    _conn.execute("PRAGMA synchronous = NORMAL")
    _conn.execute(
        f"CREATE TABLE IF NOT EXISTS {BARE_TABLE} "
        "(id TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at REAL NOT NULL)"
    )


async def _close() -> None:
    if _conn is not None:
        _conn.close()


app = session_app(_visits, open_and_close(_open, _close))
