"""microweb's hot paths in process: ASGI calls without HTTP, CPU time per request.

Usage (from a checkout's root; compare two checkouts by running it in each, in turns)::

    .venv/bin/python benchmarks/inprocess.py [--requests 5000] [--rounds 5]

Prints one JSON object: case -> best of `--rounds` rounds, microseconds per request.
Far steadier than HTTP throughput on a shared machine, so it is the one to compare
two versions of the code with; it uses only the public API, so any version runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path.cwd()))  # the checkout it is run from, not the installed one

from microweb import MicroWeb, csrf_field, login, session
from microweb.middleware import cors, etag, request_id, secure_headers


def build() -> dict[str, MicroWeb]:
    app = MicroWeb()

    @app.get("/")
    async def hello(c):  # type: ignore[no-untyped-def]
        return c.text("Hello, World!")

    @app.get("/users/:id")
    async def user(c):  # type: ignore[no-untyped-def]
        return c.json({"id": c.req.param("id")})

    async def other(c):  # type: ignore[no-untyped-def]
        return c.text("x")

    for i in range(40):
        app.get(f"/static{i}/:x/more")(other)

    layered = MicroWeb()

    async def passing(c, next):  # type: ignore[no-untyped-def]
        await next()

    for _ in range(5):
        layered.use(passing)
    layered.get("/")(other)

    api = MicroWeb()
    for middleware in (cors(), secure_headers(), request_id(), etag()):
        api.use(middleware)

    @api.get("/api")
    async def data(c):  # type: ignore[no-untyped-def]
        return c.json({"a": 1, "b": [1, 2, 3]})

    sessions = MicroWeb()
    sessions.use(session(driver="memory", secure=False))

    @sessions.get("/s")
    async def count(c):  # type: ignore[no-untyped-def]
        c.get("session").increment("n")
        return c.text("ok")

    @sessions.get("/form")
    async def form(c):  # type: ignore[no-untyped-def]
        return c.html(f'<form method="post">{csrf_field(c)}</form>')

    @sessions.get("/login")
    async def sign_in(c):  # type: ignore[no-untyped-def]
        await login(c, "alice")
        return c.text("in")

    @sessions.get("/me")
    async def me(c):  # type: ignore[no-untyped-def]
        return c.text(str(c.get("session").get("user_id")))

    return {"app": app, "layered": layered, "api": api, "sessions": sessions}


def scope(path: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
    }


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


class Sink:
    """An ASGI `send` that keeps the last response start."""

    start: dict[str, Any] | None = None

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.start = message


async def per_request(app: Any, request: dict[str, Any], requests: int) -> float:
    send = Sink()
    began = time.process_time()
    for _ in range(requests):
        await app(dict(request), receive, send)
    return (time.process_time() - began) / requests * 1e6


async def session_cookie(app: Any, path: str) -> bytes:
    """The session cookie (name=value) that `app` sets answering GET `path`."""
    sink = Sink()
    await app(scope(path), receive, sink)
    assert sink.start is not None
    return bytes(dict(sink.start["headers"])[b"set-cookie"].split(b";")[0])


async def main(requests: int, rounds: int) -> None:
    apps = build()
    cookie = await session_cookie(apps["sessions"], "/s")
    form_cookie = await session_cookie(apps["sessions"], "/form")
    user_cookie = await session_cookie(apps["sessions"], "/login")
    cases = {
        "GET /": (apps["app"], scope("/")),
        "GET /users/:id (41 routes)": (apps["app"], scope("/users/42")),
        "404": (apps["app"], scope("/nope/x")),
        "5 middleware": (apps["layered"], scope("/")),
        "API stack": (apps["api"], scope("/api", ((b"origin", b"http://a.example"),))),
        "session, memory driver": (apps["sessions"], scope("/s", ((b"cookie", cookie),))),
        "session, signed in": (apps["sessions"], scope("/me", ((b"cookie", user_cookie),))),
        "form, new visitor": (apps["sessions"], scope("/form")),
        "form, returning visitor": (
            apps["sessions"],
            scope("/form", ((b"cookie", form_cookie),)),
        ),
    }
    results = {}
    for name, (app, request) in cases.items():
        await per_request(app, request, requests // 2)  # warm up
        times = [await per_request(app, request, requests) for _ in range(rounds)]
        results[name] = round(min(times), 3)
    print(json.dumps(results))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    asyncio.run(main(options.requests, options.rounds))
