"""`SentinelPipeline`: the session store's batched connection to the primary that the
Sentinels name, following it through a failover.

Rules:
- The primary's address comes from the Sentinels (`redis_connect.sentinels`: the
  primary of the newest configuration epoch); the commands go through an
  `AutoPipeline` to it, batched as on a single server.
- While commands flow, the Sentinels are asked again at least once a second, in
  the background (no request waits for it). A new address sends the next commands
  to a new `AutoPipeline` and closes the old one's connection.
- `READONLY` (the primary was demoted), `MASTERDOWN`, `NOREPLICAS`, a broken
  connection or a primary that does not answer: the Sentinels are asked at once,
  and the command retried with backoff for up to `retry_for` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from typing import Any

from redis.exceptions import (
    ClusterDownError,
    ConnectionError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TimeoutError,
)

from ..redis_connect import RedisTarget, sentinels
from .redis_pipeline import AutoPipeline, Backoff, OncePerLoop, RoutingPipeline, node_url

__all__ = ["SentinelPipeline"]

# How often, while commands flow, the Sentinels are asked who the primary is.
FOLLOW_EVERY_S = 1.0
# MASTERDOWN is a ClusterDownError in redis-py's error classes.
_RETRIED = (ConnectionError, TimeoutError, ReadOnlyError, ClusterDownError)


class SentinelPipeline(RoutingPipeline):
    """Run the session store's commands on the primary the Sentinels name, batched."""

    def __init__(self, target: RedisTarget, *, timeout: float = 5.0, retry_for: float = 6.0):
        super().__init__(target, timeout=timeout, retry_for=retry_for)
        # redis-py's clients belong to the loop they first ran on: one Sentinel per loop.
        self._sentinels: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._address: tuple[str, int] | None = None
        self._node: AutoPipeline | None = None
        self._asked_at = 0.0
        self._asking = OncePerLoop(self._ask_sentinels)

    async def execute_tracked(self, *args: Any) -> tuple[Any, AutoPipeline, object]:
        backoff = Backoff(self.retry_for)
        while True:
            try:
                return await (await self._primary()).execute_tracked(*args)
            except _RETRIED:
                pass
            except ResponseError as exc:
                if not str(exc).startswith("NOREPLICAS"):
                    raise
            self._asked_at = 0.0  # ask the Sentinels before the next attempt
            if not await backoff.wait():
                raise

    async def close(self) -> None:
        """Close this event loop's connection to the primary."""
        self._asking.cancel()
        if self._node is not None:
            await self._node.close()
        manager = self._sentinels.pop(asyncio.get_running_loop(), None)
        if manager is not None:
            with contextlib.suppress(RedisError, OSError):
                await manager.aclose()

    async def _primary(self) -> AutoPipeline:
        """The primary's pipeline: asked of the Sentinels first when unknown or after an
        error, and in the background when the last answer is a second old."""
        stale = time.monotonic() - self._asked_at >= FOLLOW_EVERY_S
        if self._node is None or self._asked_at == 0.0:
            await self._asking.wait()
        elif stale:
            self._asking.soon()
        assert self._node is not None  # set by _ask, or it raised
        return self._node

    async def _ask_sentinels(self) -> None:
        loop = asyncio.get_running_loop()
        manager = self._sentinels.get(loop)
        if manager is None:
            manager = self._sentinels[loop] = sentinels(self.target)
        address = await manager.discover_master(self.target.service)
        self._asked_at = time.monotonic()
        if address == self._address and self._node is not None:
            return
        old, self._address = self._node, address
        url = node_url(self.target, address, self.target.db)
        self._node = AutoPipeline(url, timeout=self.timeout)
        if old is not None:
            with contextlib.suppress(RedisError, OSError):
                await old.close()
