"""The floor for Redis sessions: a hand-written ASGI app, one Redis GET and one SET a request.

``GET /session`` reads the JSON record keyed by the ``sid`` cookie (a new id, sent in a
Set-Cookie, when there is none or Redis does not hold it), adds one to ``visits``, writes the
record back with an idle expiry and answers ``{"visits": n}``. One ``redis.asyncio`` client
(one connection pool), opened on lifespan startup. Keys: ``bare-bench:<sid>``.

No signing, no flash data, no sliding cookie: only the work a Redis session cannot avoid.
"""

from __future__ import annotations

import json
import os
from typing import Any

from redis.asyncio import Redis

from .bare import Scope, Send
from .bare_session import (
    IDLE_SECONDS,
    cookie_value,
    count_visit,
    dumps,
    open_and_close,
    send_visits,
    session_app,
)

REDIS_URL = "redis://127.0.0.1:6379/0"
# benchmarks/instructions.py gives each of its runs a prefix of its own.
REDIS_PREFIX = os.environ.get("BENCH_REDIS_PREFIX", "bare-bench:")

_redis: Redis | None = None


async def _visits(send: Send, scope: Scope) -> None:
    assert _redis is not None
    sid = cookie_value(scope)
    record: dict[str, Any] | None = None
    if sid is not None:
        raw = await _redis.get(REDIS_PREFIX + sid)
        if raw is not None:
            record = json.loads(raw)
    sid, new_sid, record, count = count_visit(sid, record)
    await _redis.set(REDIS_PREFIX + sid, dumps(record), ex=IDLE_SECONDS)
    await send_visits(send, count, new_sid)


async def _open() -> None:
    global _redis
    _redis = Redis.from_url(REDIS_URL)


async def _close() -> None:
    if _redis is not None:
        await _redis.aclose()


app = session_app(_visits, open_and_close(_open, _close))
