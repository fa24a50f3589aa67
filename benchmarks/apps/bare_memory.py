"""The floor for in-process sessions: a hand-written ASGI app keeping sessions in a dict.

``GET /session`` finds the record named by the ``sid`` cookie (a new id, sent in a
Set-Cookie, when there is none or it is unknown), adds one to ``visits`` and answers
``{"visits": n}``. Same cookie handling as ``bare_redis``; no expiry, no signing, no flash
data, no sliding cookie: only the work a session cannot avoid.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from .bare import _NOT_FOUND_BODY, _NOT_FOUND_START, Receive, Scope, Send, lifespan
from .bare_redis import COOKIE, IDLE_SECONDS, cookie_value

_sessions: dict[str, dict[str, Any]] = {}
_dumps = json.JSONEncoder(separators=(",", ":")).encode


async def _visits(send: Send, scope: Scope) -> None:
    sid = cookie_value(scope)
    record = _sessions.get(sid) if sid is not None else None
    headers = [(b"content-type", b"application/json")]
    if record is None or sid is None:
        sid = secrets.token_urlsafe(32)
        record = _sessions[sid] = {}
        cookie = f"{COOKIE}={sid}; Path=/; Max-Age={IDLE_SECONDS}; HttpOnly; SameSite=lax"
        headers.append((b"set-cookie", cookie.encode("latin-1")))
    count = record["visits"] = record.get("visits", 0) + 1
    body = _dumps({"visits": count}).encode()
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
        return
    if scope["path"] == "/session" and scope["method"] == "GET":
        await _visits(send, scope)
    else:
        await send(_NOT_FOUND_START)
        await send(_NOT_FOUND_BODY)
