"""The context `c` every handler and middleware receives.

`c.req` is the request; `c.text/json/html/body/redirect/stream/sse` build the
response; `c.status()` and `c.header()` set defaults that the next built
response picks up (and, once a response exists, change it); `c.set/get/var`
carry values between middleware and handlers for one request; `c.res` is the
response, readable and replaceable on the way out of `await next()`; `c.answers`
are the app's error, 404 and 405 answers, which the chain turns errors and
`c.not_found()` into.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from datetime import datetime
from importlib.machinery import EXTENSION_SUFFIXES
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Generic

from .cookies import serialize_cookie
from .datastructures import Headers
from .response import (
    BINARY_CT,
    HTML_CT,
    JSON_CT,
    SSE_CT,
    TEXT_CT,
    TEXT_TYPE,
    HeadersInit,
    Response,
    dump_json,
)
from .streams import encode_events
from .types import V
from .urls import encode_location
from .variables import Vars

if TYPE_CHECKING:
    from .answers import Answers
    from .app import MicroWeb
    from .request import Request

__all__ = ["RENDERER", "Context", "NotFoundResponse", "Vars"]

# The context variable where a template middleware (`microweb.templates.jinja`) leaves the
# function `c.render` calls: `renderer(c, name, context, status, headers) -> Response`.
RENDERER = "_microweb_renderer"


def _utf8(text: str) -> bytes:
    """`text` in UTF-8; a lone surrogate (from a JSON \\ud800 escape, say), which has no
    UTF-8 form, becomes "?"."""
    try:
        # perf: the strict codec is the fast one; errors="replace" takes a slower path.
        return text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


class NotFoundResponse(Response):
    """What `c.not_found()` returns; the chain turns it into the app's not-found answer."""

    __slots__ = ()


class Context(Generic[V]):
    """One request's context: the request, the response being built and variables.

    `Context[MyVars]` types `c.var` as `MyVars`: a `TypedDict` (read with
    `c.var["user"]`) or a class or Protocol with attributes (`c.var.user`), as Hono's
    `Context<{ Variables: ... }>` does; a bare `Context` leaves `c.var` untyped.
    """

    __slots__ = ("_res", "_status", "_vars", "answers", "app", "prepared_headers", "req")

    def __init__(self, app: MicroWeb, req: Request, answers: Answers) -> None:
        self.app = app
        self.req = req
        self.answers = answers
        self._res: Response | None = None
        self._status = 200
        # The headers `c.header()` set, which responses built later pick up and the chain
        # merges into a handler's own Response; None when there are none. Read it; only
        # `c.header()` writes it. perf: a plain slot, read on every request.
        self.prepared_headers: Headers | None = None
        self._vars: dict[str, Any] | None = None

    # -- variables -----------------------------------------------------------

    def set(self, key: str, value: Any) -> None:
        """Store `value` under `key` for the rest of this request."""
        if self._vars is None:
            self._vars = {}
        self._vars[key] = value

    def get(self, key: str, default: Any = None) -> Any:
        """The variable `key`, or `default`."""
        if self._vars is None:
            return default
        return self._vars.get(key, default)

    @property
    def var(self) -> V:
        """The variables, read-only, by key or attribute (`c.var["user"]`, `c.var.user`)."""
        if self._vars is None:
            self._vars = {}
        return Vars(self._vars)  # type: ignore[return-value]

    # -- response ------------------------------------------------------------

    def _set_res(self, response: Response) -> None:
        if not isinstance(response, Response):
            raise TypeError(f"c.res must be a Response, got {type(response).__name__}")
        self._res = response

    @property
    def res(self) -> Response | None:
        """The response so far (None until a handler answered)."""
        return self._res

    @res.setter
    def res(self, response: Response) -> None:
        self._set_res(response)

    def status(self, code: int) -> None:
        """Set the status of the responses built after this call."""
        self._status = code
        if self._res is not None:
            self._res.status = code

    def header(self, name: str, value: str | None, append: bool = False) -> None:
        """Set (or with `append`, add) a header on the response; None removes it."""
        targets = [self._prepared()]
        if self._res is not None:
            targets.append(self._res.headers)
        for headers in targets:
            if value is None:
                del headers[name]
            elif append:
                headers.append(name, value)
            else:
                headers[name] = value

    # -- the chain's side (compose and the app) ------------------------------------

    def set_response(self, response: Response) -> None:
        """Make `response` the answer: what the chain does with a handler's result, an
        error's or a 404's answer (already Responses, so without `c.res = `'s check)."""
        self._res = response

    def _prepared(self) -> Headers:
        if self.prepared_headers is None:
            self.prepared_headers = Headers()
        return self.prepared_headers

    def set_cookie(
        self,
        name: str,
        value: str,
        max_age: int | None = None,
        expires: datetime | int | float | None = None,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        http_only: bool = False,
        same_site: str | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Add a Set-Cookie header; a bad name or attribute is a ValueError."""
        cookie = serialize_cookie(
            name,
            value,
            max_age=max_age,
            expires=expires,
            path=path,
            domain=domain,
            secure=secure,
            http_only=http_only,
            same_site=same_site,
            partitioned=partitioned,
        )
        self.header("set-cookie", cookie, append=True)

    def delete_cookie(self, name: str, path: str = "/", domain: str | None = None) -> None:
        """Tell the client to drop a cookie."""
        secure = name.startswith(("__Secure-", "__Host-"))
        self.set_cookie(name, "", max_age=0, expires=0, path=path, domain=domain, secure=secure)

    def _build(
        self,
        body: bytes,
        status: int | None,
        headers: HeadersInit,
        content_type: tuple[bytes, bytes],
        stream: AsyncIterable[bytes | str] | None = None,
    ) -> Response:
        # perf: the common case (no defaults, no extra headers) skips every check.
        if self.prepared_headers is None and not headers:
            return Response.from_raw(
                body, self._status if status is None else status, [content_type], stream
            )
        raw: list[tuple[bytes, bytes]] = [content_type]
        if self.prepared_headers is not None:
            prepared = self.prepared_headers.raw
            if any(k == b"content-type" for k, _ in prepared):
                raw = []
            raw.extend(prepared)
        response = Response.from_raw(body, self._status if status is None else status, raw, stream)
        if headers:
            extra = headers if isinstance(headers, Headers) else Headers(headers)
            for name in extra:
                del response.headers[name]
            raw.extend(extra.raw)
        return response

    def text(self, text: str, status: int | None = None, headers: HeadersInit = None) -> Response:
        """A text/plain response."""
        return self._build(_utf8(text), status, headers, TEXT_CT)

    def json(self, obj: Any, status: int | None = None, headers: HeadersInit = None) -> Response:
        """A JSON response."""
        return self._build(dump_json(obj), status, headers, JSON_CT)

    def html(self, html: str, status: int | None = None, headers: HeadersInit = None) -> Response:
        """A text/html response."""
        return self._build(_utf8(html), status, headers, HTML_CT)

    def body(
        self, data: bytes | str | None, status: int | None = None, headers: HeadersInit = None
    ) -> Response:
        """A response with a raw body (application/octet-stream unless headers say otherwise)."""
        if isinstance(data, str):
            data = data.encode()
        return self._build(data or b"", status, headers, BINARY_CT)

    def redirect(self, url: str, status: int = 302) -> Response:
        """A redirect to `url` (302 by default). The `Location` is percent-encoded where
        it must be (`/files/€` goes out as `/files/%E2%82%AC`; escapes already there are
        kept), so any str is a valid redirect, never a 500 or a second header."""
        if not 300 <= status <= 399:
            raise ValueError(f"Redirect status must be 3xx, got {status}")
        return self._build(b"", status, {"location": encode_location(url)}, TEXT_CT)

    def not_found(self) -> Response:
        """The app's not-found answer."""
        return NotFoundResponse(b"404 Not Found", 404, media_type=TEXT_TYPE)

    def stream(
        self,
        chunks: AsyncIterable[bytes | str],
        status: int | None = None,
        headers: HeadersInit = None,
        media_type: str = "application/octet-stream",
    ) -> Response:
        """A streamed response: each chunk goes out as soon as it is produced."""
        content_type = (b"content-type", media_type.encode("latin-1"))
        return self._build(b"", status, headers, content_type, stream=chunks)

    def render(
        self,
        name: str,
        context: Mapping[str, Any] | None = None,
        status: int = 200,
        headers: HeadersInit = None,
    ) -> Response:
        """An HTML response from the template `name`, with `app.use(jinja(...))` registered."""
        renderer = self.get(RENDERER)
        if renderer is None:
            raise RuntimeError(
                "c.render() needs a template engine: add app.use(jinja('templates')) "
                "(from microweb.templates import jinja)"
            )
        response: Response = renderer(self, name, context, status, headers)
        return response

    def sse(
        self, events: AsyncIterable[Any], status: int | None = None, headers: HeadersInit = None
    ) -> Response:
        """A text/event-stream of events (str data, or dicts with event/data/id/retry)."""
        response = self._build(b"", status, headers, SSE_CT, stream=encode_events(events))
        response.headers.setdefault("cache-control", "no-cache")
        return response


# perf: the chain reads c.res on every request (three times for a session round trip).
# Interpreted, a getter in C (attrgetter) spares the Python frame a `def` getter costs:
# about 1,700 instructions a request of the memory-session workload
# (benchmarks/instructions.py). Compiled, the property above is C already, and a compiled
# class takes no new attributes: it stays.
if not (__file__ or "").endswith(tuple(EXTENSION_SUFFIXES)):
    setattr(  # noqa: B010
        Context,
        "res",
        property(attrgetter("_res"), Context._set_res, doc=Context.res.__doc__),
    )
