"""`SqliteStore`: one row per session in an SQLite file, on a thread of its own.

Rules:
- The rows, keys, handles, expiry slides and sweeps are `sql_base`'s; the SQL
  is `sqlite_sql`'s, built once per table.
- One connection per store (per worker process), used only by the
  store's own thread, which takes whole operations from a queue: one hop per
  operation, never one per statement (a thread hop costs more than most
  statements), and under load one hop for every operation queued meanwhile.
- Every write is one statement (its own transaction, which takes the write
  lock when it starts, waiting for it through `busy_timeout`) or one
  `BEGIN IMMEDIATE` transaction: SQLite lets one writer in at a time across
  every process of the host, so a merge (`json_patch`, where a null removes a
  key), a login that checks the user's generation and a logout everywhere
  each see the file as one moment.
- WAL, so reads never wait for writers; `busy_timeout` of 5 s for writers
  waiting for each other. `synchronous=NORMAL` for ordinary saves (a commit
  survives the app crashing, and may be lost to a power cut), `FULL` around
  logins, logouts and logout everywhere, which are on disk once confirmed.
- The file locked past `busy_timeout`, read-only, missing its folder or out
  of space is `DatabaseUnavailable`, a 503; the next operation tries again.
- Times are the host's clock (epoch seconds): one file is one host.
- Batches of a sweep are write transactions, so two workers' batches never run
  at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, TypeVar

from .sql_base import SWEEP_BATCH, DatabaseUnavailable, SqlStore, slide_slack
from .sqlite_sql import sqlite_sql
from .store import GENERATION, USER, Change, checked_id

__all__ = ["SqliteStore", "sqlite_path"]

logger = logging.getLogger("microweb.sessions")

T = TypeVar("T")
_BUSY_TIMEOUT_MS = 5000
# sqlite3.OperationalError messages that mean "not now" rather than a bug.
_UNAVAILABLE = ("locked", "busy", "readonly", "unable to open", "disk", "full", "i/o")


def sqlite_path(url: str) -> str:
    """The file of an `sqlite:///relative.db` or `sqlite:////absolute.db` url."""
    if not isinstance(url, str) or not url.startswith("sqlite:///") or url == "sqlite:///":
        raise ValueError(
            f"An SQLite url is sqlite:///relative/path.db or sqlite:////absolute/path.db, "
            f"got {url!r}"
        )
    return url[len("sqlite:///") :]


class SqliteStore(SqlStore):
    """Keep sessions in the SQLite file of `url`, shared by the workers of one host."""

    unavailable_errors: ClassVar[tuple[type[BaseException], ...]] = (OSError,)

    def __init__(
        self,
        url: str = "sqlite:///sessions.db",
        *,
        table: str = "microweb_sessions",
        create_tables: bool = True,
        sweep_every: float = 300.0,
    ) -> None:
        super().__init__(table=table, create_tables=create_tables, sweep_every=sweep_every)
        self.url = url
        self.path = sqlite_path(url)
        self.sql = sqlite_sql(self.table)
        self._thread: _Worker | None = None
        self._schema_ready = False

    # -- lifecycle -------------------------------------------------------------

    async def open(self) -> None:
        try:
            await self._run(lambda conn: None)  # connects and makes the tables
        except self.unavailable_errors as exc:
            logger.warning("SQLite session store not usable at startup: %s", exc)
        self.start_sweeping()

    async def close(self) -> None:
        await self.stop_sweeping()
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, thread.stop)

    # -- the interface ---------------------------------------------------------

    async def load(self, sid: str, idle_s: float) -> dict[str, str] | None:
        key = self.row_key(sid)
        if key is None:
            return None
        return await self._run(self._load, key, idle_s)

    def _slide(self, conn: sqlite3.Connection, key: bytes, idle_s: float) -> None:
        now = time.time()
        conn.execute(self.sql.slide, (now + idle_s, key, now))

    def _load(self, conn: sqlite3.Connection, key: bytes, idle_s: float) -> dict[str, str] | None:
        now = time.time()
        row = conn.execute(self.sql.load, (key, now)).fetchone()
        if row is None:
            return None
        data, expires_at = row
        if expires_at < now + idle_s - slide_slack(idle_s):
            self._slide(conn, key, idle_s)
        return _record(data)

    async def save(self, sid: str, change: Change, *, create: bool, idle_s: float) -> bool:
        key = self.row_key(checked_id(sid))
        return await self._run(self._save, key, change, create, idle_s)

    def _save(
        self,
        conn: sqlite3.Connection,
        key: bytes | None,
        change: Change,
        create: bool,
        idle_s: float,
    ) -> bool:
        now = time.time()
        patch = _patch(change)
        user_changes = USER in change.changed or USER in change.removed
        fresh = now + idle_s - slide_slack(idle_s)
        if not create and not user_changes:
            # perf: most saves; the statement with the fewest parameters
            args = (patch, fresh, now + idle_s, key, now)
            return conn.execute(self.sql.merge, args).rowcount > 0
        if create:
            conn.execute(
                self.sql.upsert,
                {
                    "id": key,
                    "patch": patch,
                    "data": json.dumps(change.changed),
                    "user": change.changed.get(USER),
                    "user_changes": user_changes,
                    "now": now,
                    "expires": now + idle_s,
                },
            )
            return True
        cursor = conn.execute(
            self.sql.update,
            {
                "id": key,
                "patch": patch,
                "now": now,
                "fresh": fresh,
                "expires": now + idle_s,
                "user": change.changed.get(USER),
                "user_changes": user_changes,
            },
        )
        return cursor.rowcount > 0

    async def save_signed_in(
        self, sid: str, change: Change, *, user_id: str, idle_s: float, index_s: float
    ) -> bool:
        key = self.row_key(checked_id(sid))
        return await self._run(self._save_signed_in, key, change, user_id, idle_s)

    def _save_signed_in(
        self,
        conn: sqlite3.Connection,
        key: bytes | None,
        change: Change,
        user_id: str,
        idle_s: float,
    ) -> bool:
        now = time.time()
        with _durably(conn), _transaction(conn):
            row = conn.execute(self.sql.generation, (user_id,)).fetchone()
            generation = str(row[0]) if row is not None else "0"
            expected = change.changed.get(GENERATION, "")
            if expected and expected != generation:
                return False
            changed = {**change.changed, GENERATION: generation}
            conn.execute(
                self.sql.upsert,
                {
                    "id": key,
                    "patch": _patch(Change(changed, change.removed)),
                    "data": json.dumps(changed),
                    "user": user_id,
                    "user_changes": True,
                    "now": now,
                    "expires": now + idle_s,
                },
            )
        return True

    async def destroy(self, sid: str) -> None:
        key = self.doomed_key(sid)
        if key is not None:
            await self._run(self._destroy, key)

    def _destroy(self, conn: sqlite3.Connection, key: bytes) -> None:
        with _durably(conn):
            conn.execute(self.sql.destroy, (key,))

    async def index_user(self, user_id: str, sid: str, idle_s: float) -> None:
        key = self.row_key(checked_id(sid))
        await self._run(self._index_user, key, user_id)

    def _index_user(self, conn: sqlite3.Connection, key: bytes | None, user_id: str) -> None:
        now = time.time()
        conn.execute(self.sql.index_user, (user_id, key, user_id, now))

    async def destroy_user(self, user_id: str) -> None:
        await self._run(self._destroy_user, user_id)

    def _destroy_user(self, conn: sqlite3.Connection, user_id: str) -> None:
        with _durably(conn), _transaction(conn):
            conn.execute(self.sql.bump_generation, (user_id,))
            conn.execute(self.sql.destroy_user_rows, (user_id,))

    async def user_sessions(self, user_id: str, idle_s: float) -> list[tuple[str, dict[str, str]]]:
        return await self._run(self._user_sessions, user_id)

    def _user_sessions(
        self, conn: sqlite3.Connection, user_id: str
    ) -> list[tuple[str, dict[str, str]]]:
        rows = conn.execute(self.sql.user_sessions, (user_id, time.time())).fetchall()
        return [(self.handle(bytes(key)), _record(data)) for key, data in rows]

    async def time_left(self, sids: Sequence[str], idle_s: float) -> list[float | None]:
        return await self._run(self._time_left, [self.row_key(sid) for sid in sids])

    def _time_left(self, conn: sqlite3.Connection, keys: list[bytes | None]) -> list[float | None]:
        now = time.time()
        left: list[float | None] = []
        for key in keys:  # one indexed lookup each: SQLite runs them in process
            row = None if key is None else conn.execute(self.sql.time_left, (key, now)).fetchone()
            left.append(None if row is None else row[0] - now)
        return left

    async def sweep(self) -> int | None:
        total = 0
        while True:
            gone = await self._run(self._sweep_batch)
            total += gone
            if gone < SWEEP_BATCH:
                break
        return total

    def _sweep_batch(self, conn: sqlite3.Connection) -> int:
        return conn.execute(self.sql.sweep, (time.time(), SWEEP_BATCH)).rowcount

    # -- the thread ------------------------------------------------------------

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work(connection, *args)` on the store's thread; await its result."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            thread = self._thread = _Worker(self._connect)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        thread.jobs.put((work, args, future))
        return await future

    def _connect(self) -> sqlite3.Connection:
        """The store's connection, made on its thread (and the schema checked)."""
        conn = sqlite3.connect(
            self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=True
        )
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._ensure_schema(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        if self._schema_ready:
            return
        found = {
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)",
                (self.table, self.users_table),
            )
        }
        if {self.table, self.users_table} <= found:
            self._schema_ready = True
            return
        if not self.create_tables:
            missing = self.table if self.table not in found else self.users_table
            raise LookupError(
                f"The session table {missing!r} does not exist in {self.path}: create it "
                "(docs/sessions.md has the SQL) or leave create_tables=True"
            )
        with _transaction(conn):
            for statement in self.sql.schema:
                conn.execute(statement)
        self._schema_ready = True


class _Worker(threading.Thread):
    """The thread that owns a store's connection and runs its operations in turn."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(name="microweb-sqlite-sessions", daemon=True)
        self.connect = connect
        self.jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.start()

    def stop(self) -> None:
        """Close the connection and end the thread, once the queued operations have run."""
        self.jobs.put(None)
        self.join()

    def run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                # perf: everything queued meanwhile runs in this turn, and each event loop
                # hears of its results in one call: under load, a hop carries many operations.
                batch = [self.jobs.get()]
                with contextlib.suppress(queue.Empty):
                    while True:
                        batch.append(self.jobs.get_nowait())
                done: dict[asyncio.AbstractEventLoop, list[Any]] = {}
                for job in batch:
                    if job is None:
                        continue
                    work, args, future = job
                    try:
                        if conn is None:
                            conn = self.connect()
                        result, error = work(conn, *args), None
                    except sqlite3.OperationalError as exc:
                        result, error = None, _unavailable(exc)
                    except BaseException as exc:
                        result, error = None, exc
                    done.setdefault(future.get_loop(), []).append((future, result, error))
                for loop, settled in done.items():
                    with contextlib.suppress(RuntimeError):  # that loop has closed
                        loop.call_soon_threadsafe(_settle, settled)
                if None in batch:
                    return
        finally:
            if conn is not None:
                conn.close()


def _settle(settled: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in settled:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


def _unavailable(exc: sqlite3.OperationalError) -> BaseException:
    """`DatabaseUnavailable` for an error meaning the file cannot be used now."""
    message = str(exc).lower()
    if any(word in message for word in _UNAVAILABLE):
        unavailable = DatabaseUnavailable(f"SQLite: {exc}")
        unavailable.__cause__ = exc
        return unavailable
    return exc


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction of several statements, taking the file's write lock at
    once (a transaction that read first could find its snapshot stale when it writes)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextlib.contextmanager
def _durably(conn: sqlite3.Connection) -> Iterator[None]:
    """Commit what the block writes with synchronous=FULL: on disk once it returns."""
    conn.execute("PRAGMA synchronous = FULL")
    try:
        yield
    finally:
        conn.execute("PRAGMA synchronous = NORMAL")


def _patch(change: Change) -> str:
    """A JSON merge patch: the changed fields, and null for each removed one."""
    patch: dict[str, str | None] = dict.fromkeys(change.removed)
    patch.update(change.changed)
    return json.dumps(patch)


def _record(data: str) -> dict[str, str]:
    try:
        loaded = json.loads(data)
    except ValueError:
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {k: v for k, v in loaded.items() if isinstance(v, str)}
