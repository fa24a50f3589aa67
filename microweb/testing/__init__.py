"""Call an app in process, with no server: `TestClient` (synchronous, with a cookie
jar and the lifespan) and `call_app` (one request, awaited), both answering a
`TestResponse`.

This package only re-exports, each name on first use: `driver` sends one request
over ASGI (`app.request` uses it too), `client` is the threaded synchronous client
(on a `loop_thread`, with its `lifespan`), `websocket` the client end of an
in-process WebSocket, `response`, `cookies` and `body` are what they share,
`waiting` says where a task is stuck, and `session_probe` is how `csrf_token()`
asks the app.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import TestClient
    from .cookies import CookieJar
    from .driver import call_app
    from .response import TestResponse
    from .websocket import TestWebSocket, WebSocketClosed, WebSocketRejected

__all__ = [
    "CookieJar",
    "TestClient",
    "TestResponse",
    "TestWebSocket",
    "WebSocketClosed",
    "WebSocketRejected",
    "call_app",
]

# perf: `import microweb` loads this package (`MicroWeb.request` uses `driver`), so each
# name is imported from its module on first use: the client, its loop, lifespan and
# WebSocket modules stay out of every app's start-up (-X importtime, this package's
# modules at `import microweb`: 4.4 ms, where eager re-exports took 7.0 ms before the
# WebSocket client and 11.9 ms with it, on a loaded 2-core machine).
_MODULES = {
    "CookieJar": "cookies",
    "TestClient": "client",
    "TestResponse": "response",
    "TestWebSocket": "websocket",
    "WebSocketClosed": "websocket",
    "WebSocketRejected": "websocket",
    "call_app": "driver",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
