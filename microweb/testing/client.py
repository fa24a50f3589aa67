"""`TestClient`: call an app in process, synchronously, with a real cookie jar.

The client runs the app on its own event loop in a background thread
(`LoopThread`), so connection pools and locks an app opens at startup stay
valid across requests and sockets. `with TestClient(app) as client:` runs the
lifespan (startup on enter, shutdown on exit), each within `lifespan_timeout`
seconds or a `TimeoutError` naming the hook that did not finish. The default
base URL is https, so Secure cookies (the session's default) round-trip as in
a browser; http://localhost and http://127.0.0.1 keep them too, as browsers do.

Each request goes through `call_app`; the jar's cookies go out with it unless
the caller sent a Cookie header, and what the answer sets comes back into the
jar. `websocket_connect` opens a `TestWebSocket` the same way, with the jar's
cookies and, as a browser sends it, the client's own `Origin`.
`csrf_token()` asks the app's session middleware for the session's token
through the `microweb.csrf_token` scope extension (see `session_probe`).
"""

from __future__ import annotations

import base64
import os
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import urlencode, urljoin, urlsplit

from ..types import ASGIApp
from .cookies import CookieJar
from .driver import call_app, connection_scope
from .lifespan import Lifespan
from .loop_thread import LoopThread
from .response import TestResponse
from .session_probe import CSRF_TOKEN_PROBE
from .websocket import TestWebSocket

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["TestClient"]


class RequestOptions(TypedDict, total=False):
    """The keyword options of `TestClient.request` that `get`, `post`, ... pass on."""

    headers: Mapping[str, str] | None
    json: Any
    form: Mapping[str, Any] | None
    content: bytes | str | None
    follow_redirects: bool
    params: Mapping[str, str | Sequence[str]] | None


class TestClient:
    """A synchronous client for tests. Use it in a `with` block to run the lifespan."""

    __test__ = False

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "https://testserver",
        *,
        lifespan_timeout: float = 10.0,
        websocket_timeout: float = 5.0,
    ) -> None:
        self.app = app
        self.base_url = base_url.rstrip("/")
        self.lifespan_timeout = lifespan_timeout
        self.websocket_timeout = websocket_timeout
        self.cookies = CookieJar(urlsplit(self.base_url).hostname or "testserver")
        self._loop: LoopThread | None = None
        self._closer: weakref.finalize[Any, Any] | None = None
        self._lifespan: Lifespan | None = None

    def _runner(self) -> LoopThread:
        if self._loop is None:
            self._loop = LoopThread()
            # A client dropped without close() (no `with` block) still stops its loop and
            # cancels what the app left on it, instead of leaving its thread to the end.
            self._closer = weakref.finalize(self, self._loop.close)
        return self._loop

    # -- lifespan ------------------------------------------------------------

    def __enter__(self) -> TestClient:
        runner = self._runner()
        lifespan = Lifespan(self.app, self.lifespan_timeout)
        try:
            runner.run(lifespan.start(), self.lifespan_timeout + 5)
        except BaseException:
            self.close()
            raise
        self._lifespan = lifespan
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._lifespan is not None:
                lifespan, self._lifespan = self._lifespan, None
                self._runner().run(lifespan.stop(), self.lifespan_timeout * 2 + 5)
        finally:
            self.close()

    def close(self) -> None:
        """Stop the client's loop, cancelling what the app left running (the client
        does it itself when it is garbage collected; a new request starts a new loop)."""
        if self._closer is not None:
            self._closer()
        self._loop = self._closer = None

    # -- requests ------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        form: Mapping[str, Any] | None = None,
        content: bytes | str | None = None,
        follow_redirects: bool = False,
        params: Mapping[str, str | Sequence[str]] | None = None,
    ) -> TestResponse:
        """Send a request; cookies from the jar go out and Set-Cookie comes back into it.
        `params` are percent-encoded (UTF-8) onto the path's query string."""
        if params:
            path += ("&" if "?" in path else "?") + urlencode(params, doseq=True)
        url = self._url(path)
        for _ in range(20):
            response = self._exchange(method, url, headers, json, form, content)
            if not (follow_redirects and response.is_redirect):
                return response
            url = urljoin(url, response.headers["location"])
            if response.status_code == 303 or (
                response.status_code in (301, 302) and method.upper() == "POST"
            ):
                method, json, form, content = "GET", None, None, None
        raise RuntimeError("Too many redirects")

    def get(self, path: str, **options: Unpack[RequestOptions]) -> TestResponse:
        """`request("GET", path, ...)`."""
        return self.request("GET", path, **options)

    def head(self, path: str, **options: Unpack[RequestOptions]) -> TestResponse:
        """`request("HEAD", path, ...)`."""
        return self.request("HEAD", path, **options)

    def options(self, path: str, **options: Unpack[RequestOptions]) -> TestResponse:
        """`request("OPTIONS", path, ...)`."""
        return self.request("OPTIONS", path, **options)

    def post(self, path: str, **options: Unpack[RequestOptions]) -> TestResponse:
        """`request("POST", path, ...)`."""
        return self.request("POST", path, **options)

    def put(self, path: str, **options: Unpack[RequestOptions]) -> TestResponse:
        """`request("PUT", path, ...)`."""
        return self.request("PUT", path, **options)

    def patch(self, path: str, **options: Unpack[RequestOptions]) -> TestResponse:
        """`request("PATCH", path, ...)`."""
        return self.request("PATCH", path, **options)

    def delete(self, path: str, **options: Unpack[RequestOptions]) -> TestResponse:
        """`request("DELETE", path, ...)`."""
        return self.request("DELETE", path, **options)

    def _url(self, path: str) -> str:
        return path if "://" in path else self.base_url + path

    def _exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        form: Mapping[str, Any] | None = None,
        content: bytes | str | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> TestResponse:
        """One request and its answer, with the jar's cookies out and Set-Cookie back in."""
        request_headers = dict(headers or {})
        cookie = self.cookies.header_for(url)
        if cookie and not any(k.lower() == "cookie" for k in request_headers):
            request_headers["cookie"] = cookie
        response = self._runner().run(
            call_app(
                self.app, method, url, request_headers, json, form, content, extensions=extensions
            )
        )
        self.cookies.update_from(response, url)
        return response

    # -- CSRF ----------------------------------------------------------------

    def csrf_token(self, path: str = "/") -> str:
        """The CSRF token of this client's session, for the `X-CSRF-Token` header.

        A GET to `path` asks the app's session middleware for it, which creates the
        session when there is none (its cookie comes back into the jar) and answers
        204 without running the rest of the chain. `path` must be one the session
        middleware covers (any, for `app.use(session())`).
        """
        probe: dict[str, str] = {}
        response = self._exchange("GET", self._url(path), extensions={CSRF_TOKEN_PROBE: probe})
        token = probe.get("token")
        if token is None:
            raise RuntimeError(
                f"csrf_token(): no session middleware answered GET {path} "
                f"(the app answered {response.status_code}); session() must run for that "
                "path, before any guard that refuses it: pass csrf_token(path=...) a path it covers"
            )
        return token

    # -- WebSockets ----------------------------------------------------------

    def websocket_connect(
        self,
        path: str,
        headers: Mapping[str, str | None] | None = None,
        subprotocols: Sequence[str] | None = None,
        *,
        timeout: float | None = None,
    ) -> TestWebSocket:
        """Open a WebSocket to the app in process; use the result in a `with` block.

        The handshake carries the jar's cookies and, as browsers always send one, an
        `Origin` header with the client's own origin (the base URL's); set `headers=
        {"Origin": ...}` to come from elsewhere, or `{"Origin": None}` to send none (a
        client that is not a browser). A refused handshake raises `WebSocketRejected`.
        `timeout` (default: the client's `websocket_timeout`) bounds every wait.
        """
        url = self._url(path)
        parts = urlsplit(url)
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
        url = parts._replace(scheme=scheme).geturl()
        base = urlsplit(self.base_url)
        request_headers: dict[str, str] = {
            "origin": f"{base.scheme}://{base.netloc}",
            "connection": "Upgrade",
            "upgrade": "websocket",
            "sec-websocket-version": "13",
            "sec-websocket-key": base64.b64encode(os.urandom(16)).decode(),
        }
        cookie = self.cookies.header_for(url)
        if cookie:
            request_headers["cookie"] = cookie
        if subprotocols:
            request_headers["sec-websocket-protocol"] = ", ".join(subprotocols)
        for name, value in (headers or {}).items():
            request_headers.pop(name.lower(), None)
            if value is not None:
                request_headers[name.lower()] = value
        scope = connection_scope("websocket", url, request_headers, ("127.0.0.1", 50000))
        jar = self.cookies  # not `self`: an open socket must not keep the client alive
        scope["subprotocols"] = list(subprotocols or ())
        scope["extensions"] = {"websocket.http.response": {}}
        socket = TestWebSocket(
            self.app,
            scope,
            self._runner(),
            self.websocket_timeout if timeout is None else timeout,
            on_cookies=lambda set_cookies: jar.store(set_cookies, url),
        )
        return socket.connect()
