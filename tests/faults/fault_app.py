"""The app the fault tests serve with a real uvicorn (`uvicorn tests.faults.fault_app:app`).

Sessions come from the environment: `FAULT_REDIS_URL` and `FAULT_PREFIX` select
the Redis driver with a prefix of the test's own; without them, memory
sessions. The cookie is not `Secure` because the tests speak plain http to
127.0.0.1 through httpx, whose cookie jar (unlike a browser) never sends a
Secure cookie over http.

Routes:
- `GET /health`: never touches the session.
- `POST /login/:user`: `login()` (no CSRF here: the faults are about processes).
- `POST /put/:key/:value`, `GET /get/:key`, `GET /me` (401 without a user).
- `POST /upload`: reads the whole body; counts the reads a disconnect aborted.
- `GET /stream`, `GET /sse`: endless generators whose `finally` is counted.
- `GET /counters`: those counts, the number of asyncio tasks and the pid.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from microweb import HTTPException, MicroWeb, Response, login, require_auth, session
from microweb.context import Context


def _session_options() -> dict[str, Any]:
    url = os.environ.get("FAULT_REDIS_URL")
    options: dict[str, Any] = {"secure": False, "lifetime": 120}
    if url:
        options.update(driver="redis", url=url, prefix=os.environ["FAULT_PREFIX"])
    return options


COUNTERS: Counter[str] = Counter()

app = MicroWeb()
app.use(session(**_session_options()))


@app.get("/health")
async def health(c: Context) -> Response:
    return c.text("ok")


@app.post("/login/:user")
async def do_login(c: Context) -> dict[str, Any]:
    user = c.req.param("user")
    await login(c, user)
    return {"user": user, "pid": os.getpid()}


@app.post("/put/:key/:value")
async def put(c: Context) -> dict[str, Any]:
    c.get("session").put(c.req.param("key"), c.req.param("value"))
    return {"ok": True, "pid": os.getpid()}


@app.get("/get/:key")
async def get(c: Context) -> dict[str, Any]:
    return {"value": c.get("session").get(c.req.param("key")), "pid": os.getpid()}


@app.get("/me", require_auth())
async def me(c: Context) -> dict[str, Any]:
    return {"user": c.get("session").get("user_id"), "pid": os.getpid()}


@app.post("/upload")
async def upload(c: Context) -> dict[str, int]:
    COUNTERS["upload_started"] += 1
    try:
        body = await c.req.body()
    except HTTPException:
        COUNTERS["upload_aborted"] += 1
        raise
    return {"size": len(body)}


async def _endless(kind: str) -> AsyncIterator[str]:
    COUNTERS[f"{kind}_started"] += 1
    try:
        n = 0
        while True:
            n += 1
            yield f"chunk {n}\n"
            await asyncio.sleep(0.005)
    finally:
        COUNTERS[f"{kind}_finished"] += 1


@app.get("/stream")
async def stream(c: Context) -> Response:
    return c.stream(_endless("stream"), media_type="text/plain")


@app.get("/sse")
async def sse(c: Context) -> Response:
    return c.sse(_endless("sse"))


@app.get("/counters")
async def counters(c: Context) -> dict[str, Any]:
    return {**COUNTERS, "tasks": len(asyncio.all_tasks()), "pid": os.getpid()}
