"""The floor for in-process sessions: a hand-written ASGI app keeping sessions in a dict.

``GET /session`` finds the record named by the ``sid`` cookie (a new id, sent in a
Set-Cookie, when there is none or it is unknown), adds one to ``visits`` and answers
``{"visits": n}``. Same cookie handling as ``bare_redis`` (``bare_session``); no expiry, no
signing, no flash data, no sliding cookie: only the work a session cannot avoid.
"""

from __future__ import annotations

import secrets
from typing import Any

from .bare import Scope, Send, lifespan
from .bare_session import cookie_value, send_visits, session_app

_sessions: dict[str, dict[str, Any]] = {}


async def _visits(send: Send, scope: Scope) -> None:
    sid = cookie_value(scope)
    record = _sessions.get(sid) if sid is not None else None
    new_sid = None
    if record is None:
        new_sid = secrets.token_urlsafe(32)
        record = _sessions[new_sid] = {}
    count = record["visits"] = record.get("visits", 0) + 1
    await send_visits(send, count, new_sid)


app = session_app(_visits, lifespan)
