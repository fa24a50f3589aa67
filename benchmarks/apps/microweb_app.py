"""microweb, written the way its documentation shows.

- ``app``: the three basic rows (``GET /``, ``GET /users/:id``, ``POST /echo``).
- ``middleware_app``: ``GET /`` behind five no-op middlewares (``await next()``).
- ``session_memory_app`` / ``session_redis_app``: ``GET /session`` counts visits in the
  session, with the memory driver and with the Redis driver (keys ``microweb-bench:*``).
- ``session_postgres_app`` / ``session_sqlite_app``: the same with the PostgreSQL and the
  SQLite drivers (table ``microweb_bench_sessions``, see ``sql_bench``).
- ``api_app``: ``GET /users/:id`` behind ``cors``, ``secure_headers``, ``request_id``, ``etag``.
- ``gzip_app``: ``GET /data``, 20 KB of JSON through ``compress`` (gzip).
- ``static_app``: ``GET /static/asset.css``, a 10 KB file from ``serve_static``.
- ``template_app``: ``GET /page``, a Jinja template of 20 table rows through ``c.render``.
"""

from __future__ import annotations

import os

from microweb import Context, MicroWeb, Response
from microweb.compose import Next
from microweb.middleware import compress, cors, etag, request_id, secure_headers
from microweb.sessions import session
from microweb.static import serve_static
from microweb.templates import jinja

from .payloads import ORIGIN, PAGE_USERS, STATIC_DIR, TEMPLATE_DIR, USERS
from .sql_bench import MICROWEB_TABLE, POSTGRES_URL, SQLITE_FILE

REDIS_URL = "redis://127.0.0.1:6379/0"
# benchmarks/instructions.py gives each of its runs a prefix of its own.
REDIS_PREFIX = os.environ.get("BENCH_REDIS_PREFIX", "microweb-bench:")

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

session_postgres_app = MicroWeb()
session_postgres_app.use(session(driver="postgres", url=POSTGRES_URL, table=MICROWEB_TABLE))
session_postgres_app.get("/session", visits)

session_sqlite_app = MicroWeb()
session_sqlite_app.use(
    session(driver="sqlite", url=f"sqlite:///{SQLITE_FILE}", table=MICROWEB_TABLE)
)
session_sqlite_app.get("/session", visits)


# -- the box: an API stack, gzip, a static file, a template ------------------------------

api_app = MicroWeb()
api_app.use(cors(origin=ORIGIN), secure_headers(), request_id(), etag())
api_app.get("/users/:id", user)

gzip_app = MicroWeb()
gzip_app.use(compress(encodings=("gzip",)))


@gzip_app.get("/data")
async def data(c: Context) -> Response:
    return c.json(USERS)


static_app = MicroWeb()
static_app.get("/static/*", serve_static(root=STATIC_DIR))

template_app = MicroWeb()
template_app.use(jinja(TEMPLATE_DIR))


@template_app.get("/page")
async def page(c: Context) -> Response:
    return c.render("page.html", {"title": "Users", "users": PAGE_USERS})
