"""The app tests/e2e/test_server_matrix.py serves on every server (uvicorn with httptools
and with h11, hypercorn, granian).

- `GET /`: a plain route.
- `GET /events/:id`: an SSE stream through `compress()`; its second event waits until
  `POST /release/:id` arrives, so a client that reads the first one before asking for
  the release proves the stream is not held back (by the compressor or the server).
- `POST /login/:user` and the WebSocket `/me` (behind `require_auth()`): the handshake
  carries the session cookie and the socket sees the signed-in user.
- `POST /upload`: behind `body_limit(1024)`; answers the number of bytes it got.
- `/sub/...`: a plain ASGI app mounted with `app.mount`, answering its scope's
  `root_path` and `path`.
- Lifespan: the start-up hook writes "started" to the file named by `MATRIX_MARK`, the
  shutdown hook appends "stopped".
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

from microweb import Context, MicroWeb, Response, WebSocket, login, require_auth, session
from microweb.middleware import body_limit, compress
from microweb.types import Receive, Scope, Send

app = MicroWeb()
app.use(session(secure=False))
app.use("/events/*", compress(encodings=("gzip",)))

_MARK = Path(os.environ.get("MATRIX_MARK", os.devnull))
_released: dict[str, asyncio.Event] = {}


def _append(line: str) -> None:
    with _MARK.open("a") as file:
        file.write(line + "\n")


@app.on_startup
async def mark_started() -> None:
    await asyncio.to_thread(_append, "started")


@app.on_shutdown
async def mark_stopped() -> None:
    await asyncio.to_thread(_append, "stopped")


@app.get("/")
async def hello(c: Context) -> Response:
    return c.text("Hello, World!")


@app.get("/events/:id")
async def events(c: Context) -> Response:
    released = _released.setdefault(c.req.param("id"), asyncio.Event())

    async def stream() -> AsyncIterator[dict[str, str]]:
        yield {"event": "first", "data": "one"}
        await released.wait()
        yield {"event": "second", "data": "two"}

    return c.sse(stream())


@app.post("/release/:id")
async def release(c: Context) -> Response:
    _released.setdefault(c.req.param("id"), asyncio.Event()).set()
    return c.text("released")


@app.post("/login/:user")
async def do_login(c: Context) -> Response:
    await login(c, c.req.param("user"))
    return c.json({"ok": True})


@app.ws("/me", require_auth())
async def me(c: Context, ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_json({"user": c.get("session").get("user_id")})


@app.post("/upload", body_limit(1024))
async def upload(c: Context) -> Response:
    return c.json({"bytes": len(await c.req.body())})


async def mounted(scope: Scope, receive: Receive, send: Send) -> None:
    body = json.dumps({"root_path": scope.get("root_path", ""), "path": scope["path"]}).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


app.mount("/sub", mounted)
