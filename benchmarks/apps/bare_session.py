"""What the two hand-written session floors (`bare_memory`, `bare_redis`) share: the ``sid``
cookie, the ``{"visits": n}`` answer (a Set-Cookie only for a new session: no sliding
cookie) and the ASGI app serving ``GET /session``. Only where the record lives differs."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

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
