"""The session drivers by name: `make_store` turns `session(driver=...)` and its
options into a `SessionStore`. A driver's module is imported only when it is used,
so `import microweb` loads no Redis code."""

from __future__ import annotations

from .options import SessionOptions, configuration_error
from .store import SessionStore

__all__ = ["make_store"]

REDIS_URL = "redis://127.0.0.1:6379/0"
SQLITE_URL = "sqlite:///sessions.db"


def make_store(options: SessionOptions) -> SessionStore:
    """The store `options.driver` names, made from the options it uses; a
    `SessionStore` instance is used as it is. Options the store refuses are a
    `ValueError` starting `session(): `. `url=None` is the driver's default: Redis
    on 127.0.0.1, `$DATABASE_URL`, or sessions.db in the working directory."""
    if isinstance(options.driver, SessionStore):
        return options.driver
    try:
        return _make(options)
    except ValueError as err:
        raise configuration_error(str(err)) from None


def _make(options: SessionOptions) -> SessionStore:
    driver = options.driver
    if driver == "memory":
        from .store_memory import MemoryStore

        return MemoryStore(options.max_sessions)
    if driver == "cookie":
        from .store_cookie import CookieStore

        return CookieStore(options.keys)
    if driver == "file":
        from .store_file import FileStore

        return FileStore(options.directory, options.idle_s)
    if driver == "redis":
        from .store_redis import RedisStore

        return RedisStore(
            options.url or REDIS_URL,
            client=options.client,
            prefix=options.prefix,
            durable=options.durable,
            durable_timeout=options.durable_timeout,
        )
    if driver == "postgres":
        try:
            from .store_postgres import PostgresStore
        except ImportError as err:
            raise ImportError(
                "driver='postgres' needs psycopg 3: pip install 'microweb[postgres]'"
            ) from err
        return PostgresStore(
            options.url,
            client=options.client,
            table=options.table,
            create_tables=options.create_tables,
            sweep_every=options.sweep_every,
        )
    from .store_sqlite import SqliteStore  # the last of DRIVERS, which the options checked

    return SqliteStore(
        options.url or SQLITE_URL,
        table=options.table,
        create_tables=options.create_tables,
        sweep_every=options.sweep_every,
    )
