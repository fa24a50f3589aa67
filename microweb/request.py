"""The incoming request, `c.req`.

Everything is parsed lazily, on first use, and cached: headers, query, cookies
and the body. The body is read from ASGI once and can then be read again as
bytes, text, JSON or a form. A body that cannot be parsed raises
`HTTPException(400)` with a message that says why; one over the app's size
limit raises 413.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload
from urllib.parse import parse_qsl

from ._json import InvalidJSON, parse_json
from .cookies import parse_cookie_header
from .datastructures import FormData
from .exceptions import HTTPException
from .forms import parse_multipart
from .http_rules import media_type
from .limits import DEFAULT_LIMITS, Limits
from .urls import resolve_params

if TYPE_CHECKING:
    from .types import Receive, Scope

__all__ = ["Limits", "Request"]

T = TypeVar("T")

# Codecs Python knows that are not text encodings a client may label a body with:
# they decode to lone surrogates or raise errors other than UnicodeDecodeError.
_NOT_TEXT_CHARSETS = frozenset(
    {"utf-7", "punycode", "idna", "unicode-escape", "raw-unicode-escape", "undefined"}
)


class Request:
    """The request: method, path, params, query, headers, cookies and body."""

    __slots__ = (
        "_body",
        "_cookies",
        "_headers",
        "_limits",
        "_params",
        "_query",
        "_receive",
        "_route_entries",
        "_stash",
        "_valid",
        "method",
        "path",
        "route_index",
        "scope",
    )

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        path: str,
        method: str,
        limits: Limits = DEFAULT_LIMITS,
        route_entries: Sequence[tuple[Any, Any]] = (),
        stash: Any = None,
    ) -> None:
        self.scope = scope
        self._receive = receive
        self.path = path
        self.method = method
        self._limits = limits
        self._route_entries = route_entries
        self._stash = stash
        self.route_index = 0
        self._params: tuple[int, dict[str, str]] | None = None
        self._headers: dict[str, str] | None = None
        self._query: list[tuple[str, str]] | None = None
        self._cookies: dict[str, str] | None = None
        self._body: bytes | None = None
        self._valid: dict[str, Any] | None = None

    # -- routing -------------------------------------------------------------

    @overload
    def param(self, name: str) -> str | None: ...
    @overload
    def param(self, name: None = None) -> dict[str, str]: ...
    def param(self, name: str | None = None) -> str | dict[str, str] | None:
        """The params the current handler's route bound: one by name (or None), or all."""
        index = self.route_index
        # perf: the params of the last route index asked for, not a dict of every index: a
        # chain asks for one route's params at a time (a tuple costs less than a dict)
        cached = self._params
        if cached is not None and cached[0] == index:
            params = cached[1]
        else:
            entries = self._route_entries
            if index < len(entries):
                params = resolve_params(entries[index][1], self._stash, True)
            else:
                params = {}  # no route matched (the not-found handler asks)
            self._params = (index, params)
        if name is None:
            return dict(params)
        return params.get(name)

    @property
    def matched(self) -> list[Any]:
        """The routes this request matched, middleware and handlers, in the order they run
        (`compose.Route` objects: `fn`, `method`, `path`, `is_handler`, ...)."""
        return [entry[0] for entry in self._route_entries]

    @property
    def route_path(self) -> str:
        """The path pattern of the route whose handler runs now (`/static/*`), as Hono's
        `c.req.routePath`; "" when no route matched."""
        entries = self._route_entries
        if self.route_index < len(entries):
            path: str = entries[self.route_index][0].path
            return path
        return ""

    # -- validated input -----------------------------------------------------

    @overload
    def valid(self, target: str) -> Any: ...
    @overload
    def valid(self, target: str, schema: type[T]) -> T: ...
    def valid(self, target: str, schema: type[Any] | None = None) -> Any:
        """The `target` ("json", "form", "query", ...) as `validator(target, schema)` checked
        and converted it. With `schema` (a class), the value is typed as that class for the
        type checker, and checked to be one at run time."""
        values = self._valid
        if values is None or target not in values:
            raise RuntimeError(
                f"No validated {target!r} on this route: add validator({target!r}, schema) "
                "before the handler"
            )
        value = values[target]
        if schema is not None and not isinstance(value, schema):
            raise TypeError(
                f"Validated {target!r} is a {type(value).__name__}, not {schema.__name__}"
            )
        return value

    def set_valid(self, target: str, value: Any) -> None:
        """Store the validated `target` (what `validator` does)."""
        if self._valid is None:
            self._valid = {}
        self._valid[target] = value

    # -- URL -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """The full URL as the client asked for it."""
        scope = self.scope
        scheme = scope.get("scheme", "http")
        host = self.header("host")
        if not host:
            server = scope.get("server")
            host = f"{server[0]}:{server[1]}" if server else "localhost"
        root = scope.get("root_path", "")
        path = scope.get("path", self.path)
        if root and not path.startswith(root):
            path = root + path
        query = scope.get("query_string", b"")
        url = f"{scheme}://{host}{path}"
        return f"{url}?{query.decode('latin-1')}" if query else url

    @property
    def client(self) -> tuple[str, int] | None:
        """The peer address `(host, port)`, or None when the server does not know it."""
        client = self.scope.get("client")
        return (client[0], client[1]) if client else None

    def _query_items(self) -> list[tuple[str, str]]:
        if self._query is None:
            raw = self.scope.get("query_string", b"")
            try:
                self._query = parse_qsl(
                    raw.decode("utf-8"),
                    keep_blank_values=True,
                    errors="strict",
                    max_num_fields=self._limits.max_query_params,
                )
            except UnicodeDecodeError:
                raise HTTPException(400, "Query string is not valid UTF-8") from None
            except ValueError:
                raise HTTPException(400, "Too many query parameters") from None
        return self._query

    @overload
    def query(self, name: str) -> str | None: ...
    @overload
    def query(self, name: None = None) -> dict[str, str]: ...
    def query(self, name: str | None = None) -> str | dict[str, str] | None:
        """One query value by name (the first, or None), or all as a dict of first values."""
        items = self._query_items()
        if name is None:
            result: dict[str, str] = {}
            for key, value in items:
                result.setdefault(key, value)
            return result
        for key, value in items:
            if key == name:
                return value
        return None

    @overload
    def queries(self, name: str) -> list[str]: ...
    @overload
    def queries(self, name: None = None) -> dict[str, list[str]]: ...
    def queries(self, name: str | None = None) -> list[str] | dict[str, list[str]]:
        """Every query value of `name`, in order; without a name, every name's values."""
        if name is None:
            every: dict[str, list[str]] = {}
            for key, value in self._query_items():
                every.setdefault(key, []).append(value)
            return every
        return [value for key, value in self._query_items() if key == name]

    # -- headers and cookies ---------------------------------------------------

    def _header_map(self) -> dict[str, str]:
        if self._headers is None:
            raw_headers = self.scope.get("headers", ())
            if len(raw_headers) > self._limits.max_headers:
                raise HTTPException(
                    431, f"Too many request headers (more than {self._limits.max_headers})"
                )
            headers: dict[str, str] = {}
            for header in raw_headers:  # perf: indexed, as in _cookie_header
                name = header[0].decode("latin-1").lower()
                value = header[1].decode("latin-1")
                if name in headers:
                    sep = "; " if name == "cookie" else ", "
                    headers[name] = headers[name] + sep + value
                else:
                    headers[name] = value
            self._headers = headers
        return self._headers

    def _cookie_header(self) -> str | None:
        if self._headers is not None:
            return self._headers.get("cookie")
        # perf: session middleware reads the cookie on every request; find it
        # without decoding every header.
        raw_headers = self.scope.get("headers", ())
        if len(raw_headers) > self._limits.max_headers:
            return self._header_map().get("cookie")  # raises the 431
        cookie: str | None = None
        # perf: header[0], not `for name, value in`: compiled, unpacking a pair of unknown
        # type takes an iterator and three calls to it (about 300 instructions a header).
        for header in raw_headers:
            name = header[0]
            if name == b"cookie" or (len(name) == 6 and name.lower() == b"cookie"):
                text = header[1].decode("latin-1")
                cookie = text if cookie is None else f"{cookie}; {text}"
        return cookie

    @overload
    def header(self, name: str) -> str | None: ...
    @overload
    def header(self, name: None = None) -> dict[str, str]: ...
    def header(self, name: str | None = None) -> str | dict[str, str] | None:
        """One header by case-insensitive name (or None), or all as a dict (lower-case names)."""
        headers = self._header_map()
        if name is None:
            return dict(headers)
        return headers.get(name.lower())

    @overload
    def cookie(self, name: str) -> str | None: ...
    @overload
    def cookie(self, name: None = None) -> dict[str, str]: ...
    def cookie(self, name: str | None = None) -> str | dict[str, str] | None:
        """One cookie value by name (or None), or all as a dict."""
        if self._cookies is None:
            header = self._cookie_header()
            if header and len(header) > self._limits.max_cookie_bytes:
                raise HTTPException(
                    431, f"Cookie header is larger than {self._limits.max_cookie_bytes} bytes"
                )
            self._cookies = parse_cookie_header(header) if header else {}
        if name is None:
            return dict(self._cookies)
        return self._cookies.get(name)

    @property
    def content_type(self) -> str:
        """The media type of the body, lower case, without parameters ('' when absent)."""
        return media_type(self._header_map().get("content-type"))

    # -- body ----------------------------------------------------------------

    async def body(self) -> bytes:
        """The whole body as bytes (read once, then cached); 413 over the size limit."""
        if self._body is None:
            return await self.read_body(self._limits.max_body_size)
        return self._body

    async def read_body(self, max_size: int) -> bytes:
        """Read and cache the body, counting the bytes received: over `max_size` (or a
        Content-Length saying so) is HTTPException(413). A body cached already is only
        measured."""
        if self._body is not None:
            if len(self._body) > max_size:
                raise HTTPException(413, f"Request body is larger than {max_size} bytes")
            return self._body
        declared = self._header_map().get("content-length")
        if declared is not None:
            if not (declared.isascii() and declared.isdigit()):
                raise HTTPException(400, f"Malformed Content-Length header: {declared[:40]!r}")
            digits = declared.lstrip("0")
            # More than 19 digits is over any limit, and int() refuses past 4300 digits.
            if len(digits) > 19 or int(digits or "0") > max_size:
                raise HTTPException(413, f"Request body is larger than {max_size} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise HTTPException(400, "Client disconnected before sending the body")
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > max_size:
                    raise HTTPException(413, f"Request body is larger than {max_size} bytes")
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        self._body = b"".join(chunks)
        return self._body

    async def text(self) -> str:
        """The body decoded with the charset of its Content-Type (UTF-8 by default)."""
        data = await self.body()
        charset = "utf-8"
        for part in self._header_map().get("content-type", "").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"')
        try:
            codec = codecs.lookup(charset).name
        except (LookupError, ValueError):
            codec = ""
        if not codec or codec in _NOT_TEXT_CHARSETS:
            raise HTTPException(400, f"Unsupported charset {charset!r} in Content-Type")
        try:
            return data.decode(codec)
        except (UnicodeError, LookupError):
            raise HTTPException(400, f"Request body is not valid {charset}") from None

    async def json(self) -> Any:
        """The body parsed as JSON (RFC 8259: no NaN, no Infinity, no number too large for
        a float); 400 saying why when it is not JSON."""
        data = await self.body()
        if not data:
            raise HTTPException(400, "Request body is empty, expected JSON")
        try:
            return parse_json(data)
        except InvalidJSON as err:
            if err.bad_encoding:
                raise HTTPException(400, "JSON body is not valid UTF-8") from None
            raise HTTPException(400, f"Malformed JSON body: {err}") from None

    async def form(self) -> FormData:
        """The body as a form (urlencoded or multipart); 400 when it cannot be parsed."""
        content_type = self.content_type
        limits = self._limits
        if content_type == "multipart/form-data":
            header = self._header_map().get("content-type", "")
            return parse_multipart(header, await self.body(), limits)
        if content_type in ("application/x-www-form-urlencoded", ""):
            raw = await self.body()
            try:
                items = parse_qsl(
                    raw.decode("utf-8"),
                    keep_blank_values=True,
                    errors="strict",
                    max_num_fields=limits.max_form_fields,
                )
            except UnicodeDecodeError:
                raise HTTPException(400, "Form body is not valid UTF-8") from None
            except ValueError:
                raise HTTPException(
                    413, f"Form has more than {limits.max_form_fields} fields"
                ) from None
            return FormData(items)
        raise HTTPException(
            415,
            f"Expected a form body (application/x-www-form-urlencoded or "
            f"multipart/form-data), got {content_type!r}",
        )
