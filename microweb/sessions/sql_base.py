"""`SqlStore`: what the PostgreSQL and SQLite session stores share.

Rules:
- A row's key is the SHA-256 of the session id, never the id: a database dump,
  a backup or a read replica holds nothing a cookie could carry. Ids are 256
  random bits, so an unsalted hash cannot be reversed by guessing.
  `user_sessions` names each session by its `handle` (the key in hex), which
  `destroy` accepts as well as an id; `load` and `save` take ids only.
- The table holds one row per session: the record as a JSON object of strings,
  the user it is signed in as (`user_id`, indexed: listing and logout
  everywhere read only that user's rows) and when it expires. A second table,
  `<table>_users`, holds each user's logout-everywhere generation.
- A read does not write on every request: `load` slides the expiry only once
  it has fallen more than `slide_slack(idle_s)` (a twentieth of the idle
  time, at most a minute) behind a full idle time. A session therefore ends
  between `lifetime - slack` and `lifetime` after its last use.
- Expired rows are deleted by a sweep every `sweep_every` seconds (jittered,
  so workers started together do not sweep together), in batches of
  `SWEEP_BATCH` rows, from a task the store starts in `open` and stops in
  `close`. A sweep that fails is logged and tried again next time.
- Table names are plain SQL identifiers (`name` or `schema.name`), checked
  when the store is made, so they can be put in SQL text.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import re

from .store import SessionStore, is_valid_id

__all__ = ["SWEEP_BATCH", "DatabaseUnavailable", "SqlStore", "check_table", "slide_slack"]

logger = logging.getLogger("microweb.sessions")

SWEEP_BATCH = 1000
_TABLE_RE = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,47}")
_HANDLE_RE = re.compile(r"[0-9a-f]{64}")


class DatabaseUnavailable(OSError):
    """The session database cannot be used now (down, locked, read-only): a 503."""


def check_table(table: str) -> str:
    """Return `table` when it is a plain identifier, optionally schema-qualified, short
    enough for its index names; raise `ValueError` naming it otherwise."""
    if not isinstance(table, str) or _TABLE_RE.fullmatch(table) is None:
        raise ValueError(
            f"Invalid session table name {table!r}: use letters, digits and underscores "
            "(at most 48), optionally after 'schema.'"
        )
    return table


def slide_slack(idle_s: float) -> float:
    """How far behind a full idle time an expiry may fall before a read slides it."""
    return min(idle_s / 20.0, 60.0)


class SqlStore(SessionStore):
    """Base of the SQL stores: row keys, handles and the sweep timer."""

    def __init__(self, *, table: str, create_tables: bool, sweep_every: float) -> None:
        if isinstance(sweep_every, bool) or not isinstance(sweep_every, int | float):
            raise ValueError(f"sweep_every must be a number of seconds, got {sweep_every!r}")
        if not sweep_every > 0:
            raise ValueError(f"sweep_every must be a positive number of seconds, got {sweep_every}")
        self.table = check_table(table)
        self.users_table = f"{table}_users"
        self.create_tables = create_tables
        self.sweep_every = float(sweep_every)
        self._sweeper: asyncio.Task[None] | None = None

    @staticmethod
    def row_key(sid: str) -> bytes | None:
        """The key of session `sid`'s row; None when `sid` is not an id."""
        if is_valid_id(sid):
            return hashlib.sha256(sid.encode()).digest()
        return None

    @classmethod
    def doomed_key(cls, sid: str) -> bytes | None:
        """The key of the row `destroy(sid)` deletes: `sid` is an id, or a handle from
        `user_sessions` (never a lookup: only `destroy` takes handles)."""
        if isinstance(sid, str) and _HANDLE_RE.fullmatch(sid):
            return bytes.fromhex(sid)
        return cls.row_key(sid)

    @staticmethod
    def handle(key: bytes) -> str:
        """The name `user_sessions` gives the session whose row key is `key`."""
        return key.hex()

    async def sweep(self) -> int | None:
        """Delete the expired rows, batch by batch; return how many, or None when another
        worker is sweeping."""
        raise NotImplementedError

    def start_sweeping(self) -> None:
        """Start the sweep timer (from `open`)."""
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def stop_sweeping(self) -> None:
        """Stop the sweep timer (from `close`)."""
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    async def _sweep_forever(self) -> None:
        while True:
            # Jitter: workers started together spread their sweeps over the interval.
            await asyncio.sleep(self.sweep_every * random.uniform(0.5, 1.0))
            try:
                await self.sweep()
            except self.unavailable_errors as exc:
                logger.warning("Session sweep of %s failed, trying later: %s", self.table, exc)
