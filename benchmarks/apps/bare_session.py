"""What the two hand-written session floors (`bare_memory`, `bare_redis`) share: the ``sid``
cookie, the ``{"visits": n}`` answer (a Set-Cookie only for a new session: no sliding
cookie) and the ASGI app serving ``GET /session``. Only where the record lives differs."""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from .bare import _NOT_FOUND_BODY, _NOT_FOUND_START, Receive, Scope, Send

COOKIE = "sid"
IDLE_SECONDS = 7200

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
dumps = json.JSONEncoder(separators=(",", ":")).encode


def cookie_value(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"cookie":
            text: str = value.decode("latin-1")
            for part in text.split(";"):
                key, _, val = part.strip().partition("=")
                if key == COOKIE and val:
                    return val
    return None


def count_visit(
    sid: str | None, record: dict[str, Any] | None
) -> tuple[str, str | None, dict[str, Any], int]:
    """One more visit to the session `sid` whose stored record is `record` (None: none is
    stored): the id to store it under, the new id to send (None when `sid` is kept), the
    record with the visit counted, and the count."""
    new_sid = None
    if record is None or sid is None:
        sid = new_sid = secrets.token_urlsafe(32)
        record = {}
    count = record["visits"] = record.get("visits", 0) + 1
    return sid, new_sid, record, count


async def send_visits(send: Send, count: int, new_sid: str | None) -> None:
    """Answer ``{"visits": count}``, setting the cookie of a session created now."""
    headers = [(b"content-type", b"application/json")]
    if new_sid is not None:
        cookie = f"{COOKIE}={new_sid}; Path=/; Max-Age={IDLE_SECONDS}; HttpOnly; SameSite=lax"
        headers.append((b"set-cookie", cookie.encode("latin-1")))
    body = dumps({"visits": count}).encode()
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def open_and_close(
    open: Callable[[], Awaitable[None]], close: Callable[[], Awaitable[None]]
) -> Callable[[Receive, Send], Awaitable[None]]:
    """An ASGI lifespan handler that runs `open` at startup and `close` at shutdown."""

    async def lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await open()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return lifespan


def session_app(
    visits: Callable[[Send, Scope], Awaitable[None]],
    lifespan: Callable[[Receive, Send], Awaitable[None]],
) -> ASGIApp:
    """The ASGI app: ``GET /session`` runs `visits`, anything else is a 404."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await lifespan(receive, send)
            return
        if scope["path"] == "/session" and scope["method"] == "GET":
            await visits(send, scope)
        else:
            await send(_NOT_FOUND_START)
            await send(_NOT_FOUND_BODY)

    return app
