"""Apps served by a real uvicorn in tests/middleware: streams through compress, body limits
in front of a handler and of a mounted ASGI app, a Redis rate limit shared by processes."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

from microweb import MicroWeb
from microweb.middleware import body_limit, compress, logger, rate_limit
from microweb.types import Receive, Scope, Send

app = MicroWeb()
app.use(logger())
app.use(compress(threshold=0))

# The SSE handler yields its second event only after /release is called: a client that
# reads the first event before calling /release proves the first was not held back.
release = asyncio.Event()


@app.get("/events")
async def events(c):  # type: ignore[no-untyped-def]
    async def stream() -> AsyncIterator[dict[str, str]]:
        release.clear()
        yield {"event": "tick", "data": "first"}
        await release.wait()
        yield {"event": "tick", "data": "second"}

    return c.sse(stream())


@app.post("/release")
async def do_release(c):  # type: ignore[no-untyped-def]
    release.set()
    return "released"


limited = MicroWeb()
limited.use(body_limit(1024))


@limited.post("/upload")
async def upload(c):  # type: ignore[no-untyped-def]
    return {"size": len(await c.req.body())}


async def raw_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"mounted got %d" % size})


limited.mount("/mounted", raw_asgi)

shared = MicroWeb()
shared.use(
    rate_limit(
        "5/minute",
        key=lambda c: "everyone",
        store="redis",
        url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        prefix=os.environ.get("RATE_PREFIX", "microweb-test:ratelimit:"),
    )
)
shared.get("/", lambda c: {"pid": os.getpid()})
