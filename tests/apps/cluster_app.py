"""A session app served by several uvicorn workers for the scale-out tests (REDIS_URL names
the Redis: one server, a cluster or Sentinel)."""

from __future__ import annotations

import os

from microweb import MicroWeb, login, session
from microweb.context import Context

app = MicroWeb()
app.use(session(driver="redis", url=os.environ["REDIS_URL"], prefix="workers-test:"))


@app.post("/login/:user")
async def do_login(c: Context) -> dict[str, object]:
    await login(c, c.req.param("user"))
    return {"pid": os.getpid()}


@app.post("/put/:key")
async def put(c: Context) -> dict[str, object]:
    c.get("session").put(c.req.param("key"), c.req.query("value"))
    return {"pid": os.getpid()}


@app.get("/all")
async def everything(c: Context) -> dict[str, object]:
    return {"pid": os.getpid(), "session": c.get("session").all()}
