"""The floor for Redis sessions: a hand-written ASGI app, one Redis GET and one SET a request.

``GET /session`` reads the JSON record keyed by the ``sid`` cookie (a new id, sent in a
Set-Cookie, when there is none or Redis does not hold it), adds one to ``visits``, writes the
record back with an idle expiry and answers ``{"visits": n}``. One ``redis.asyncio`` client
(one connection pool), opened on lifespan startup. Keys: ``bare-bench:<sid>``.

No signing, no flash data, no sliding cookie: only the work a Redis session cannot avoid.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from redis.asyncio import Redis

from .bare import _NOT_FOUND_BODY, _NOT_FOUND_START, Receive, Scope, Send

REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_PREFIX = "bare-bench:"
COOKIE = "sid"
IDLE_SECONDS = 7200

_redis: Redis | None = None
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def cookie_value(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                if key == COOKIE and val:
                    return val
    return None


async def _visits(send: Send, scope: Scope) -> None:
    assert _redis is not None
    sid = cookie_value(scope)
    record: dict[str, Any] | None = None
    if sid is not None:
        raw = await _redis.get(REDIS_PREFIX + sid)
        if raw is not None:
            record = json.loads(raw)
    headers = [(b"content-type", b"application/json")]
    if record is None or sid is None:
        sid = secrets.token_urlsafe(32)
        record = {}
        cookie = f"{COOKIE}={sid}; Path=/; Max-Age={IDLE_SECONDS}; HttpOnly; SameSite=lax"
        headers.append((b"set-cookie", cookie.encode("latin-1")))
    count = record["visits"] = record.get("visits", 0) + 1
    await _redis.set(REDIS_PREFIX + sid, _dumps(record), ex=IDLE_SECONDS)
    body = _dumps({"visits": count}).encode()
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    global _redis
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _redis = Redis.from_url(REDIS_URL)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if _redis is not None:
                await _redis.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        return
    if scope["path"] == "/session" and scope["method"] == "GET":
        await _visits(send, scope)
    else:
        await send(_NOT_FOUND_START)
        await send(_NOT_FOUND_BODY)
