"""`RedisStore`: one Redis HASH per session, one SET per user.

Rules:
- Keys: `prefix + sid` for a session (fields = record fields), `prefix +
  "user:" + user_id` for a user's session ids. Every key starts with `prefix`.
- Each call touches ONE key (Lua scripts get exactly one key), so the store
  works on Redis Cluster; user index work is separate calls.
- `load` is one script: HGETALL + PEXPIRE (activity slides the idle expiry).
  `save` is one script: existence check + HSET/HDEL + PEXPIRE, atomic, so
  concurrent saves merge and a destroyed session is never recreated.
- A user SET lives at least as long as the longest session in it; dead
  members are pruned whenever a session is indexed.
- The client made from `url` is opened at startup, closed at shutdown, waits
  for a free pooled connection under bursts (never "too many connections"), and
  retries briefly (a restarted Redis is reconnected without a restart of the
  app; a dead one fails fast). A `client=` given by the caller is never closed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from typing import Any, ClassVar, NamedTuple

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import NoScriptError, RedisError

from .store import SessionStore, is_valid_id

__all__ = ["RedisStore"]

logger = logging.getLogger("microweb.sessions")


class _Script(NamedTuple):
    source: str
    sha: str


def _script(source: str) -> _Script:
    # Redis names scripts by their SHA-1; it is an identifier here, not a security measure.
    return _Script(source, hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest())


_LOAD = _script("""
local record = redis.call('HGETALL', KEYS[1])
if #record > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return record
""")

# ARGV: ttl_ms, create ('1'/'0'), n changed, n*(field, value), removed fields...
_SAVE = _script("""
if redis.call('EXISTS', KEYS[1]) == 0 and ARGV[2] ~= '1' then return 0 end
local n = tonumber(ARGV[3])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + 2 * n)) end
if #ARGV > 3 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 4 + 2 * n, #ARGV)) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
""")

_INDEX = _script("""
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
""")


class RedisStore(SessionStore):
    """Keep sessions in Redis at `url`, or through a ready `client`
    (`redis.asyncio.Redis` or `RedisCluster`, which this store never closes)."""

    unavailable_errors: ClassVar[tuple[type[BaseException], ...]] = (RedisError, OSError)

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        client: Any = None,
        prefix: str = "microweb:session:",
    ) -> None:
        if not prefix:
            raise ValueError("The Redis session prefix must not be empty")
        self.url = url
        self.prefix = prefix
        self._owns_client = client is None
        self._client: Any = client

    async def open(self) -> None:
        client = self._redis()
        try:
            await client.ping()
        except RedisError as exc:
            logger.warning("Redis session store not reachable at startup: %s", exc)

    async def close(self) -> None:
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def load(self, sid: str, idle_s: float) -> dict[str, str] | None:
        if not is_valid_id(sid):
            return None
        flat = await self._eval(_LOAD, self.prefix + sid, _ms(idle_s))
        if not flat:
            return None
        items = [_text(x) for x in flat]
        return dict(zip(items[::2], items[1::2], strict=True))

    async def save(
        self,
        sid: str,
        changed: dict[str, str],
        removed: Iterable[str],
        *,
        create: bool,
        idle_s: float,
    ) -> bool:
        _check(sid)
        args: list[str | int] = [_ms(idle_s), "1" if create else "0", len(changed)]
        for field, value in changed.items():
            args += (field, value)
        args += removed
        result = await self._eval(_SAVE, self.prefix + sid, *args)
        return bool(int(result))

    async def destroy(self, sid: str) -> None:
        if is_valid_id(sid):
            await self._redis().delete(self.prefix + sid)

    async def touch(self, sid: str, idle_s: float) -> None:
        if is_valid_id(sid):
            await self._redis().pexpire(self.prefix + sid, _ms(idle_s))

    async def index_user(self, user_id: str, sid: str, idle_s: float) -> None:
        _check(sid)
        key = self._user_key(user_id)
        await self._eval(_INDEX, key, sid, _ms(idle_s))
        members = [_text(m) for m in await self._redis().smembers(key)]
        others = [m for m in members if m != sid]
        if not others:
            return
        pipe = self._redis().pipeline(transaction=False)
        for member in others:
            pipe.exists(self.prefix + member)
        alive = await pipe.execute()
        dead = [m for m, exists in zip(others, alive, strict=True) if not exists]
        if dead:
            await self._redis().srem(key, *dead)

    async def destroy_user(self, user_id: str) -> None:
        key = self._user_key(user_id)
        members = [_text(m) for m in await self._redis().smembers(key)]
        sessions = [self.prefix + m for m in members if is_valid_id(m)]
        if sessions:
            pipe = self._redis().pipeline(transaction=False)
            for session_key in sessions:
                pipe.delete(session_key)
            await pipe.execute()
        await self._redis().delete(key)

    def _user_key(self, user_id: str) -> str:
        return f"{self.prefix}user:{user_id}"

    def _redis(self) -> Any:
        if self._client is None:
            # A blocking pool: under a burst, requests wait (up to 5 s) for one of the
            # 100 connections instead of failing with "Too many connections".
            pool = BlockingConnectionPool.from_url(
                self.url,
                max_connections=100,
                timeout=5,
                socket_connect_timeout=2,
                socket_timeout=5,
                health_check_interval=30,
                # Fail fast while Redis is down (the request answers 503), and
                # ride over a restart: a dead pooled connection is retried once.
                retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), 2),
            )
            self._client = Redis.from_pool(pool)
        return self._client

    async def _eval(self, script: _Script, key: str, *args: str | int) -> Any:
        """Run `script` on one key: EVALSHA, loading the script first if Redis lost it."""
        # perf: EVALSHA straight from the client; redis-py's Script object adds
        # about 10 us of client-side checks per call.
        client = self._redis()
        try:
            return await client.evalsha(script.sha, 1, key, *args)
        except NoScriptError:  # first use, or Redis restarted without its scripts
            await client.script_load(script.source)
            return await client.evalsha(script.sha, 1, key, *args)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _check(sid: str) -> None:
    if not is_valid_id(sid):
        raise ValueError(f"Invalid session id: {sid!r}")
