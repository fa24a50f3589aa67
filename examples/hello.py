"""The quickstart: decorator routes, params, middleware and JSON.

Run it with `uvicorn examples.hello:app`.
"""

from __future__ import annotations

import time
from typing import Any

from microweb import Context, MicroWeb, Response
from microweb.compose import Next

app = MicroWeb()


async def timing(c: Context, next: Next) -> None:
    started = time.perf_counter()
    await next()
    assert c.res is not None
    c.res.headers["server-timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"


app.use(timing)


@app.get("/")
async def index(c: Context) -> Response:
    return c.text("Hello, World!")


@app.get("/users/:id{[0-9]+}")
async def user(c: Context) -> dict[str, Any]:
    return {"id": int(c.req.param("id")), "name": c.req.query("name") or "anonymous"}


@app.post("/echo")
async def echo(c: Context) -> Response:
    return c.json(await c.req.json(), status=201)
