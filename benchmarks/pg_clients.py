"""asyncpg against psycopg 3 on the PostgreSQL session driver's round trip, in process.

Usage (from the repository root; needs `pip install asyncpg 'psycopg[binary,pool]'`)::

    .venv/bin/python benchmarks/pg_clients.py [--url postgresql://postgres@127.0.0.1/test]
                                              [--tasks 64] [--requests 20000] [--rounds 3]

One request is what the driver does for a request that changes its session: a SELECT of
the row by its key (with whether its expiry needs sliding), then an UPDATE that merges one
changed key into the `jsonb` (`(data - removed) || changed`) and slides the expiry. `--tasks`
concurrent tasks share one pool of 10 connections; each works on its own session row. The
table prints requests per second (median over rounds, interleaved) for each client set-up:

- asyncpg, as it comes (named prepared statements, cached per connection);
- asyncpg with `statement_cache_size=0` (what it needs behind PgBouncer in transaction mode);
- psycopg with its `AsyncConnectionPool`, server-side prepare after 5 uses (its default);
- psycopg with `prepare_threshold=None` (no prepared statements: PgBouncer-safe).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

SELECT = (
    "SELECT data::text, expires_at < now() + make_interval(secs => $2) "
    "FROM {t} WHERE id = $1 AND expires_at > now()"
)
UPDATE = (
    "UPDATE {t} SET data = (data - $2::text[]) || $3::jsonb, "
    "expires_at = now() + make_interval(secs => $4) "
    "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit "
    "WHERE id = $1 AND expires_at > now()"
)


def _psycopg(sql: str, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """`sql` with psycopg's `%s` placeholders, and `args` in the order they appear."""
    order = [int(n) - 1 for n in re.findall(r"\$(\d)", sql)]
    return re.sub(r"\$\d", "%s", sql), tuple(args[i] for i in order)


async def _asyncpg_setup(url: str, cache: bool) -> tuple[Callable[..., Awaitable[Any]], Any]:
    import asyncpg

    pool = await asyncpg.create_pool(
        url, min_size=10, max_size=10, statement_cache_size=100 if cache else 0
    )

    async def request(table: str, key: bytes, n: int) -> None:
        async with pool.acquire() as conn:
            row = await conn.fetchrow(SELECT.format(t=table), key, 7200.0)
        json.loads(row[0])
        async with pool.acquire() as conn:
            await conn.execute(
                UPDATE.format(t=table), key, [], json.dumps({"visits": str(n)}), 7200.0
            )

    return request, pool


async def _psycopg_setup(url: str, prepare: bool) -> tuple[Callable[..., Awaitable[Any]], Any]:
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

    async def configure(conn: AsyncConnection[Any]) -> None:
        conn.prepare_threshold = 5 if prepare else None

    pool = AsyncConnectionPool(
        url, min_size=10, max_size=10, open=False, configure=configure, kwargs={"autocommit": True}
    )
    await pool.open(wait=True)

    async def request(table: str, key: bytes, n: int) -> None:
        async with pool.connection() as conn:
            cur = await conn.execute(*_psycopg(SELECT.format(t=table), (key, 7200.0)))
            row = await cur.fetchone()
        assert row is not None
        json.loads(row[0])
        async with pool.connection() as conn:
            await conn.execute(
                *_psycopg(UPDATE.format(t=table), (key, [], json.dumps({"visits": str(n)}), 7200.0))
            )

    return request, pool


SETUPS: dict[str, Callable[[str], Awaitable[tuple[Callable[..., Awaitable[Any]], Any]]]] = {
    "asyncpg": lambda url: _asyncpg_setup(url, True),
    "asyncpg, no statement cache": lambda url: _asyncpg_setup(url, False),
    "psycopg pool": lambda url: _psycopg_setup(url, True),
    "psycopg pool, no prepare": lambda url: _psycopg_setup(url, False),
}


async def _measure(name: str, url: str, table: str, keys: list[bytes], total: int) -> float:
    request, pool = await SETUPS[name](url)
    per_task = total // len(keys)

    async def worker(key: bytes) -> None:
        for n in range(per_task):
            await request(table, key, n)

    for key in keys:  # warm-up
        await request(table, key, 0)
    started = time.perf_counter()
    await asyncio.gather(*(worker(key) for key in keys))
    elapsed = time.perf_counter() - started
    await pool.close()
    return per_task * len(keys) / elapsed


async def main(url: str, tasks: int, requests: int, rounds: int) -> None:
    import asyncpg

    table = f"bench_clients_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(url)
    await conn.execute(
        f"CREATE TABLE {table} (id bytea PRIMARY KEY, data jsonb NOT NULL, user_id text, "
        "expires_at timestamptz NOT NULL)"
    )
    keys = [hashlib.sha256(os.urandom(32)).digest() for _ in range(tasks)]
    await conn.executemany(
        f"INSERT INTO {table} VALUES ($1, '{{}}', NULL, now() + interval '1 hour')",
        [(k,) for k in keys],
    )
    results: dict[str, list[float]] = {name: [] for name in SETUPS}
    try:
        for _ in range(rounds):
            for name in SETUPS:
                results[name].append(await _measure(name, url, table, keys, requests))
    finally:
        await conn.execute(f"DROP TABLE {table}")
        await conn.close()
    print(f"| client | requests/s (median of {rounds}) |")
    print("|---|---|")
    for name, values in results.items():
        print(f"| {name} | {statistics.median(values):,.0f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    )
    parser.add_argument("--tasks", type=int, default=64)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.tasks, args.requests, args.rounds))
