"""`ClusterPipeline`: the session store's batched connections on Redis Cluster, one
`AutoPipeline` per primary, each command sent to the primary of its key's slot.

Rules:
- The slot map comes from the cluster (`CLUSTER SLOTS`, asked of any node that
  answers: the known primaries first, then the URL's nodes). A command goes to
  the primary of its key's slot, on that primary's `AutoPipeline`, so the
  commands of concurrent requests for one primary share a connection and go
  out in batches, as on a single server.
- `MOVED` updates that slot, asks for the whole map again, and resends the
  command where it was sent. `ASK` (a slot being migrated) resends it to the
  named node once, right behind `ASKING` on the same connection.
- `TRYAGAIN` (a multi-key script during a migration), `CLUSTERDOWN`,
  `MASTERDOWN`, `READONLY` (a demoted primary), a connection that breaks or
  a node that does not answer: the map is asked for again and the command
  retried with backoff for up to `retry_for` seconds (longer than a failover's
  node timeout plus election), then the error is raised.
- At most one map refresh runs at a time per event loop; commands that need
  one wait for it.
- The key of a command is its first argument, or for EVAL/EVALSHA the first
  key it declares; a command without one (PING) goes to any primary. WAIT has
  no key: `execute_tracked` returns the primary's `AutoPipeline` and the
  connection a write went out on, to send the WAIT on that connection.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from redis.crc import key_slot
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ConnectionError,
    MovedError,
    ReadOnlyError,
    TimeoutError,
    TryAgainError,
)

from ..redis_connect import RedisTarget, as_text
from .redis_pipeline import AutoPipeline, Backoff, OncePerLoop, RoutingPipeline, node_url

__all__ = ["ClusterPipeline"]

SLOTS = 16384
_Address = tuple[str, int]
# Errors after which the map may be stale: ask again, retry with backoff.
_RETRIED = (ConnectionError, TimeoutError, TryAgainError, ClusterDownError, ReadOnlyError)
# MOVED and ASK answers one command may follow (and retries, counted together).
_MAX_REDIRECTS = 64


class ClusterPipeline(RoutingPipeline):
    """Run the session store's commands on Redis Cluster, batched per primary."""

    def __init__(self, target: RedisTarget, *, timeout: float = 5.0, retry_for: float = 6.0):
        super().__init__(target, timeout=timeout, retry_for=retry_for)
        self._slots: list[_Address | None] = [None] * SLOTS
        self._nodes: dict[_Address, AutoPipeline] = {}
        self._map = OncePerLoop(self._ask_for_map)

    async def execute_tracked(self, *args: Any) -> tuple[Any, AutoPipeline, object]:
        slot = _slot(args)
        backoff = Backoff(self.retry_for)
        asking: _Address | None = None
        for _ in range(_MAX_REDIRECTS):
            try:
                if asking is not None:
                    node, asking = self.pipeline(asking), None
                    return await node.execute_after_tracked(("ASKING",), args)
                return await self.pipeline(await self._address(slot)).execute_tracked(*args)
            except MovedError as moved:  # the slot has a new owner
                self._slots[moved.slot_id] = (moved.host, moved.port)
                self._map.soon()
            except AskError as ask:  # the slot is moving; this key is already there
                asking = (ask.host, ask.port)
            except _RETRIED:
                self._map.soon()
                if not await backoff.wait():
                    raise
        raise ClusterDownError(f"Redis Cluster redirected a command {_MAX_REDIRECTS} times")

    def pipeline(self, address: _Address) -> AutoPipeline:
        node = self._nodes.get(address)
        if node is None:
            node = self._nodes[address] = AutoPipeline(
                node_url(self.target, address), timeout=self.timeout
            )
        return node

    async def close(self) -> None:
        """Close this event loop's connections to every node."""
        self._map.cancel()
        await asyncio.gather(*(node.close() for node in list(self._nodes.values())))

    # -- the slot map ------------------------------------------------------------

    async def _address(self, slot: int | None) -> _Address:
        if slot is None:  # no key: any primary
            known = [a for a in set(self._slots) if a is not None]
            if known:
                return random.choice(known)
        elif (address := self._slots[slot]) is not None:
            return address
        await self._map.wait()
        address = self._slots[slot if slot is not None else 0]
        if address is None:
            raise ClusterDownError("The Redis Cluster serves no primary for this slot")
        return address

    async def _ask_for_map(self) -> None:
        """Read the slot map from the first node that answers, asking them all at once (a
        paused node must not hold the others' answers up)."""
        known = list(dict.fromkeys(a for a in self._slots if a is not None))
        asks = {
            asyncio.ensure_future(self.pipeline(address).execute("CLUSTER", "SLOTS")): address
            for address in dict.fromkeys([*known, *self.target.nodes])
        }
        errors = []
        pending = set(asks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for ask in done:
                failed = ask.exception()
                if failed is None:
                    for other in pending:
                        other.cancel()
                    self._slots = _slot_map(ask.result(), asks[ask])
                    return
                host, port = asks[ask]
                errors.append(f"{host}:{port}: {failed}")
        raise ConnectionError("No Redis Cluster node answered: " + "; ".join(errors))


def _slot(args: tuple[Any, ...]) -> int | None:
    """The slot of a command's key (see the rules), or None for a command without one."""
    name = str(args[0]).upper()
    if name in ("EVAL", "EVALSHA"):
        key = args[3] if int(args[2]) > 0 else None
    else:
        key = args[1] if len(args) > 1 and name != "PING" else None
    if key is None:
        return None
    return key_slot(key.encode() if isinstance(key, str) else key)


def _slot_map(reply: Any, asked: _Address) -> list[_Address | None]:
    """The owner of each slot, from a CLUSTER SLOTS reply (an empty host is the node asked)."""
    slots: list[_Address | None] = [None] * SLOTS
    for start, end, primary, *_ in reply:
        owner = (as_text(primary[0]) or asked[0], int(primary[1]))
        slots[int(start) : int(end) + 1] = [owner] * (int(end) - int(start) + 1)
    return slots
