"""The debug page: what an unhandled error, or a request no route answers, shows the
developer when the app runs with `MicroWeb(debug=True)` or `MICROWEB_DEBUG=1`.

Rules:
- Off by default. `debug=True` (or MICROWEB_DEBUG=1, true, yes, on) turns it on;
  `debug="force"` (MICROWEB_DEBUG=force) also lifts the loopback rule below. An explicit
  `debug=` wins over the environment; any other value is a ValueError when the app is
  made, never at request time.
- Loopback only: the page answers only requests that come from this machine: they
  reached the server on a loopback address (the ASGI scope's "server": 127.0.0.0/8,
  ::1, localhost, *.localhost, or the names in-process test clients use), from one
  (its "client"), and carry no proxy header (Forwarded, X-Forwarded-For, X-Real-IP:
  a proxy on the same machine connects over loopback). The first request that comes
  any other way (another address, a Unix socket, through a proxy) shows the app is
  reachable from elsewhere: the page is off from then on, for every client, and the
  log says why, once. Forced debug skips the rule.
- An error's page shows the exception (type, message, notes), its causes and contexts,
  each frame's file, line and function with the source lines around it (most recent
  call first; the app's frames open, library frames folded), and the request: method,
  path, query, client and headers. A 404's page shows the request and the app's routes
  (method, path, name).
- Never shown: frame locals (where passwords, keys and tokens live); cookie values; the
  values of headers and query parameters whose names look secret (authorization,
  cookie, token, key, secret, pass, session, csrf, signature, credential). The app's
  configuration (the session secret among it) is not on the page at all. The error is
  shown as raised: a secret the code put into an exception's message is shown.
- The facts are one report (a dict); a JSON client gets it as it is, a browser the HTML
  page and any other client plain text made from it (`debug_render`: everything
  escaped, no script, the page's own Content-Security-Policy), as
  `http_rules.answer_form` chooses; always with `Cache-Control: no-store`.
- This module builds the answer; `answers.Answers` decides when (after the user's
  `on_error`/`not_found`) and falls back to the plain answer if building it fails.
"""

from __future__ import annotations

import functools
import linecache
import logging
import os
import re
import sysconfig
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .debug_render import PAGE_POLICY, error_html, error_text, not_found_html, not_found_text
from .http_rules import answer_form, client_address

if TYPE_CHECKING:
    from .compose import Route
    from .context import Context
    from .response import Response
    from .types import Scope

__all__ = [
    "ENV",
    "FORCE",
    "DebugMode",
    "debug_mode",
    "error_page",
    "is_loopback_host",
    "not_found_page",
    "not_local",
    "served_on_loopback",
]

logger = logging.getLogger("microweb")

ENV = "MICROWEB_DEBUG"
FORCE = "force"
CONTEXT_LINES = 5  # source lines shown on either side of a frame's line
MAX_FRAMES = 60  # per exception, the most recent kept (a RecursionError has ~1000)
MAX_EXCEPTIONS = 8  # in the chain of causes, contexts and group members
MAX_ITEMS = 100  # headers, query parameters
MAX_LINE = 500  # characters of a source line
MASK = "[masked]"

_SECRET_NAME = re.compile(
    r"auth|cookie|token|secret|pass|key|session|csrf|xsrf|signature|credential", re.IGNORECASE
)
_ON = {"1", "true", "yes", "on"}
_OFF = {"", "0", "false", "no", "off"}


class DebugMode:
    """Debug is on for an app: whether this request may see the page."""

    __slots__ = ("forced", "refused")

    def __init__(self, *, forced: bool = False) -> None:
        self.forced = forced
        self.refused = False

    def allows(self, scope: Scope) -> bool:
        """Whether the request of `scope` gets the debug page (see the loopback rule)."""
        if self.forced:
            return True
        if self.refused:
            return False
        reason = not_local(scope)
        if reason is None:
            return True
        self.refused = True
        logger.warning(
            "Debug page off: %s, so the app is reachable from other machines and would "
            "show them its tracebacks. Serve it on 127.0.0.1 without a proxy, or set "
            "%s=force (or MicroWeb(debug=%r)) to show the page anyway.",
            reason,
            ENV,
            FORCE,
        )
        return False


def debug_mode(setting: bool | str | None) -> DebugMode | None:
    """The mode `MicroWeb(debug=setting)` asks for, None when off; `setting` None reads
    the MICROWEB_DEBUG environment variable."""
    if setting is None:
        raw = os.environ.get(ENV, "")
        value = raw.strip().lower()
        if value in _OFF:
            return None
        if value in _ON:
            return DebugMode()
        if value == FORCE:
            return DebugMode(forced=True)
        raise ValueError(f"{ENV} must be 1, 0 or {FORCE}, got {raw!r}")
    if setting is True:
        return DebugMode()
    if setting is False:
        return None
    if setting == FORCE:
        return DebugMode(forced=True)
    raise ValueError(f"MicroWeb(debug=...) must be True, False or {FORCE!r}, got {setting!r}")


# Headers a proxy adds: a request that carries one came from wherever the proxy is.
_PROXY_HEADERS = (b"forwarded", b"x-forwarded-for", b"x-real-ip")
# The names in-process test clients put in the scope: microweb's and Starlette's.
_TEST_NAMES = ("testserver", "testclient")


def not_local(scope: Scope) -> str | None:
    """Why the request of `scope` is not known to come from this machine (a sentence for
    the log), or None when it is: it reached the server on a loopback address, from a
    loopback address, and not through a proxy."""
    if not served_on_loopback(scope):
        return f"a request came in on {_where(scope)}, not a loopback address"
    client = scope.get("client")
    if client and not (str(client[0]) in _TEST_NAMES or is_loopback_host(str(client[0]))):
        return f"a request came from {client[0]}, not a loopback address"
    for name, _ in scope.get("headers", ()):
        if name.lower() in _PROXY_HEADERS:
            return f"a request came through a proxy (it carries {name.decode('latin-1')})"
    return None


def served_on_loopback(scope: Scope) -> bool:
    """Whether the request reached the server on a loopback address (scope "server")."""
    server = scope.get("server")
    if not server or server[1] is None:  # unknown, or a Unix socket
        return False
    host = str(server[0])
    return host.lower() in _TEST_NAMES or is_loopback_host(host)


def is_loopback_host(host: str) -> bool:
    """Whether `host` is this machine's loopback: 127.0.0.0/8, ::1 (IPv4-mapped too),
    localhost or a name under .localhost."""
    ip = client_address(host.partition("%")[0])  # an IPv4-mapped address as IPv4
    if ip is None:
        name = host.lower().rstrip(".")
        return name == "localhost" or name.endswith(".localhost")
    return ip.is_loopback


def _where(scope: Scope) -> str:
    server = scope.get("server")
    if not server:
        return "an unknown address"
    if server[1] is None:
        return f"the Unix socket {server[0]}"
    return f"{server[0]}:{server[1]}"


# -- the facts ---------------------------------------------------------------------------


def error_report(err: BaseException, c: Context) -> dict[str, Any]:
    """What the page of an unhandled error shows, as data."""
    return {
        "error": "Internal Server Error",
        "status": 500,
        "exceptions": [_exception(exc, relation, parent) for exc, relation, parent in _chain(err)],
        "request": request_report(c),
    }


def not_found_report(c: Context, message: str, routes: Iterable[Route]) -> dict[str, Any]:
    """What the page of a request no route answers shows, as data."""
    return {
        "error": message,
        "status": 404,
        "request": request_report(c),
        "routes": [
            {"method": r.method, "path": r.path, "name": r.name} for r in routes if r.is_handler
        ],
    }


def _chain(err: BaseException) -> list[tuple[BaseException, str, int | None]]:
    """`err`, then its group members, causes and contexts: (exception, how it relates to
    the one at index `parent`)."""
    found: list[tuple[BaseException, str, int | None]] = []
    seen: set[int] = set()
    pending: list[tuple[BaseException, str, int | None]] = [(err, "raised", None)]
    while pending and len(found) < MAX_EXCEPTIONS:
        exc, relation, parent = pending.pop(0)
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        index = len(found)
        found.append((exc, relation, parent))
        if isinstance(exc, BaseExceptionGroup):
            pending.extend((sub, "group", index) for sub in exc.exceptions)
        if exc.__cause__ is not None:
            pending.append((exc.__cause__, "cause", index))
        elif exc.__context__ is not None and not exc.__suppress_context__:
            pending.append((exc.__context__, "context", index))
    return found


def _exception(exc: BaseException, relation: str, parent: int | None) -> dict[str, Any]:
    frames = [_frame(frame, lineno) for frame, lineno in traceback.walk_tb(exc.__traceback__)]
    frames.reverse()  # most recent call first
    notes = getattr(exc, "__notes__", None)
    return {
        "type": _type_name(type(exc)),
        "message": _safe_str(exc),
        "notes": [_safe_str(n) for n in notes] if isinstance(notes, list) else [],
        "relation": relation,
        "parent": parent,
        "frames": frames[:MAX_FRAMES],
        "frames_omitted": max(0, len(frames) - MAX_FRAMES),
    }


def _frame(frame: Any, lineno: int | None) -> dict[str, Any]:
    code = frame.f_code
    filename: str = code.co_filename
    source: list[dict[str, Any]] = []
    if lineno is not None and lineno > 0:
        # f_globals only tells linecache how to load the source (zip imports); frame
        # locals are never read.
        lines = linecache.getlines(filename, frame.f_globals)
        first = max(1, lineno - CONTEXT_LINES)
        for number in range(first, min(len(lines), lineno + CONTEXT_LINES) + 1):
            text = lines[number - 1].rstrip("\r\n")
            source.append({"line": number, "code": text[:MAX_LINE]})
    return {
        "file": filename,
        "line": lineno,
        "function": code.co_name,
        "app": _is_app_file(filename),
        "source": source,
    }


@functools.cache
def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {str(Path(__file__).resolve().parent)}
    roots.update(paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib"))
    return tuple(os.path.join(os.path.realpath(root), "") for root in roots)


def _is_app_file(filename: str) -> bool:
    """Whether `filename` is the app's code, not microweb's, the standard library's or an
    installed package's."""
    if filename.startswith("<"):
        return False
    return not os.path.realpath(filename).startswith(_library_roots())


def _type_name(kind: type) -> str:
    module = kind.__module__
    return (
        kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"
    )


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__}: str() failed>"


def request_report(c: Context) -> dict[str, Any]:
    """The request as the page shows it, secrets masked."""
    scope = c.req.scope
    raw_query = scope.get("query_string", b"").decode("latin-1")
    query = parse_qsl(raw_query, keep_blank_values=True, errors="replace")[:MAX_ITEMS]
    headers = [
        (name.decode("latin-1").lower(), value.decode("latin-1"))
        for name, value in list(scope.get("headers", ()))[:MAX_ITEMS]
    ]
    client = c.req.client
    return {
        "method": c.req.method,
        "path": c.req.path,
        "query": [[name, MASK if _SECRET_NAME.search(name) else v] for name, v in query],
        "client": f"{client[0]}:{client[1]}" if client else None,
        "headers": [[name, _masked_header(name, value)] for name, value in headers],
    }


def _masked_header(name: str, value: str) -> str:
    if name == "cookie":
        # The names say which cookies came; their values are credentials.
        names = [part.partition("=")[0].strip() for part in value.split(";")]
        return "; ".join(f"{n}={MASK}" for n in names if n)
    if name in ("authorization", "proxy-authorization"):
        scheme, _, credentials = value.strip().partition(" ")
        return f"{scheme} {MASK}" if credentials else MASK
    return MASK if _SECRET_NAME.search(name) else value


# -- the answers -------------------------------------------------------------------------


def error_page(c: Context, err: BaseException) -> Response:
    """The debug answer to the unhandled error `err`: HTML, JSON or text, as accepted."""
    return _answer(c, error_report(err, c), error_html, error_text)


def not_found_page(c: Context, message: str, routes: Iterable[Route]) -> Response:
    """The debug answer to a request no route answers, listing `routes`' handlers."""
    return _answer(c, not_found_report(c, message, routes), not_found_html, not_found_text)


def _answer(
    c: Context,
    report: dict[str, Any],
    as_html: Callable[[dict[str, Any]], str],
    as_text: Callable[[dict[str, Any]], str],
) -> Response:
    status: int = report["status"]
    form = answer_form(c.req.scope)
    if form == "html":
        response = c.html(as_html(report), status)
        response.headers["content-security-policy"] = PAGE_POLICY
    elif form == "json":
        response = c.json(report, status)
    else:
        response = c.text(as_text(report), status)
    response.headers["cache-control"] = "no-store"
    return response
