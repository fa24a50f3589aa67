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
- This module is a leaf: it imports only redis-py and the standard library,
  and only when a client is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["RedisTarget", "connect", "parse_redis_url"]

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
    from redis.asyncio import sentinel as redis_sentinel

    # Any: redis-py 8.1 leaves Sentinel's constructor untyped, 8.2 types it.
    sentinel_class: Any = redis_sentinel.Sentinel
    sentinel_auth = {}
    if "sentinel_password" in target.options:
        sentinel_auth["password"] = target.options["sentinel_password"]
    sentinel = sentinel_class(
        list(target.nodes),
        sentinel_kwargs={"socket_timeout": 1.0, **sentinel_auth},
        socket_timeout=5.0,
        ssl=target.tls,
        **auth,
    )
    return sentinel.master_for(target.service, db=target.db, retry=_retry(), **options)
