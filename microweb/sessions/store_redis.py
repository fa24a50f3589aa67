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
- With `url`, commands go through an `AutoPipeline`: the commands of
  concurrent requests share one connection and are written in batches; a
  restarted Redis is reconnected without a restart of the app, a dead one
  fails fast, a hung one times out after 5 s. A `client=` given by the caller
  runs every command itself (`RedisCluster` too) and is never closed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Iterable
from typing import Any, ClassVar, NamedTuple

from redis.exceptions import NoScriptError, RedisError

from .redis_pipeline import AutoPipeline
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
        self._client: Any = client
        self._pipeline: AutoPipeline | None = None

    async def open(self) -> None:
        try:
            await self._run("PING")
        except RedisError as exc:
            logger.warning("Redis session store not reachable at startup: %s", exc)

    async def close(self) -> None:
        if self._pipeline is not None:
            pipeline, self._pipeline = self._pipeline, None
            await pipeline.close()

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
            await self._run("DEL", self.prefix + sid)

    async def touch(self, sid: str, idle_s: float) -> None:
        if is_valid_id(sid):
            await self._run("PEXPIRE", self.prefix + sid, _ms(idle_s))

    async def index_user(self, user_id: str, sid: str, idle_s: float) -> None:
        _check(sid)
        key = self._user_key(user_id)
        await self._eval(_INDEX, key, sid, _ms(idle_s))
        members = [_text(m) for m in await self._run("SMEMBERS", key)]
        others = [m for m in members if m != sid]
        if not others:
            return
        alive = await asyncio.gather(*(self._run("EXISTS", self.prefix + m) for m in others))
        dead = [m for m, exists in zip(others, alive, strict=True) if not exists]
        if dead:
            await self._run("SREM", key, *dead)

    async def destroy_user(self, user_id: str) -> None:
        key = self._user_key(user_id)
        members = [_text(m) for m in await self._run("SMEMBERS", key)]
        # One DEL per session: on Redis Cluster the sessions live in different slots.
        await asyncio.gather(
            *(self._run("DEL", self.prefix + m) for m in members if is_valid_id(m))
        )
        await self._run("DEL", key)

    def _user_key(self, user_id: str) -> str:
        return f"{self.prefix}user:{user_id}"

    def _run(self, *args: Any) -> Awaitable[Any]:
        """Run one Redis command: through the caller's client, or batched with the
        commands of concurrent requests on this store's own connection."""
        if self._client is not None:
            return self._client.execute_command(*args)  # type: ignore[no-any-return]
        if self._pipeline is None:
            self._pipeline = AutoPipeline(self.url)
        return self._pipeline.execute(*args)

    async def _eval(self, script: _Script, key: str, *args: str | int) -> Any:
        """Run `script` on one key: EVALSHA, loading the script first if Redis lost it."""
        try:
            return await self._run("EVALSHA", script.sha, 1, key, *args)
        except NoScriptError:  # first use, or Redis restarted without its scripts
            await self._run("SCRIPT LOAD", script.source)
            return await self._run("EVALSHA", script.sha, 1, key, *args)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _check(sid: str) -> None:
    if not is_valid_id(sid):
        raise ValueError(f"Invalid session id: {sid!r}")
