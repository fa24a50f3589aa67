"""The app benchmarks/session_end.py serves on uvicorn workers: sign in, log out
everywhere, and an echo socket for signed-in users. Its session options come from the
environment: SESSION_DRIVER (memory, file, redis), SESSION_DIRECTORY, REDIS_URL,
SESSION_PREFIX, SESSION_LIFETIME (minutes). GET routes and no CSRF: a benchmark only."""

from __future__ import annotations

import os
from typing import Any

from microweb import Context, MicroWeb, login, logout, require_auth, session
from microweb.websockets import WebSocket


def _options() -> dict[str, Any]:
    driver = os.environ.get("SESSION_DRIVER", "memory")
    options: dict[str, Any] = {
        "driver": driver,
        "secure": False,
        "lifetime": float(os.environ.get("SESSION_LIFETIME", "120")),
    }
    if driver == "file":
        options["directory"] = os.environ["SESSION_DIRECTORY"]
    elif driver == "redis":
        options["url"] = os.environ["REDIS_URL"]
        options["prefix"] = os.environ.get("SESSION_PREFIX", "bench-session-end:")
    return options


app = MicroWeb()
app.use(session(**_options()))


@app.get("/login/:user")
async def sign_in(c: Context) -> str:
    await login(c, c.req.param("user"))
    return "in"


@app.get("/logout/everywhere")
async def sign_out_everywhere(c: Context) -> str:
    await logout(c, everywhere=True)
    return "out"


@app.ws("/socket", require_auth())
async def echo(c: Context, ws: WebSocket) -> None:
    await ws.accept()
    async for message in ws:
        await ws.send_text(str(message))
