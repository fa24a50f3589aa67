"""microweb, written the way its documentation shows."""

from __future__ import annotations

from microweb import Context, MicroWeb, Response

app = MicroWeb()


@app.get("/")
async def hello(c: Context) -> Response:
    return c.text("Hello, World!")


@app.get("/users/:id")
async def user(c: Context) -> Response:
    return c.json({"id": c.req.param("id"), "name": "user"})


@app.post("/echo")
async def echo(c: Context) -> Response:
    return c.json(await c.req.json())
