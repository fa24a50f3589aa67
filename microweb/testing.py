"""`TestClient`: call an app in process, synchronously, with a real cookie jar.

The client runs the app on its own event loop in a background thread, so
connection pools and locks an app opens at startup stay valid across requests.
`with TestClient(app) as client:` runs the lifespan (startup on enter,
shutdown on exit). The default base URL is https, so Secure cookies
(the session's default) round-trip as in a browser.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import secrets
import threading
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlencode, urljoin, urlsplit

from .datastructures import Headers
from .types import ASGIApp, Message

__all__ = ["CookieJar", "TestClient", "TestResponse", "call_app"]

T = TypeVar("T")


class TestResponse:
    """What a test request returns: `status_code`, `headers`, `content`, `text`, `json()`."""

    __test__ = False

    def __init__(self, status_code: int, headers: Headers, content: bytes, url: str) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.url = url

    @property
    def text(self) -> str:
        return self.content.decode()

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    @property
    def cookies(self) -> dict[str, str]:
        """The cookies this response sets (name -> value; an empty value deletes)."""
        cookies: dict[str, str] = {}
        for header in self.headers.getall("set-cookie"):
            cookie = parse_set_cookie(header, "testserver")
            if cookie is not None:
                cookies[cookie.name] = cookie.value
        return cookies

    @property
    def is_redirect(self) -> bool:
        return self.status_code in (301, 302, 303, 307, 308) and "location" in self.headers

    def __repr__(self) -> str:
        return f"<TestResponse [{self.status_code}]>"


@dataclass
class Cookie:
    name: str
    value: str
    domain: str
    path: str
    host_only: bool
    secure: bool
    http_only: bool
    expires: float | None  # Unix time; None for a session cookie


def parse_set_cookie(header: str, host: str) -> Cookie | None:
    """Parse one Set-Cookie header as a browser would (RFC 6265 section 5.2)."""
    pair, *attributes = header.split(";")
    name, sep, value = pair.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name:
        return None
    cookie = Cookie(
        name, unquote(value), host, "/", True, secure=False, http_only=False, expires=None
    )
    max_age: float | None = None
    for attribute in attributes:
        key, _, val = attribute.strip().partition("=")
        key = key.lower()
        if key == "max-age":
            try:
                max_age = int(val)
            except ValueError:
                continue
        elif key == "expires" and max_age is None:
            from email.utils import parsedate_to_datetime

            try:
                cookie.expires = parsedate_to_datetime(val).timestamp()
            except (TypeError, ValueError):
                continue
        elif key == "domain" and val:
            cookie.domain = val.lstrip(".").lower()
            cookie.host_only = False
        elif key == "path" and val.startswith("/"):
            cookie.path = val
        elif key == "secure":
            cookie.secure = True
        elif key == "httponly":
            cookie.http_only = True
    if max_age is not None:
        cookie.expires = time.time() + max_age if max_age > 0 else 0.0
    return cookie


class CookieJar:
    """A small browser-like cookie jar: domain, path, Secure and expiry are honoured."""

    def __init__(self) -> None:
        self._cookies: dict[tuple[str, str, str], Cookie] = {}

    def update_from(self, response: TestResponse, url: str) -> None:
        host = (urlsplit(url).hostname or "").lower()
        for header in response.headers.getall("set-cookie"):
            cookie = parse_set_cookie(header, host)
            if cookie is None:
                continue
            key = (cookie.domain, cookie.path, cookie.name)
            if cookie.expires is not None and cookie.expires <= time.time():
                self._cookies.pop(key, None)
            else:
                self._cookies[key] = cookie

    def header_for(self, url: str) -> str | None:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        path = parts.path or "/"
        now = time.time()
        chosen = []
        for key, cookie in list(self._cookies.items()):
            if cookie.expires is not None and cookie.expires <= now:
                del self._cookies[key]
                continue
            if cookie.host_only and host != cookie.domain:
                continue
            if not cookie.host_only and not (
                host == cookie.domain or host.endswith("." + cookie.domain)
            ):
                continue
            if cookie.secure and parts.scheme != "https":
                continue
            if not (path == cookie.path or path.startswith(cookie.path.rstrip("/") + "/")):
                continue
            chosen.append(cookie)
        chosen.sort(key=lambda cookie: -len(cookie.path))
        if not chosen:
            return None
        return "; ".join(f"{c.name}={quote(c.value, safe='')}" for c in chosen)

    def get(self, name: str, default: str | None = None) -> str | None:
        for cookie in self._cookies.values():
            if cookie.name == name:
                return cookie.value
        return default

    def set(self, name: str, value: str, domain: str = "testserver", path: str = "/") -> None:
        self._cookies[(domain, path, name)] = Cookie(
            name, value, domain, path, True, secure=False, http_only=False, expires=None
        )

    def clear(self) -> None:
        self._cookies.clear()

    def __contains__(self, name: object) -> bool:
        return any(cookie.name == name for cookie in self._cookies.values())

    def __iter__(self) -> Any:
        return iter({cookie.name for cookie in self._cookies.values()})

    def __len__(self) -> int:
        return len(self._cookies)


def encode_body(
    headers: dict[str, str],
    json: Any = None,
    form: Mapping[str, Any] | None = None,
    content: bytes | str | None = None,
) -> bytes:
    """Encode a request body and set its Content-Type in `headers` (lower-case keys)."""
    if json is not None:
        headers.setdefault("content-type", "application/json")
        return jsonlib.dumps(json).encode()
    if form is not None:
        files = any(isinstance(v, tuple) for _, v in _form_items(form))
        if not files:
            headers.setdefault("content-type", "application/x-www-form-urlencoded")
            return urlencode(list(_form_items(form))).encode()
        boundary = secrets.token_hex(16)
        headers.setdefault("content-type", f"multipart/form-data; boundary={boundary}")
        return _multipart(form, boundary)
    if isinstance(content, str):
        return content.encode()
    return content or b""


def _form_items(form: Mapping[str, Any]) -> list[tuple[str, Any]]:
    items = []
    for key, value in form.items():
        for one in value if isinstance(value, list) else [value]:
            items.append((key, one))
    return items


def _multipart(form: Mapping[str, Any], boundary: str) -> bytes:
    out = bytearray()
    for name, value in _form_items(form):
        out += f"--{boundary}\r\n".encode()
        if isinstance(value, tuple):
            filename, data, *rest = value
            content_type = rest[0] if rest else "application/octet-stream"
            out += (
                f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n"
            ).encode()
            out += data if isinstance(data, bytes) else str(data).encode()
        else:
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            out += str(value).encode()
        out += b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


async def call_app(
    app: ASGIApp,
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    form: Mapping[str, Any] | None = None,
    content: bytes | str | None = None,
    client: tuple[str, int] = ("127.0.0.1", 50000),
) -> TestResponse:
    """Send one request to `app` through the ASGI interface and collect the response."""
    parts = urlsplit(url)
    request_headers = {k.lower(): v for k, v in (headers or {}).items()}
    body = encode_body(request_headers, json, form, content)
    host = parts.netloc or "testserver"
    request_headers.setdefault("host", host)
    if body or method.upper() in ("POST", "PUT", "PATCH"):
        request_headers.setdefault("content-length", str(len(body)))
    raw_path = (parts.path or "/").encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": parts.scheme or "http",
        "path": unquote(parts.path or "/"),
        "raw_path": raw_path,
        "query_string": parts.query.encode(),
        "root_path": "",
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in request_headers.items()],
        "client": client,
        "server": (parts.hostname or "testserver", parts.port or 443),
        "state": {},
    }
    body_sent = False
    done = asyncio.Event()

    async def receive() -> Message:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    status = 0
    response_headers = Headers()
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            response_headers.raw.extend(
                (bytes(k).lower(), bytes(v)) for k, v in message.get("headers", [])
            )
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                done.set()

    try:
        await app(scope, receive, send)
    finally:
        done.set()
    if status == 0:
        raise RuntimeError("The app returned without sending a response")
    return TestResponse(status, response_headers, b"".join(chunks), url)


class _LoopThread:
    """An event loop running in a daemon thread, for the sync client."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


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
