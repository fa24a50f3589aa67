"""The example app's chat room: who is online, and messages relayed to everyone.

Each socket subscribes to one `Broadcast` channel and forwards what it carries;
what the user types is published on it. `Chat(redis_url)` relays through
Redis, so users connected to different workers (or hosts) talk to each other,
and who is online is then counted in a Redis hash shared by all; `Chat()`
keeps both in the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from typing import Any

from microweb.broadcast import Broadcast, SubscriberTooSlow, Subscription
from microweb.compose import Middleware, Next
from microweb.context import Context
from microweb.websockets import WebSocket, WebSocketDisconnect

MAX_MESSAGE = 500


class Chat:
    """The room: `app.use(chat.bus)` and `app.use(chat.presence)` open them with the app,
    then `await chat.serve(ws, user)` runs one member's socket."""

    def __init__(
        self, redis_url: str | None = None, channel: str = "microweb-example:chat"
    ) -> None:
        self.bus = Broadcast(redis_url)
        self.presence = Presence(redis_url, channel + ":online")
        self.channel = channel

    async def serve(self, ws: WebSocket, user: str) -> None:
        """Accept `ws` once its subscription to the room is live (so it misses nothing
        said after it opened), then relay the room to it and what it says to the room,
        until the user leaves."""
        async with self.bus.subscribe(self.channel) as events:
            await ws.accept()
            forwarding = asyncio.create_task(forward(events, ws))
            try:
                await self.presence.join(user)
                try:
                    await self._announce_presence()
                    await self._relay_from(ws, user)
                finally:
                    await self.presence.leave(user)
                    await self._announce_presence()
            finally:
                forwarding.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await forwarding

    async def _relay_from(self, ws: WebSocket, user: str) -> None:
        async for message in ws:
            try:
                text = str(json.loads(message)["text"]).strip()
            except (ValueError, KeyError, TypeError):
                continue  # not a chat message: ignore it
            if text:
                await self._publish({"type": "message", "user": user, "text": text[:MAX_MESSAGE]})

    async def _announce_presence(self) -> None:
        await self._publish({"type": "presence", "users": await self.presence.online()})

    async def _publish(self, event: dict[str, Any]) -> None:
        if self.bus.is_open:  # not once the server is shutting down
            await self.bus.publish(self.channel, json.dumps(event))


async def forward(events: Subscription, ws: WebSocket) -> None:
    """Send each event of the room to `ws` as it comes, until the room or the socket ends.
    A socket that fell too far behind is closed with 1013 ("try again later")."""
    with contextlib.suppress(WebSocketDisconnect):
        try:
            async for event in events:
                await ws.send_text(event)
        except SubscriberTooSlow:
            await ws.close(code=1013)


class Presence(Middleware):
    """Who is online: a count per user, in the process or in a Redis hash. `app.use`
    it, and the app's lifespan opens and closes its Redis."""

    def __init__(self, redis_url: str | None, key: str) -> None:
        self.redis_url = redis_url
        self.key = key
        self.local: Counter[str] = Counter()
        self._redis: Any = None

    async def __call__(self, c: Context, next: Next) -> None:
        await next()

    async def startup(self) -> None:
        if self.redis_url is not None:
            import redis.asyncio as redis

            self._redis = redis.Redis.from_url(self.redis_url, decode_responses=True)

    async def shutdown(self) -> None:
        if self._redis is not None:
            client, self._redis = self._redis, None
            await client.aclose()

    async def join(self, user: str) -> None:
        if self._redis is not None:
            await self._redis.hincrby(self.key, user, 1)
        else:
            self.local[user] += 1

    async def leave(self, user: str) -> None:
        if self._redis is not None:
            if await self._redis.hincrby(self.key, user, -1) <= 0:
                await self._redis.hdel(self.key, user)
        else:
            self.local[user] -= 1
            if self.local[user] <= 0:
                del self.local[user]

    async def online(self) -> list[str]:
        if self._redis is not None:
            return sorted(await self._redis.hkeys(self.key))
        return sorted(self.local)
