"""Call an app in process, with no server: `TestClient` (synchronous, with a cookie
jar and the lifespan) and `call_app` (one request, awaited), both answering a
`TestResponse`.

This package only re-exports: `driver` sends one request over ASGI (`app.request`
uses it too), `client` is the threaded synchronous client (on a `loop_thread`,
with its `lifespan`), `response`, `cookies` and `body` are what they share,
`waiting` says where a task is stuck, and `session_probe` is how
`csrf_token()` asks the app.
"""

from __future__ import annotations

from .client import TestClient
from .cookies import CookieJar
from .driver import call_app
from .response import TestResponse

__all__ = ["CookieJar", "TestClient", "TestResponse", "call_app"]
