"""The two ways to put a session on a request: `session()` returns an
`AppSessionMiddleware` (app_middleware.py) for a microweb app's `app.use`, and
`ASGISessionMiddleware` (documented as `SessionMiddleware`) wraps any ASGI app.

Rules:
- Both are thin: `SessionManager` does the work, so the behaviour is the same.
- The session is loaded on the way in (eagerly: `Session` methods are sync)
  and committed on the way out, errors included: microweb has already turned
  an error into `c.res`, and an ASGI app still sends its 500 through `send`.
- Headers are appended, never replace others; `Vary: Cookie` is added only
  when the response does not vary on Cookie (or on everything) already.
- `ASGISessionMiddleware` opens the store on lifespan startup and closes it after
  the wrapped app's shutdown; without lifespan it opens on the first request.
  WebSocket connections get `scope["session"]` to read; they cannot set cookies.
  Their socket ends with the session as a microweb route's does: the wrapped
  app's `receive` and `send` are the socket's (`WebSocket.asgi_receive` and
  `asgi_send`), closed with 4401 when the session ends.
- A request carrying the `microweb.csrf_token` scope extension (the test
  client's `csrf_token()`, see `testing/session_probe.py`) gets the session's
  token written into it and a 204, without the rest of the chain running.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..cookies import parse_cookie_header
from ..exceptions import HTTPException
from ..http_rules import scope_headers
from ..testing.session_probe import csrf_token_probe
from ..types import ASGIApp, Message, Receive, Scope, Send
from ..websockets import WebSocket
from .app_middleware import AppSessionMiddleware, add_session_headers
from .manager import make_manager
from .options import SecretKeys, SessionOptions
from .store import SessionStore

if TYPE_CHECKING:
    pass

__all__ = ["ASGISessionMiddleware", "AppSessionMiddleware", "SessionMiddleware", "session"]


def session(
    *,
    driver: str | SessionStore = "memory",
    lifetime: float = 120,
    absolute_lifetime: float | None = None,
    expire_on_close: bool = False,
    cookie: str = "microweb_session",
    path: str = "/",
    domain: str | None = None,
    secure: bool = True,
    http_only: bool = True,
    same_site: str = "lax",
    secret: SecretKeys | None = None,
    url: str | None = None,
    client: Any = None,
    directory: str = ".sessions",
    prefix: str = "microweb:session:",
    max_sessions: int = 100_000,
    durable: bool = False,
    durable_timeout: float = 1.0,
    table: str = "microweb_sessions",
    create_tables: bool = True,
    sweep_every: float = 300,
) -> AppSessionMiddleware:
    """Return middleware giving each request a `Session` as `c.get("session")`.

    Options (the Sessions table in docs/sessions.md has each one's meaning):
    `driver` ("memory", "cookie", "file", "redis", "postgres", "sqlite" or a
    `SessionStore`), `lifetime` and `absolute_lifetime` (minutes), `expire_on_close`,
    the cookie's `cookie` (name), `path`, `domain`, `secure`, `http_only`, `same_site`,
    `secret` (a key or keys, newest first), the backend's `url` or `client`,
    `directory` (file), `prefix`, `durable` and `durable_timeout` (seconds; Redis),
    `max_sessions` (memory), `table`, `create_tables` and `sweep_every` (seconds; SQL).
    A misspelt option is a `TypeError`; a bad value a `ValueError` starting `session(): `.
    """
    options = SessionOptions(
        driver=driver,
        lifetime=lifetime,
        absolute_lifetime=absolute_lifetime,
        expire_on_close=expire_on_close,
        cookie=cookie,
        path=path,
        domain=domain,
        secure=secure,
        http_only=http_only,
        same_site=same_site,
        secret=secret,
        url=url,
        client=client,
        directory=directory,
        prefix=prefix,
        max_sessions=max_sessions,
        durable=durable,
        durable_timeout=durable_timeout,
        table=table,
        create_tables=create_tables,
        sweep_every=sweep_every,
    )
    return AppSessionMiddleware(make_manager(options))


class ASGISessionMiddleware:
    """ASGI 3 middleware around any ASGI app, putting a `Session` in `scope["session"]`.

    `SessionMiddleware(app, ...)` takes the same keyword-only options as `session()`.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        driver: str | SessionStore = "memory",
        lifetime: float = 120,
        absolute_lifetime: float | None = None,
        expire_on_close: bool = False,
        cookie: str = "microweb_session",
        path: str = "/",
        domain: str | None = None,
        secure: bool = True,
        http_only: bool = True,
        same_site: str = "lax",
        secret: SecretKeys | None = None,
        url: str | None = None,
        client: Any = None,
        directory: str = ".sessions",
        prefix: str = "microweb:session:",
        max_sessions: int = 100_000,
        durable: bool = False,
        durable_timeout: float = 1.0,
        table: str = "microweb_sessions",
        create_tables: bool = True,
        sweep_every: float = 300,
    ) -> None:
        self.app = app
        options = SessionOptions(
            driver=driver,
            lifetime=lifetime,
            absolute_lifetime=absolute_lifetime,
            expire_on_close=expire_on_close,
            cookie=cookie,
            path=path,
            domain=domain,
            secure=secure,
            http_only=http_only,
            same_site=same_site,
            secret=secret,
            url=url,
            client=client,
            directory=directory,
            prefix=prefix,
            max_sessions=max_sessions,
            durable=durable,
            durable_timeout=durable_timeout,
            table=table,
            create_tables=create_tables,
            sweep_every=sweep_every,
        )
        self.manager = make_manager(options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        manager = self.manager
        session = await manager.load(_scope_cookie(scope, manager.cookie_name))
        scope["session"] = session
        if kind == "websocket":
            socket = WebSocket(scope, receive, send)
            unwatch = session.close_on_end(socket)
            if unwatch is None:
                await self.app(scope, receive, send)
                return
            try:
                await self.app(scope, socket.asgi_receive, socket.asgi_send)
            finally:
                unwatch()
            return
        replaced = False

        async def send_with_session(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return  # the app's response was replaced by an error response
            if message["type"] == "http.response.start":
                try:
                    extra = await manager.commit(session)
                except HTTPException as exc:  # store down while saving: 503
                    replaced = True
                    await _send_error(send, exc)
                    return
                raw = list(message.get("headers", []))
                add_session_headers(raw, extra)
                message = {**message, "headers": raw}
            await send(message)

        probe = csrf_token_probe(scope)
        if probe is not None:
            probe["token"] = session.token()
            await send_with_session({"type": "http.response.start", "status": 204, "headers": []})
            await send_with_session({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send_with_session)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def receive_opening_store() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.manager.startup()
            return message

        async def send_closing_store(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self.manager.shutdown()
            await send(message)

        await self.app(scope, receive_opening_store, send_closing_store)


SessionMiddleware = ASGISessionMiddleware  # the name the docs use, as Starlette's


def _scope_cookie(scope: Scope, name: str) -> str | None:
    for value in scope_headers(scope, b"cookie"):
        found = parse_cookie_header(value).get(name)
        if found is not None:
            return found
    return None


async def _send_error(send: Send, exc: HTTPException) -> None:
    body = exc.message.encode()
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items()]
    headers += [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
