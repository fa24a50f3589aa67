"""`RedisStore`: one Redis HASH per session, one sorted set per user.

Rules:
- Keys all start with `prefix`. An anonymous session is `prefix + sid`: those
  spread over every Cluster slot. A session created signed in (login,
  regenerate) has an id ending in `~tag`, where `tag` is 24 bits of a BLAKE2b
  hash of its user id, and the key `prefix + "{tag}" + random part`;
  the user's index is `prefix + "user:{tag}" + user_id` and their logout
  generation `prefix + "gen:{tag}" + user_id`. The hash tag puts all of one
  user's keys in one Cluster slot, so one script can change them together.
- Every script declares every key it touches.
- `load` is one script: HGETALL + PEXPIRE (activity slides the idle expiry).
  `save` is one script: existence check + HSET/HDEL + PEXPIRE, atomic, so
  concurrent saves merge and a destroyed session is never recreated.
- The user index is a sorted set: sid -> when its entry expires (server time,
  ms). Indexing drops the expired entries with one ZREMRANGEBYSCORE, so a
  login costs the same however many sessions the user has; the set itself
  lives as long as its longest entry.
- Logout everywhere cannot race a login or a regenerate: `save_signed_in`
  creates the record and indexes it in one script, refusing when the user's
  generation moved since the session was loaded (`__gen`); `destroy_user`
  bumps the generation and deletes the indexed sessions in one script, then
  deletes any that the index gained meanwhile.
- With a `redis://` url, commands go through an `AutoPipeline`: the commands
  of concurrent requests share one connection and are written in batches; a
  restarted Redis is reconnected without a restart of the app, a dead one
  fails fast, a hung one times out after 5 s. With `redis+cluster://` they go
  through a `ClusterPipeline`: one `AutoPipeline` per primary, routed by slot,
  following MOVED/ASK and re-reading the slot map after a failover. With
  `redis+sentinel://` (see `redis_connect`), or a `client=` given by the
  caller (never closed here), the client runs each command itself.
- Scripts run by EVALSHA; on NOSCRIPT (a new primary after a failover has no
  script cache) the same call is made with EVAL, which runs on the key's own
  node: SCRIPT LOAD would go to every primary and fail while one is down.
- A prefix with `{` or `}` is refused: a hash tag in it would put every key
  of every user in one cluster slot.
- Ended sessions: `destroy` and `destroy_user` are scripts that PUBLISH the
  end keys of the signed-in sessions they delete on `prefix + "ended"`, in the
  same step as the delete. `endings()` hears them through a
  `microweb.broadcast` relay (one pub/sub connection per process, opened when
  the first socket is watched), on the store's URL or client; `time_left` is
  a PTTL per session.
- `durable=True`: creating a signed-in record (login, regenerate), destroying one
  (invalidate, logout), indexing and destroying a user's sessions are each
  followed by `WAIT 1` on the connection that wrote; no replica acknowledging
  within `durable_timeout` raises `NotDurable` (a 503), so the request never
  reports a write that a failover could lose. Ordinary saves never wait.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import weakref
from collections.abc import Awaitable, Sequence
from typing import Any, ClassVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError

from ..broadcast import Broadcast
from ..redis_connect import as_text, check_prefix, milliseconds, parse_redis_url
from . import redis_scripts as scripts
from .endings import BusEndings
from .redis_cluster_pipeline import ClusterPipeline
from .redis_pipeline import AutoPipeline, RoutingPipeline
from .redis_sentinel_pipeline import SentinelPipeline
from .store import (
    GENERATION,
    TAG_SEPARATOR,
    USER,
    Change,
    SessionStore,
    checked_id,
    end_key,
    is_valid_id,
    new_id,
)

__all__ = ["NotDurable", "RedisStore"]


class NotDurable(RedisError):
    """No replica acknowledged a durable write in time."""


logger = logging.getLogger("microweb.sessions")


# Logout everywhere stops after this many rounds of sessions added while it runs: those
# logins came after it started.
_DESTROY_ROUNDS = 3


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
        durable: bool = False,
        durable_timeout: float = 1.0,
    ) -> None:
        target = parse_redis_url(url)
        self.url = url
        self.prefix = check_prefix(prefix)
        self.durable = durable
        self.wait_ms = milliseconds(durable_timeout)
        self._client: Any = client
        self._target = target
        # The shared WAITs of each connection that made durable writes (`_shared_wait`).
        self._waits: weakref.WeakKeyDictionary[object, _Waits] = weakref.WeakKeyDictionary()
        self._pipeline: AutoPipeline | RoutingPipeline | None = None
        self.ended_channel = prefix + "ended"
        self._endings = BusEndings(self._ended_bus, self.ended_channel)

    async def open(self) -> None:
        try:
            await self._run("PING")
        except RedisError as exc:
            logger.warning("Redis session store not reachable at startup: %s", exc)

    async def close(self) -> None:
        await self._endings.close()
        if self._pipeline is not None:
            pipeline, self._pipeline = self._pipeline, None
            await pipeline.close()

    def endings(self) -> BusEndings:
        return self._endings

    def _ended_bus(self) -> Broadcast:
        if self._client is not None:
            return Broadcast(client=self._client)
        return Broadcast(self.url)

    async def time_left(self, sids: Sequence[str], idle_s: float) -> list[float | None]:
        keys = [self.session_key(checked_id(sid)) for sid in sids]
        ttls = await asyncio.gather(*(self._run("PTTL", key) for key in keys))
        return [None if ttl == -2 else math.inf if ttl == -1 else ttl / 1000 for ttl in ttls]

    async def load(self, sid: str, idle_s: float) -> dict[str, str] | None:
        if not is_valid_id(sid):
            return None
        flat = await self._eval(scripts.LOAD, [self.session_key(sid)], milliseconds(idle_s))
        if not flat:
            return None
        items = [as_text(x) for x in flat]
        return dict(zip(items[::2], items[1::2], strict=True))

    async def save(self, sid: str, change: Change, *, create: bool, idle_s: float) -> bool:
        args = [milliseconds(idle_s), "1" if create else "0", *_arguments(change)]
        keys = [self.session_key(checked_id(sid))]
        if create and USER in change.changed:  # signed in under an id outside the user's slot
            return bool(int(await self._write(scripts.SAVE, keys, *args)))
        return bool(int(await self._eval(scripts.SAVE, keys, *args)))

    def new_id(self, user_id: str | None = None) -> str:
        return new_id(None if user_id is None else self._tag(user_id))

    async def save_signed_in(
        self, sid: str, change: Change, *, user_id: str, idle_s: float, index_s: float
    ) -> bool:
        index, generation = self._user_keys(user_id)
        if _tag_of(checked_id(sid)) != self._tag(user_id):  # not in the user's slot
            return await super().save_signed_in(
                sid, change, user_id=user_id, idle_s=idle_s, index_s=index_s
            )
        keys = [self.session_key(sid), index, generation]
        expected = change.changed.get(GENERATION, "")
        args = [milliseconds(idle_s), milliseconds(index_s), sid, expected, *_arguments(change)]
        return bool(int(await self._write(scripts.SAVE_SIGNED_IN, keys, *args)))

    async def destroy(self, sid: str) -> None:
        if is_valid_id(sid):
            key = self.session_key(sid)
            await self._write(scripts.DESTROY, [key], self.ended_channel, end_key(sid))

    async def index_user(self, user_id: str, sid: str, idle_s: float) -> None:
        # A lost index entry would let logout everywhere miss this session: durable.
        await self._write(
            scripts.INDEX, list(self._user_keys(user_id)), milliseconds(idle_s), checked_id(sid)
        )

    async def destroy_user(self, user_id: str) -> None:
        index, generation = self._user_keys(user_id)
        tag = self._tag(user_id)
        sids = await self._members(index)
        for _ in range(_DESTROY_ROUNDS):
            # The user's own sessions go with the index, in one script; any other indexed
            # id (a session signed in without a new id) lives in another slot.
            mine = [sid for sid in sids if _tag_of(sid) == tag]
            others = [sid for sid in sids if _tag_of(sid) != tag]
            keys = [index, generation, *(self.session_key(sid) for sid in mine)]
            args = [self.ended_channel, *mine, *(end_key(sid) for sid in mine)]
            left = {as_text(sid) for sid in await self._write(scripts.DESTROY_USER, keys, *args)}
            if others:
                await asyncio.gather(*(self.destroy(sid) for sid in others))
                await self._run("ZREM", index, *others)
            sids = [sid for sid in left if sid not in others and is_valid_id(sid)]
            if not sids:
                break

    async def user_sessions(self, user_id: str, idle_s: float) -> list[tuple[str, dict[str, str]]]:
        index, _ = self._user_keys(user_id)
        sids = [sid for sid in await self._members(index) if is_valid_id(sid)]
        # HGETALL, not the load script: listing must not slide anyone's expiry.
        flats = await asyncio.gather(*(self._run("HGETALL", self.session_key(sid)) for sid in sids))
        found = []
        for sid, flat in zip(sids, flats, strict=True):
            if isinstance(flat, dict):
                record = {as_text(k): as_text(v) for k, v in flat.items()}
            else:
                items = [as_text(x) for x in flat or ()]
                record = dict(zip(items[::2], items[1::2], strict=True))
            if record:
                found.append((sid, record))
        return found

    def session_key(self, sid: str) -> str:
        """The Redis key of session `sid` (the tag of a signed-in id is its hash tag)."""
        random_part, _, tag = sid.partition(TAG_SEPARATOR)
        return f"{self.prefix}{{{tag}}}{random_part}" if tag else self.prefix + sid

    def index_key(self, user_id: str) -> str:
        """The Redis key of `user_id`'s index: a sorted set, session id -> expiry (ms)."""
        return self._user_keys(user_id)[0]

    def _user_keys(self, user_id: str) -> tuple[str, str]:
        """The keys of `user_id`'s index and logout generation, in the slot of their tag."""
        tag = self._tag(user_id)
        return f"{self.prefix}user:{{{tag}}}{user_id}", f"{self.prefix}gen:{{{tag}}}{user_id}"

    def _tag(self, user_id: str) -> str:
        """24 bits of a hash of `user_id`, as 6 hex digits: users spread evenly over every
        Cluster slot (4 hex digits would reach only 13,152 of the 16,384), and an id shows
        nothing readable about its user."""
        return hashlib.blake2b(user_id.encode("utf-8", "surrogatepass"), digest_size=3).hexdigest()

    async def _members(self, index: str) -> list[str]:
        return [as_text(sid) for sid in await self._run("ZRANGE", index, 0, -1)]

    def _run(self, *args: Any) -> Awaitable[Any]:
        """Run one Redis command: through the caller's client, or batched with the commands
        of concurrent requests on this store's own connections."""
        if self._client is not None:
            return self._client_run(*args)
        return self._own_pipeline().execute(*args)

    def _own_pipeline(self) -> AutoPipeline | RoutingPipeline:
        """This store's batched connections, made on first use for the URL's topology."""
        if self._pipeline is None:
            if self._target.kind == "cluster":
                self._pipeline = ClusterPipeline(self._target)
            elif self._target.kind == "sentinel":
                self._pipeline = SentinelPipeline(self._target)
            else:
                self._pipeline = AutoPipeline(self.url)
        return self._pipeline

    async def _client_run(self, *args: Any) -> Any:
        try:
            return await self._client.execute_command(*args)
        except AttributeError as err:
            raise _mid_failover(err) from err

    async def _eval(self, script: scripts.Script, keys: list[str], *args: str | int) -> Any:
        """Run `script` on `keys`: EVALSHA, or EVAL when the server lost its scripts."""
        try:
            return await self._run("EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:  # first use, a restart, or a new primary after a failover
            return await self._run("EVAL", script.source, len(keys), *keys, *args)

    async def _write(self, script: scripts.Script, keys: list[str], *args: str | int) -> Any:
        """Run `script`, then (`durable=True`) wait for a replica to have its writes."""
        if self.durable:
            return await self._durably(keys[0], "EVAL", script.source, len(keys), *keys, *args)
        return await self._eval(script, keys, *args)

    async def _durably(self, key: str, *command: Any) -> Any:
        """Run `command` (on `key`), then WAIT for one replica on the same connection."""
        wait = ("WAIT", 1, self.wait_ms)
        if self._client is None:
            result, node, connection = await self._own_pipeline().execute_tracked(*command)
            acked = await self._shared_wait(node, connection)
        else:
            try:
                result, acked = await self._on_one_connection(key, command, wait)
            except AttributeError as err:
                raise _mid_failover(err) from err
        if isinstance(result, Exception):
            raise result
        if not isinstance(acked, int) or acked < 1:
            raise NotDurable(f"no Redis replica acknowledged the write within {self.wait_ms} ms")
        return result

    async def _shared_wait(self, node: AutoPipeline, connection: object) -> Any:
        """WAIT for the writes `connection` (of `node`) made so far, sharing one WAIT among
        every durable write that completed on it before the WAIT is sent.

        A connection's commands are answered in order, so a WAIT sent after a write's
        reply counts that write; it goes on that connection or nowhere (on a new one it
        would count no write at all). WAIT blocks the connection until a replica
        answers: one WAIT per round, not one per login, keeps the other requests moving.
        """
        if connection is None:
            raise RedisConnectionError("The connection of a durable write is not known")
        waits = self._waits.get(connection)
        if waits is None:
            waits = self._waits[connection] = _Waits()
        if waits.next is None:
            task = self._wait_after(node, connection, waits)
            waits.next = asyncio.get_running_loop().create_task(task)
        return await asyncio.shield(waits.next)

    async def _wait_after(self, node: AutoPipeline, connection: object, waits: _Waits) -> Any:
        if waits.running is not None:
            await asyncio.wait([waits.running])
        # From here on, new durable writes join the next round.
        waits.running, waits.next = waits.next, None
        return await node.execute_on(connection, "WAIT", 1, self.wait_ms)

    async def _on_one_connection(
        self, key: str, command: tuple[Any, ...], wait: tuple[Any, ...]
    ) -> tuple[Any, Any]:
        client = self._client
        if hasattr(client, "get_node_from_key"):  # RedisCluster: the key's primary
            from redis.asyncio.cluster import PipelineCommand

            await client.initialize()
            node = client.get_node_from_key(key)
            if node is None:
                raise RedisConnectionError(f"No Redis Cluster node serves {key!r}")
            commands = [PipelineCommand(0, *command), PipelineCommand(1, *wait)]
            await node.execute_pipeline(commands)
            return commands[0].result, commands[1].result
        async with client.pipeline(transaction=False) as pipe:
            pipe.execute_command(*command)
            pipe.execute_command(*wait)
            result, acked = await pipe.execute(raise_on_error=False)
        return result, acked


class _Waits:
    """A loop's shared WAITs: the one on the wire, and the next one, which durable writes
    that complete meanwhile join."""

    __slots__ = ("next", "running")

    def __init__(self) -> None:
        self.running: asyncio.Task[Any] | None = None
        self.next: asyncio.Task[Any] | None = None


def _mid_failover(err: AttributeError) -> RedisConnectionError:
    """redis-py's cluster client can fail with an AttributeError while a primary is being
    replaced: a connection error (503, retried by the next request) like any other."""
    return RedisConnectionError(f"Redis client failed mid-failover: {err!r}")


def _tag_of(sid: str) -> str:
    return sid.partition(TAG_SEPARATOR)[2]


def _arguments(change: Change) -> list[str | int]:
    """A save's script arguments: n, n*(field, value), removed fields..."""
    args: list[str | int] = [len(change.changed)]
    for field, value in change.changed.items():
        args += (field, value)
    args += change.removed
    return args
