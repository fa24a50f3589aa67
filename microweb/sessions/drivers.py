"""The session drivers by name: `make_store` turns `session(driver=...)` and its
options into a `SessionStore`. A driver's module is imported only when it is used,
so `import microweb` loads no Redis code."""

from __future__ import annotations

from typing import Any

from .store import SessionStore

__all__ = ["DRIVERS", "make_store"]

DRIVERS = ("memory", "cookie", "file", "redis")


def make_store(
    driver: str | SessionStore,
    *,
    keys: list[str | bytes],
    idle_s: float,
    url: str,
    client: Any,
    directory: str,
    prefix: str,
    max_sessions: int,
    durable: bool,
    durable_timeout: float,
) -> SessionStore:
    """The store `session(driver=...)` names, made from the options it uses; a
    `SessionStore` instance is used as it is. Options that cannot work are a ValueError."""
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
            url, client=client, prefix=prefix, durable=durable, wait_timeout=durable_timeout
        )
    raise ValueError(f"Unknown session driver {driver!r}; use one of {', '.join(DRIVERS)}")
