"""`TestClient`: call an app in process, synchronously, with a real cookie jar.

The client runs the app on its own event loop in a background thread, so
connection pools and locks an app opens at startup stay valid across requests.
`with TestClient(app) as client:` runs the lifespan (startup on enter,
shutdown on exit). The default base URL is https, so Secure cookies
(the session's default) round-trip as in a browser. Each request goes through
`call_app`; the jar's cookies go out with it unless the caller sent a Cookie
header, and what the answer sets comes back into the jar.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar
from urllib.parse import urljoin

from ..types import ASGIApp, Message
from .cookies import CookieJar
from .driver import call_app
from .response import TestResponse

__all__ = ["TestClient"]

T = TypeVar("T")


class _LoopThread:
    """An event loop running in a daemon thread, for the sync client."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        """Cancel what the app left running (as `asyncio.run` does), then stop the loop."""
        if self.thread.is_alive():
            done = asyncio.run_coroutine_threadsafe(_cancel_the_rest(), self.loop)
            with contextlib.suppress(Exception):
                done.result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


async def _cancel_the_rest() -> None:
    """Cancel every task of this loop but the caller, and wait for them to finish."""
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class TestClient:
    """A synchronous client for tests. Use it in a `with` block to run the lifespan."""

    __test__ = False

    def __init__(self, app: ASGIApp, base_url: str = "https://testserver") -> None:
        self.app = app
        self.base_url = base_url.rstrip("/")
        self.cookies = CookieJar()
        self._loop: _LoopThread | None = None
        self._lifespan: asyncio.Future[None] | None = None
        self._lifespan_queue: asyncio.Queue[Message] | None = None
        self._lifespan_events: asyncio.Queue[Message] | None = None

    def _runner(self) -> _LoopThread:
        if self._loop is None:
            self._loop = _LoopThread()
        return self._loop

    # -- lifespan ------------------------------------------------------------

    def __enter__(self) -> TestClient:
        runner = self._runner()
        try:
            runner.run(self._start_lifespan())
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._lifespan is not None:
                self._runner().run(self._stop_lifespan())
        finally:
            self.close()

    async def _start_lifespan(self) -> None:
        to_app: asyncio.Queue[Message] = asyncio.Queue()
        from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._lifespan_queue, self._lifespan_events = to_app, from_app
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._lifespan = asyncio.ensure_future(self.app(scope, to_app.get, from_app.put))
        await to_app.put({"type": "lifespan.startup"})
        message = await from_app.get()
        if message["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"App startup failed: {message.get('message', '')}")

    async def _stop_lifespan(self) -> None:
        assert self._lifespan_queue is not None and self._lifespan_events is not None
        await self._lifespan_queue.put({"type": "lifespan.shutdown"})
        message = await self._lifespan_events.get()
        if self._lifespan is not None:
            await self._lifespan
            self._lifespan = None
        if message["type"] == "lifespan.shutdown.failed":
            raise RuntimeError(f"App shutdown failed: {message.get('message', '')}")

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()
            self._loop = None

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
    ) -> TestResponse:
        """Send a request; cookies from the jar go out and Set-Cookie comes back into it."""
        url = path if "://" in path else self.base_url + path
        runner = self._runner()
        for _ in range(20):
            request_headers = dict(headers or {})
            cookie = self.cookies.header_for(url)
            if cookie and not any(k.lower() == "cookie" for k in request_headers):
                request_headers["cookie"] = cookie
            response = runner.run(
                call_app(self.app, method, url, request_headers, json, form, content)
            )
            self.cookies.update_from(response, url)
            if not (follow_redirects and response.is_redirect):
                return response
            url = urljoin(url, response.headers["location"])
            if response.status_code == 303 or (
                response.status_code in (301, 302) and method.upper() == "POST"
            ):
                method, json, form, content = "GET", None, None, None
        raise RuntimeError("Too many redirects")

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("HEAD", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("OPTIONS", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, **kwargs)
