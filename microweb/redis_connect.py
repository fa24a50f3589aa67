"""Redis URLs to clients: one server, Redis Cluster or Sentinel.

URLs:
- `redis://[user:password@]host:port/db` and `rediss://...` (TLS): one server.
- `redis+cluster://[user:password@]host:port[,host:port...]` (and
  `rediss+cluster://`): Redis Cluster; any reachable nodes, the client learns
  the rest and the slot map from them.
- `redis+sentinel://[user:password@]host:port[,host:port...]/service[/db]`
  (and `rediss+sentinel://`): the primary of `service`, as the Sentinels name
  it. The password is the data nodes'; `sentinel_password` in the query gives
  the Sentinels' own.

Rules:
- A malformed URL is a ValueError naming what is wrong, at start-up.
- Cluster and Sentinel clients retry with backoff across a failover window
  (node timeout plus election took 2-3 s here), where redis-py's defaults do
  not: `Sentinel.master_for()` retries nothing unless given `retry=`.
- A Sentinel client follows the primary: it asks every Sentinel and takes the
  primary with the newest configuration epoch (one Sentinel that has not heard
  of a failover yet cannot send it back to the old primary), and it asks again
  at least once a second while it is used, closing the connections to a
  primary that was replaced (one that was paused, too, once it answers).
- `close(client)` closes what `connect()` made, the Sentinel client's own
  connections to the Sentinels included (the primary's client alone leaves them
  open).
- Small rules every Redis user here shares: `check_prefix` (a key prefix is
  not empty and holds no `{`/`}` hash tag, which would put every key in one
  Cluster slot), `milliseconds` (a duration for PX/WAIT: whole milliseconds,
  at least one) and `as_text` (a reply's bytes as text).
- This module is a leaf: it imports only redis-py and the standard library,
  and only when a client is made.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "RedisTarget",
    "as_text",
    "check_prefix",
    "close",
    "connect",
    "milliseconds",
    "parse_redis_url",
    "sentinels",
]

SINGLE = ("redis", "rediss", "unix")
CLUSTER = ("redis+cluster", "rediss+cluster")
SENTINEL = ("redis+sentinel", "rediss+sentinel")


@dataclass(frozen=True)
class RedisTarget:
    """What a Redis URL names."""

    kind: str  # "single", "cluster" or "sentinel"
    url: str
    nodes: tuple[tuple[str, int], ...] = ()
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False
    options: dict[str, str] = field(default_factory=dict)


def check_prefix(prefix: str) -> str:
    """Return the key prefix `prefix`; a `ValueError` when it is empty or holds a hash tag."""
    if not isinstance(prefix, str) or not prefix:
        raise ValueError(f"the Redis key prefix must be a non-empty string, got {prefix!r}")
    if "{" in prefix or "}" in prefix:
        raise ValueError(
            f"the Redis key prefix must not contain '{{' or '}}', got {prefix!r}: a hash tag "
            "there would put every key in one Redis Cluster slot"
        )
    return prefix


def milliseconds(seconds: float) -> int:
    """`seconds` as whole milliseconds for PX, PEXPIRE or WAIT: at least 1 (0 means
    "forever" to WAIT and is an error to PX)."""
    return max(1, round(seconds * 1000))


def as_text(value: object) -> str:
    """A Redis reply item as text: bytes decoded as UTF-8 (a bad byte replaced)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else str(value)


def _nodes(netloc: str, url: str) -> tuple[tuple[str, int], ...]:
    hosts = netloc.rpartition("@")[2]
    nodes = []
    for part in hosts.split(","):
        part = part.strip()
        if not part:
            raise ValueError(f"Redis URL {_safe(url)!r} has an empty host in its host list")
        if part.startswith("["):
            host, _, rest = part[1:].partition("]")
            port_text = rest.lstrip(":")
        else:
            host, _, port_text = part.rpartition(":") if ":" in part else (part, "", "")
        try:
            port = int(port_text) if port_text else 6379
        except ValueError:
            raise ValueError(f"Redis URL {_safe(url)!r}: {port_text!r} is not a port") from None
        if not host or not 0 < port < 65536:
            raise ValueError(f"Redis URL {_safe(url)!r}: bad host:port {part!r}")
        nodes.append((host, port))
    return tuple(nodes)


def _safe(url: str) -> str:
    """The URL without its password, for error messages."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(parts.password, "***")
    return url


def parse_redis_url(url: str) -> RedisTarget:
    """Parse and check a Redis URL; ValueError when it is not one this module serves."""
    if not isinstance(url, str) or "://" not in url:
        raise ValueError(f"Not a Redis URL: {url!r} (expected redis://host:port/db)")
    scheme = url.split("://", 1)[0].lower()
    if scheme in SINGLE:
        return RedisTarget("single", url, tls=scheme == "rediss")
    if scheme not in CLUSTER + SENTINEL:
        raise ValueError(
            f"Unknown Redis URL scheme {scheme!r}: use redis://, rediss://, redis+cluster:// "
            "or redis+sentinel://"
        )
    rest = url.split("://", 1)[1]
    netloc, _, tail = rest.partition("/")
    path, _, query = tail.partition("?")
    if "?" in netloc:
        netloc, _, query = netloc.partition("?")
    userinfo = netloc.rpartition("@")[0] if "@" in netloc else ""
    username, _, password = userinfo.partition(":") if userinfo else ("", "", "")
    options = {k: v[-1] for k, v in parse_qs(query).items()}
    common: dict[str, Any] = {
        "nodes": _nodes(netloc, url),
        "username": unquote(username) or None,
        "password": unquote(password) or None,
        "tls": scheme.startswith("rediss"),
        "options": options,
    }
    if scheme in CLUSTER:
        if path.strip("/"):
            raise ValueError(
                f"Redis URL {_safe(url)!r}: Redis Cluster has only database 0; drop the path"
            )
        return RedisTarget("cluster", url, **common)
    service, _, db_text = path.strip("/").partition("/")
    if not service:
        raise ValueError(
            f"Redis URL {_safe(url)!r} names no service: redis+sentinel://host:port/service"
        )
    try:
        db = int(db_text) if db_text else 0
    except ValueError:
        raise ValueError(
            f"Redis URL {_safe(url)!r}: {db_text!r} is not a database number"
        ) from None
    return RedisTarget("sentinel", url, service=unquote(service), db=db, **common)


def _retry() -> Any:
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff

    # About 6 s of attempts: longer than a failover's node timeout plus election.
    return Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=12)


def connect(url: str, **options: Any) -> Any:
    """A `redis.asyncio` client for `url` (a `RedisCluster` for a cluster URL, the
    primary's client for a Sentinel URL). `options` go to the client."""
    target = parse_redis_url(url)
    if target.kind == "single":
        import redis.asyncio as redis

        return redis.Redis.from_url(url, **options)
    auth: dict[str, Any] = {"username": target.username, "password": target.password}
    if target.kind == "cluster":
        from redis.asyncio.cluster import ClusterNode, RedisCluster

        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
            ssl=target.tls,
            retry=_retry(),
            **auth,
            **options,
        )
    _, pool_class = _sentinel_classes()
    return sentinels(target).master_for(
        target.service, connection_pool_class=pool_class, db=target.db, retry=_retry(), **options
    )


async def close(client: Any) -> None:
    """Close a client `connect()` made: its connections, and a Sentinel client's
    connections to the Sentinels."""
    await client.aclose()
    pool = getattr(client, "connection_pool", None)  # a cluster client has none
    manager = getattr(pool, "sentinel_manager", None)
    if manager is not None:
        await manager.aclose()


def sentinels(target: RedisTarget) -> Any:
    """redis-py's `Sentinel` for a Sentinel URL's target: `discover_master(service)`
    answers with the primary of the newest configuration epoch."""
    sentinel_class, _ = _sentinel_classes()
    sentinel_auth = {}
    if "sentinel_password" in target.options:
        sentinel_auth["password"] = target.options["sentinel_password"]
    return sentinel_class(
        list(target.nodes),
        sentinel_kwargs={"socket_timeout": 1.0, **sentinel_auth},
        socket_timeout=5.0,
        ssl=target.tls,
        username=target.username,
        password=target.password,
    )


# How often a Sentinel client in use asks who the primary is.
FOLLOW_EVERY_S = 1.0


def _sentinel_classes() -> tuple[Any, Any]:
    """redis-py's Sentinel and its pool, made to follow the primary (see the rules above).
    Any: redis-py 8.1 leaves Sentinel's constructor untyped, 8.2 types it."""
    from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
    from redis.exceptions import RedisError

    class NewestEpochSentinel(Sentinel):
        async def discover_master(self, service_name: str) -> Any:
            replies = await asyncio.gather(
                *(sentinel.sentinel_masters() for sentinel in self.sentinels),
                return_exceptions=True,
            )
            newest: tuple[int, Any] | None = None
            for reply in replies:
                state = reply.get(service_name) if isinstance(reply, dict) else None
                if state and self.check_master_state(state, service_name):
                    epoch = int(state.get("config-epoch", 0))
                    if newest is None or epoch > newest[0]:
                        newest = (epoch, (state["ip"], state["port"]))
            if newest is None:  # none knows a primary: redis-py's error lists why
                return await super().discover_master(service_name)
            return newest[1]

    class FollowingPool(SentinelConnectionPool):
        asked_at = 0.0

        async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
            pool: Any = super()
            now = time.monotonic()
            if self.is_master and self.master_address and now - self.asked_at >= FOLLOW_EVERY_S:
                self.asked_at = now
                # A new address closes the idle connections to the old one; busy ones
                # are closed when they come back (the pool no longer owns them).
                # Sentinels that do not answer leave the primary we know in place.
                with contextlib.suppress(RedisError):
                    await pool.get_master_address()
            return await pool.get_connection(*args, **kwargs)

    return NewestEpochSentinel, FollowingPool
