"""`rate_limit()`: at most N requests per window per key, in process or shared through Redis.

Rules:
- Fixed windows: `"5/minute"` allows 5 requests in each minute-long window of
  a key: `key(c)` (plain or async), else the peer address, read as
  ip_restriction() reads it (`http_rules.addresses`: `::ffff:10.0.0.1` is
  `10.0.0.1`); a request without a peer is refused (403), never counted in a
  bucket shared by every such request. Over the limit is 429
  with `Retry-After` (seconds to the window's end); every answer carries
  `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.
- `store="memory"`: one count per process (each worker counts alone). Expired
  windows are swept as time passes, so memory stays bounded by the keys seen
  in one window.
- Each limiter owns its counters: keys are `prefix + name + ":" + key`, where
  `name` is the `name=` given, else the rate and the limiter's place among the
  limiters of that rate the process made (`5/60s#1`, `5/60s#2`): the same in
  every worker and host that builds the app the same way. Two limiters never
  share a count, whatever their key function.
- `store="redis"`: one count for every worker and host. Each request is ONE
  Lua script on ONE key (INCR, and PEXPIRE when it was the first), atomic, so
  no read-then-write race lets extra requests through, and it runs on Redis
  Cluster. A prefix with `{` or `}` is refused (it would pin every key to one
  cluster slot).
- A Redis outage fails open (the request passes, logged once per outage) or,
  with `when_store_fails="closed"`, answers 503.
- A malformed limit (`"5/fortnight"`, `"0/minute"`) is a ValueError at start-up.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..compose import Middleware, Next, awaited
from ..describe import Description, describe
from ..exceptions import HTTPException
from ..http_rules import peer_key
from ..redis_connect import check_prefix, milliseconds
from ._options import choice

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["RateLimit", "parse_rate", "rate_limit"]

log = logging.getLogger("microweb.ratelimit")

_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
# How many limiters of each rate this process made: their default names.
_made: Counter[str] = Counter()
_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d+)?\s*([a-z]+?)s?\s*")

# KEYS[1]: the window's counter. ARGV[1]: the window in ms. Returns {count, ms left}.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
"""
_HIT_SHA = hashlib.sha1(_HIT.encode(), usedforsecurity=False).hexdigest()


def parse_rate(limit: str) -> tuple[int, float]:
    """`"5/minute"`, `"100/hour"`, `"10/30 seconds"` -> (count, window in seconds)."""
    match = _RATE.fullmatch(limit.lower()) if isinstance(limit, str) else None
    if match is None or match.group(3) not in _UNITS:
        raise ValueError(
            f"rate_limit(): {limit!r} is not a rate; write N/second, N/minute, N/hour, N/day "
            "or N/<k> <unit>s (e.g. '10/30 seconds')"
        )
    count = int(match.group(1))
    window = int(match.group(2) or 1) * _UNITS[match.group(3)]
    if count < 1 or window < 1:
        raise ValueError(f"rate_limit(): {limit!r} must allow at least 1 request per window")
    return count, float(window)


class _Store(Protocol):
    async def hit(self, key: str, window: float) -> tuple[int, float]:
        """Count one request for `key`; the count so far and seconds to the window's end."""
        ...

    async def close(self) -> None: ...


class _MemoryStore:
    __slots__ = ("_next_sweep", "_windows")

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}  # key -> (count, window end)
        self._next_sweep = 0.0

    async def hit(self, key: str, window: float) -> tuple[int, float]:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
            self._next_sweep = now + window
        count, end = self._windows.get(key, (0, 0.0))
        if end <= now:
            count, end = 0, now + window
        count += 1
        self._windows[key] = (count, end)
        return count, end - now

    async def close(self) -> None:
        self._windows.clear()


class _RedisStore:
    __slots__ = ("_client", "_owned", "_url")

    def __init__(self, url: str | None, client: Any) -> None:
        self._url = url or "redis://127.0.0.1:6379/0"
        self._client = client
        self._owned = client is None

    def _redis(self) -> Any:
        if self._client is None:
            from ..redis_connect import connect

            self._client = connect(self._url)
        return self._client

    async def hit(self, key: str, window: float) -> tuple[int, float]:
        from redis.exceptions import NoScriptError

        client = self._redis()
        ms = milliseconds(window)
        try:
            count, ttl = await client.evalsha(_HIT_SHA, 1, key, ms)
        except NoScriptError:
            # EVAL runs on the key's own node: right after a failover the new primary has
            # no script cache, and SCRIPT LOAD would go to every primary.
            count, ttl = await client.eval(_HIT, 1, key, ms)
        return int(count), int(ttl) / 1000

    async def close(self) -> None:
        if self._owned and self._client is not None:
            from ..redis_connect import close

            client, self._client = self._client, None
            await close(client)  # a Sentinel client's connections to the Sentinels too


class RateLimit(Middleware):
    """The middleware `rate_limit()` returns; `startup`/`shutdown` open and close Redis."""

    def __init__(
        self,
        limit: str,
        key: Callable[[Context], Any] | None,
        store: _Store,
        prefix: str,
        fail_open: bool,
        name: str | None = None,
    ) -> None:
        self.count, self.window = parse_rate(limit)
        if name is None:
            rate = f"{self.count}/{self.window:g}s"
            _made[rate] += 1
            name = f"{rate}#{_made[rate]}"
        self.name = name
        self.key = key
        self.store = store
        self.prefix = f"{prefix}{name}:"
        self.fail_open = fail_open
        self._outage = False

    async def shutdown(self) -> None:
        await self.store.close()

    async def __call__(self, c: Context, next: Next) -> Any:
        if self.key is None:
            client = peer_key(c.req.client)
        else:
            client = await awaited(self.key(c))
        key = f"{self.prefix}{client}"
        try:
            count, reset = await self.store.hit(key, self.window)
        except Exception as err:
            if not _unavailable(err):
                raise
            if not self._outage:
                self._outage = True
                how = "letting requests through" if self.fail_open else "refusing requests"
                log.error("Rate limit store unavailable, %s: %s", how, err)
            if self.fail_open:
                await next()
                return None
            raise HTTPException(503, "Rate limit store unavailable") from None
        if self._outage:
            self._outage = False
            log.warning("Rate limit store reachable again")
        remaining = max(0, self.count - count)
        reset_s = max(1, math.ceil(round(reset, 3)))  # round: 60.0000001 s is 60, not 61
        headers = {
            "ratelimit-limit": str(self.count),
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(reset_s),
        }
        if count > self.count:
            raise HTTPException(
                429, "Too Many Requests", headers={**headers, "retry-after": str(reset_s)}
            )
        await next()
        if c.res is not None:
            for name, value in headers.items():
                c.res.headers[name] = value
        return None


def _unavailable(err: Exception) -> bool:
    if isinstance(err, OSError):
        return True
    try:
        from redis.exceptions import RedisError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(err, RedisError)


def rate_limit(
    limit: str = "5/minute",
    key: Callable[[Context], Any] | None = None,
    store: str = "memory",
    url: str | None = None,
    client: Any = None,
    prefix: str = "microweb:ratelimit:",
    when_store_fails: str = "open",
    name: str | None = None,
    *,
    on_store_error: str | None = None,
) -> RateLimit:
    """Rate limit middleware; see the module rules.

    Options:
    - `limit` (str, default `"5/minute"`): the rate, `N/second`, `N/minute`, `N/hour`,
      `N/day` or `N/<k> <unit>s`.
    - `key` (callable | None, default None): `key(c)` (plain or async) names what is
      counted; the peer's address otherwise.
    - `store` (str, default `"memory"`): `"memory"` (one count per process) or
      `"redis"` (one count for every worker and host).
    - `url` (str | None, default None): the Redis URL (`store="redis"`), else
      `redis://127.0.0.1:6379/0`.
    - `client` (Redis client | None, default None): a ready `redis.asyncio` client instead.
    - `prefix` (str, default `"microweb:ratelimit:"`): the start of every key.
    - `when_store_fails` (str, default `"open"`): with Redis unreachable, `"open"` lets
      requests through, `"closed"` answers 503.
    - `name` (str | None, default None): names the limiter's counters (default: its
      rate and creation order), for apps that make limiters in an order that differs
      between workers.
    - `on_store_error` (str | None, default None): the former name of
      `when_store_fails`, still accepted.
    """
    parse_rate(limit)
    if name is not None and (not name or not name.isprintable() or "{" in name or "}" in name):
        raise ValueError(f"rate_limit(): name must be printable text without braces, got {name!r}")
    if on_store_error is not None:
        when_store_fails = on_store_error
    choice(when_store_fails, "rate_limit()", "when_store_fails", ("open", "closed"))
    try:
        check_prefix(prefix)
    except ValueError as err:
        raise ValueError(f"rate_limit(): {err}") from None
    chosen: _Store
    if store == "memory":
        if url is not None or client is not None:
            raise ValueError('rate_limit(): url and client go with store="redis"')
        chosen = _MemoryStore()
    elif store == "redis":
        if url is not None:
            from ..redis_connect import parse_redis_url

            parse_redis_url(url)
        chosen = _RedisStore(url, client)
    else:
        raise ValueError(f'rate_limit(): store is "memory" or "redis", got {store!r}')
    limiter = RateLimit(limit, key, chosen, prefix, when_store_fails == "open", name)
    return describe(limiter, Description(responses={429: f"Over the rate limit ({limit})"}))
