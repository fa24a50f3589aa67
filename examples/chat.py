"""The example app's chat room: who is online, and messages relayed to everyone.

One `Room` per process fans messages out to the sockets it holds. With a Redis
URL the room also publishes every event on a Redis channel and delivers what
the channel carries, so users connected to different workers (or hosts) talk
to each other; who is online is then counted in a Redis hash shared by all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from typing import Any

from microweb.websockets import WebSocket

logger = logging.getLogger("examples.chat")

MAX_MESSAGE = 500


class Room:
    """The sockets of this process, and (with `redis_url`) a relay to the others."""

    def __init__(
        self, redis_url: str | None = None, channel: str = "microweb-example:chat"
    ) -> None:
        self.sockets: dict[WebSocket, str] = {}
        self.redis_url = redis_url
        self.channel = channel
        self.online_key = channel + ":online"
        self._redis: Any = None
        self._listener: asyncio.Task[None] | None = None

    # -- lifespan ---------------------------------------------------------------

    async def start(self) -> None:
        if self.redis_url is None:
            return
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(self.redis_url, decode_responses=True)
        self._listener = asyncio.create_task(self._listen())

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._redis is not None:
            await self._redis.aclose()

    # -- membership -------------------------------------------------------------

    async def join(self, ws: WebSocket, user: str) -> None:
        self.sockets[ws] = user
        if self._redis is not None:
            await self._redis.hincrby(self.online_key, user, 1)
        await self._announce_presence()

    async def leave(self, ws: WebSocket) -> None:
        user = self.sockets.pop(ws, None)
        if user is not None and self._redis is not None:
            left = await self._redis.hincrby(self.online_key, user, -1)
            if left <= 0:
                await self._redis.hdel(self.online_key, user)
        await self._announce_presence()

    async def online(self) -> list[str]:
        if self._redis is not None:
            return sorted(await self._redis.hkeys(self.online_key))
        return sorted(Counter(self.sockets.values()))

    # -- events -----------------------------------------------------------------

    async def say(self, user: str, text: str) -> None:
        await self._publish({"type": "message", "user": user, "text": text[:MAX_MESSAGE]})

    async def _announce_presence(self) -> None:
        await self._publish({"type": "presence", "users": await self.online()})

    async def _publish(self, event: dict[str, Any]) -> None:
        if self._redis is not None:
            await self._redis.publish(self.channel, json.dumps(event))
        else:
            await self._deliver(event)

    async def _deliver(self, event: dict[str, Any]) -> None:
        for ws in list(self.sockets):
            try:
                await ws.send_json(event)
            except Exception:  # a socket that went away leaves on its own handler's exit
                logger.debug("dropping an event for a closed socket", exc_info=True)

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self.channel)
        try:
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    await self._deliver(json.loads(message["data"]))
        finally:
            await pubsub.aclose()
