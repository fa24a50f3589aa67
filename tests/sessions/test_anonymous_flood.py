"""A flood of cookie-less requests to a page with a form, on memory, file and Redis:
nobody signed in is signed out, and the server keeps nothing per anonymous visitor.

The flood drives the ASGI app directly, in one event loop (about 30 us a request),
so the 20,000-request run costs about a second a driver in `make test`; the
200,000-request run is marked `failover` (`make test-failover`). Bounds, for any
number of requests:
- records, files or Redis keys held: exactly what the signed-in users held before
  the flood (a visitor who only saw a form is carried by its cookie);
- resident memory of the process: under 4 MB more after the flood than before
  (storing each visitor, as before, grew it by 11.8 MB for 20,000 requests and
  70 MB for 200,000, and evicted signed-in users past `max_sessions`).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis

from microweb import MicroWeb, csrf, csrf_field, login, require_auth, session
from microweb.context import Context
from microweb.sessions.store import SessionStore
from microweb.sessions.store_memory import MemoryStore
from microweb.testing.driver import call_app

MEMORY_BOUND = 4_000_000  # bytes of resident memory the flood may add


def resident() -> int:
    """The process's resident memory now, in bytes (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def flood_app(**options: Any) -> tuple[MicroWeb, SessionStore]:
    app = MicroWeb()
    middleware = session(**options)
    app.use(middleware, csrf())

    @app.get("/page")
    async def page(c: Context) -> Any:
        return c.html(f'<form method="post" action="/comment">{csrf_field(c)}</form>')

    @app.post("/comment")
    async def comment(c: Context) -> str:
        return "thanks"

    @app.get("/cart")
    async def cart(c: Context) -> str:
        c.get("session").push("cart", "tea")
        return "added"

    @app.get("/login/:user")
    async def sign_in(c: Context) -> str:
        await login(c, c.req.param("user"))
        return "in"

    @app.get("/me", require_auth())
    async def me(c: Context) -> dict[str, Any]:
        return {"user": c.get("session").get("user_id")}

    return app, middleware.manager.store


def page_scope(path: str = "/page") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("203.0.113.9", 40000),
        "server": ("testserver", 443),
    }


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


class Tally:
    """An ASGI `send` counting the statuses, keeping the last body and cookie."""

    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.body = b""
        self.cookie = b""

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.statuses[message["status"]] += 1
            self.cookie = dict(message["headers"]).get(b"set-cookie", b"").split(b";")[0]
        elif message["type"] == "http.response.body":
            self.body = message.get("body", b"")


class Held:
    """How many records, files or keys a driver's store holds now."""

    def __init__(self, store: SessionStore, options: dict[str, Any]) -> None:
        self.store, self.options = store, options

    def __call__(self) -> int:
        if isinstance(self.store, MemoryStore):
            return len(self.store)
        if "directory" in self.options:
            return sum(1 for p in Path(self.options["directory"]).iterdir() if p.is_file())
        client = redis.Redis.from_url(self.options["url"])
        try:
            return sum(1 for _ in client.scan_iter(match=self.options["prefix"] + "*", count=1000))
        finally:
            client.close()


async def flood(
    app: MicroWeb, requests: int, held: Held
) -> tuple[Counter[int], int, int, dict[str, Any]]:
    """Sign alice and bob in, send `requests` cookie-less GET /page, then check them.
    Returns the flood's statuses, the records held before and after it, and what the
    signed-in users see, what the last visitor's form does and how much memory grew."""

    async def get(path: str, cookie: str | None = None) -> Any:
        headers = {"cookie": cookie} if cookie else None
        return await call_app(app, "GET", "https://testserver" + path, headers=headers)

    signed_in = {}
    for user in ("alice", "bob"):
        response = await get(f"/login/{user}")
        signed_in[user] = response.headers["set-cookie"].split(";")[0]
    tally = Tally()
    await app(page_scope(), receive, tally)  # warm up: first request opens the store
    before, memory = held(), resident()
    request = page_scope()
    for _ in range(requests):
        await app(dict(request), receive, tally)
    grown = resident() - memory
    after = held()
    me = {user: (await get("/me", cookie)).text for user, cookie in signed_in.items()}
    # The last visitor of the flood sends the form it was shown.
    found = re.search(rb'value="([^"]+)"', tally.body)
    assert found is not None
    posted = await call_app(
        app,
        "POST",
        "https://testserver/comment",
        headers={"cookie": tally.cookie.decode()},
        form={"_token": found.group(1).decode()},
    )
    return tally.statuses, before, after, {"me": me, "form": posted.status_code, "grown": grown}


def flood_options(driver: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    if driver == "file":
        return {"driver": "file", "directory": str(tmp_path / "sessions")}
    if driver == "redis":
        url = request.getfixturevalue("redis_url")
        return {"driver": "redis", "url": url, "prefix": request.getfixturevalue("redis_prefix")}
    return {"driver": "memory", "max_sessions": 1_000}  # a flood of 1,000 would evict before


def run_flood(driver: str, requests: int, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    options = flood_options(driver, request, tmp_path)
    app, store = flood_app(**options)

    async def scenario() -> tuple[Counter[int], int, int, dict[str, Any]]:
        try:
            return await flood(app, requests, Held(store, options))
        finally:
            await store.close()

    statuses, before, after, seen = asyncio.run(scenario())
    assert statuses == Counter({200: requests + 1})
    assert seen["me"] == {"alice": '{"user":"alice"}', "bob": '{"user":"bob"}'}
    assert after == before  # nothing kept per anonymous visitor
    assert seen["form"] == 200
    assert seen["grown"] < MEMORY_BOUND, f"resident memory grew by {seen['grown']:,} bytes"


@pytest.mark.parametrize("driver", ["memory", "file", "redis"])
def test_20_000_anonymous_form_views_keep_nothing_and_sign_nobody_out(
    driver: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    run_flood(driver, 20_000, request, tmp_path)


@pytest.mark.failover
@pytest.mark.parametrize("driver", ["memory", "file", "redis"])
def test_200_000_anonymous_form_views_keep_nothing_and_sign_nobody_out(
    driver: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    run_flood(driver, 200_000, request, tmp_path)


def test_anonymous_visitors_who_store_data_are_capped_and_never_evict_a_user() -> None:
    app, store = flood_app(driver="memory", max_sessions=1_000)
    assert isinstance(store, MemoryStore)

    async def scenario() -> dict[str, str]:
        cookies = {}
        for user in ("alice", "bob"):
            response = await call_app(app, "GET", f"https://testserver/login/{user}")
            cookies[user] = response.headers["set-cookie"].split(";")[0]
        tally, request = Tally(), page_scope("/cart")
        for _ in range(5_000):  # each a new visitor with a cart
            await app(dict(request), receive, tally)
        assert tally.statuses == Counter({200: 5_000})
        return {
            user: (await call_app(app, "GET", "https://testserver/me", {"cookie": cookie})).text
            for user, cookie in cookies.items()
        }

    assert asyncio.run(scenario()) == {"alice": '{"user":"alice"}', "bob": '{"user":"bob"}'}
    assert (len(store), store.signed_in) == (1_000, 2)
