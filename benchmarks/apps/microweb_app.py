"""microweb, written the way its documentation shows.

- ``app``: the three basic rows (``GET /``, ``GET /users/:id``, ``POST /echo``).
- ``middleware_app``: ``GET /`` behind five no-op middlewares (``await next()``).
- ``session_memory_app`` / ``session_redis_app``: ``GET /session`` counts visits in the
  session, with the memory driver and with the Redis driver (keys ``microweb-bench:*``).
"""

from __future__ import annotations

from microweb import Context, MicroWeb, Response
from microweb.compose import Next
from microweb.sessions import session

REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_PREFIX = "microweb-bench:"

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


# -- GET / through five middlewares ------------------------------------------------------


async def noop(c: Context, next: Next) -> None:
    await next()


middleware_app = MicroWeb()
for _ in range(5):
    middleware_app.use(noop)
middleware_app.get("/", hello)


# -- sessions ----------------------------------------------------------------------------


async def visits(c: Context) -> Response:
    return c.json({"visits": c.get("session").increment("visits")})


session_memory_app = MicroWeb()
session_memory_app.use(session(driver="memory"))
session_memory_app.get("/session", visits)

session_redis_app = MicroWeb()
session_redis_app.use(session(driver="redis", url=REDIS_URL, prefix=REDIS_PREFIX))
session_redis_app.get("/session", visits)
