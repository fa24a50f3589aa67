"""`AppSessionMiddleware`, what `session()` gives a microweb app, and
`add_session_headers`, how the session's headers join a response's: compiled in the
compiled build, as the rest of the request path (`session()` itself, which checks
options of any type, stays in `middleware.py`).

Rules:
- The session is loaded on the way in (eagerly: `Session` methods are sync) and
  committed on the way out, errors included: microweb has already turned an error
  into `c.res`.
- Headers are appended, never replace others; `Vary: Cookie` is added only when the
  response does not vary on Cookie (or on everything) already.
- A request carrying the `microweb.csrf_token` scope extension (the test client's
  `csrf_token()`, see `testing/session_probe.py`) gets the session's token written
  into it and a 204, without the rest of the chain running.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..compose import Middleware, Next
from ..describe import SESSION, Description, describe
from ..http_rules import raw_vary_covers
from ..response import Response
from ..testing.session_probe import csrf_token_probe
from .manager import SessionManager

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["AppSessionMiddleware", "add_session_headers"]


class AppSessionMiddleware(Middleware):
    """Middleware for a microweb app (`app.use(session())`): `c.get("session")` is
    the request's `Session`. The app's lifespan opens and closes the store."""

    # Declared, so describe() can set it on a compiled instance too (no __dict__ there).
    __microweb_description__: Description

    def __init__(self, manager: SessionManager) -> None:
        self.manager = manager
        cookie = {"type": "apiKey", "in": "cookie", "name": manager.cookie_name}
        describe(self, Description(schemes={SESSION: cookie}))

    async def startup(self) -> None:
        await self.manager.startup()

    async def shutdown(self) -> None:
        await self.manager.shutdown()

    async def __call__(self, c: Context, next: Next) -> None:
        manager = self.manager
        session = await manager.load(c.req.cookie(manager.cookie_name))
        c.set("session", session)
        # perf: uvicorn puts no extensions on HTTP scopes: one failed dict lookup a request
        # (benchmarks/inprocess.py, memory driver: 19-21 us a request, before 21-24 us).
        probe = None if "extensions" not in c.req.scope else csrf_token_probe(c.req.scope)
        if probe is None:
            await next()
        else:
            probe["token"] = session.token()
            c.res = Response(b"", 204)
        extra = await manager.commit(session)
        response = c.res
        if extra and response is not None:
            add_session_headers(response.raw, extra)


def add_session_headers(raw: list[tuple[bytes, bytes]], extra: list[tuple[bytes, bytes]]) -> None:
    """Append the session's headers (`extra`) to a response's: its Set-Cookie, and its
    `Vary: Cookie` unless the response varies on Cookie already."""
    for header in extra:
        if header[0] == b"vary" and raw_vary_covers(raw, "Cookie"):
            continue
        raw.append(header)
