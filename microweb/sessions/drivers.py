"""The session drivers by name: `make_store` turns `session(driver=...)` and its
options into a `SessionStore`. A driver's module is imported only when it is used,
so `import microweb` loads no Redis code."""

from __future__ import annotations

from typing import Any

from .store import SessionStore

__all__ = ["DRIVERS", "make_store"]

DRIVERS = ("memory", "cookie", "file", "redis", "postgres", "sqlite")
REDIS_URL = "redis://127.0.0.1:6379/0"
SQLITE_URL = "sqlite:///sessions.db"


def make_store(
    driver: str | SessionStore,
    *,
    keys: list[str | bytes],
    idle_s: float,
    url: str | None,
    client: Any,
    directory: str,
    prefix: str,
    max_sessions: int,
    durable: bool,
    durable_timeout: float,
    table: str,
    create_tables: bool,
    sweep_every: float,
) -> SessionStore:
    """The store `session(driver=...)` names, made from the options it uses; a
    `SessionStore` instance is used as it is. Options that cannot work are a ValueError.
    `url=None` is the driver's default: Redis on 127.0.0.1, `$DATABASE_URL`, or
    sessions.db in the working directory."""
    if durable and durable_timeout <= 0:
        raise ValueError("durable_timeout must be a positive number of seconds")
    if durable and driver != "redis":
        raise ValueError("durable=True needs driver='redis' (it waits for a Redis replica)")
    if isinstance(driver, SessionStore):
        return driver
    if driver == "memory":
        from .store_memory import MemoryStore

        return MemoryStore(max_sessions)
    if driver == "cookie":
        if not keys:
            raise ValueError("driver='cookie' requires secret=... to sign the cookie")
        from .store_cookie import CookieStore

        return CookieStore(keys)
    if driver == "file":
        from .store_file import FileStore

        return FileStore(directory, idle_s)
    if driver == "redis":
        from .store_redis import RedisStore

        return RedisStore(
            url or REDIS_URL,
            client=client,
            prefix=prefix,
            durable=durable,
            wait_timeout=durable_timeout,
        )
    if driver == "postgres":
        try:
            from .store_postgres import PostgresStore
        except ImportError as err:
            raise ImportError(
                "driver='postgres' needs psycopg 3: pip install 'microweb[postgres]'"
            ) from err
        return PostgresStore(
            url, client=client, table=table, create_tables=create_tables, sweep_every=sweep_every
        )
    if driver == "sqlite":
        from .store_sqlite import SqliteStore

        return SqliteStore(
            url or SQLITE_URL, table=table, create_tables=create_tables, sweep_every=sweep_every
        )
    raise ValueError(f"Unknown session driver {driver!r}; use one of {', '.join(DRIVERS)}")
