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
- HTML with everything from the request and the error escaped, no script, and its own
  Content-Security-Policy (its style by hash, nothing else may load or run; the app's
  `secure_headers` keeps it) and `Cache-Control: no-store`. A JSON client
  gets the same facts as JSON, any other client plain text (`header_values.answer_form`).
- This module builds the answer; `answers.Answers` decides when (after the user's
  `on_error`/`not_found`) and falls back to the plain answer if building it fails.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import ipaddress
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

from .header_values import answer_form

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
    try:
        ip = ipaddress.ip_address(host.strip("[]").partition("%")[0])
    except ValueError:
        name = host.lower().rstrip(".")
        return name == "localhost" or name.endswith(".localhost")
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
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
    return _answer(c, error_report(err, c), _error_html, _error_text)


def not_found_page(c: Context, message: str, routes: Iterable[Route]) -> Response:
    """The debug answer to a request no route answers, listing `routes`' handlers."""
    return _answer(c, not_found_report(c, message, routes), _not_found_html, _not_found_text)


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
        response.headers["content-security-policy"] = _PAGE_POLICY
    elif form == "json":
        response = c.json(report, status)
    else:
        response = c.text(as_text(report), status)
    response.headers["cache-control"] = "no-store"
    return response


_e = functools.partial(html.escape, quote=True)

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#8b1e1e;color:#fff;padding:1em 1.5em}
header h1{margin:0;font-size:1em;font-weight:600;opacity:.85}
header p{margin:.3em 0 0;font-size:1.3em;white-space:pre-wrap;word-break:break-word}
main{padding:0 1.5em 1em}
h2{font-size:1.05em;margin:1.6em 0 .5em}
.note{color:#555;white-space:pre-wrap}
details{border:1px solid #ddd;border-radius:4px;margin:.35em 0;background:#fff}
summary{cursor:pointer;padding:.35em .6em;font:13px ui-monospace,monospace}
details.lib summary{color:#777}
pre{margin:0;padding:.3em 0;overflow-x:auto;font:13px/1.4 ui-monospace,monospace;
border-top:1px solid #eee}
pre span{display:block;padding:0 .6em;white-space:pre}
pre span.here{background:#fde8e8;font-weight:600}
pre i{display:inline-block;min-width:3em;color:#999;font-style:normal;text-align:right;
margin-right:1em}
table{border-collapse:collapse;font-size:.9em;background:#fff}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
td{font-family:ui-monospace,monospace;word-break:break-all}
th{background:#f0f0f0}
footer{color:#777;font-size:.85em;padding:1em 1.5em;border-top:1px solid #ddd}
"""

# The page's own policy, kept by `secure_headers` (which leaves a policy a response has
# alone): its style by hash, and nothing else at all, not even if escaping ever failed.
_PAGE_POLICY = (
    "default-src 'none'; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()}'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_FOOTER = (
    "<footer>This page shows because debug is on (<code>MicroWeb(debug=True)</code> or "
    f"<code>{ENV}</code>), and, unless forced, only to requests from this machine. "
    "Frame locals, cookie values and secret-looking headers and query parameters are "
    "never shown.</footer>"
)


def _page(title: str, heading: str, lead: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="robots" content="noindex,nofollow">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>{_e(heading)}</h1><p>{lead}</p></header>"
        f"<main>{body}</main>{_FOOTER}</body></html>"
    )


_RELATION = {
    "cause": "The cause of {parent} above (raised from it)",
    "context": "Being handled when {parent} above was raised",
    "group": "In the group {parent} above",
}


def _error_html(report: dict[str, Any]) -> str:
    exceptions = report["exceptions"]
    request = report["request"]
    first = exceptions[0]
    parts = ['<h2>Traceback <span class="note">(most recent call first)</span></h2>']
    for number, exc in enumerate(exceptions):
        if number:
            parent = exceptions[exc["parent"]]["type"]
            relation = _RELATION[exc["relation"]].format(parent=parent)
            parts.append(
                f"<h2>{_e(relation)}: <code>{_e(exc['type'])}</code>: {_e(exc['message'])}</h2>"
            )
        parts.extend(f'<p class="note">{_e(note)}</p>' for note in exc["notes"])
        parts.extend(_frame_html(frame) for frame in exc["frames"])
        if exc["frames_omitted"]:
            parts.append(f'<p class="note">{exc["frames_omitted"]} older frames not shown</p>')
    parts.append(_request_html(request))
    lead = f"<b>{_e(first['type'])}</b>: {_e(first['message'])}"
    return _page(
        f"{first['type']} at {request['path']}",
        f"500 Internal Server Error: {request['method']} {request['path']}",
        lead,
        "".join(parts),
    )


def _frame_html(frame: dict[str, Any]) -> str:
    lines = "".join(
        f"<span{' class=here' if line['line'] == frame['line'] else ''}>"
        f"<i>{line['line']}</i>{_e(line['code'])}</span>"
        for line in frame["source"]
    )
    where = (
        f"<code>{_e(frame['file'])}</code>, line {frame['line']}, "
        f"in <code>{_e(frame['function'])}</code>"
    )
    kind = ' open class="app"' if frame["app"] else ' class="lib"'
    return f"<details{kind}><summary>{where}</summary><pre>{lines}</pre></details>"


def _rows(pairs: Iterable[Iterable[Any]]) -> str:
    return "".join(
        "<tr>" + "".join(f"<td>{_e(str(cell))}</td>" for cell in row) + "</tr>" for row in pairs
    )


def _request_html(request: dict[str, Any]) -> str:
    summary = [
        ("Method", request["method"]),
        ("Path", request["path"]),
        ("Client", request["client"] or "unknown"),
    ]
    parts = [
        "<h2>Request</h2><table>",
        "".join(f"<tr><th>{name}</th><td>{_e(str(value))}</td></tr>" for name, value in summary),
        "</table>",
    ]
    if request["query"]:
        parts.append("<h2>Query</h2><table><tr><th>Name</th><th>Value</th></tr>")
        parts.append(_rows(request["query"]) + "</table>")
    parts.append("<h2>Headers</h2><table><tr><th>Name</th><th>Value</th></tr>")
    parts.append(_rows(request["headers"]) + "</table>")
    return "".join(parts)


def _not_found_html(report: dict[str, Any]) -> str:
    request = report["request"]
    routes = report["routes"]
    if routes:
        table = (
            "<table><tr><th>Method</th><th>Path</th><th>Name</th></tr>"
            + _rows((r["method"], r["path"], r["name"] or "") for r in routes)
            + "</table>"
        )
    else:
        table = '<p class="note">The app has no routes.</p>'
    body = (
        '<h2>Routes <span class="note">(in the order they match)</span></h2>'
        + table
        + _request_html(request)
    )
    lead = f"No route matches {_e(request['method'])} {_e(request['path'])}"
    return _page(
        f"404 Not Found: {request['path']}",
        f"404 Not Found: {request['method']} {request['path']}",
        lead,
        body,
    )


def _request_text(request: dict[str, Any]) -> list[str]:
    lines = [f"Request: {request['method']} {request['path']}"]
    lines.extend(f"  query {name}: {value}" for name, value in request["query"])
    lines.append(f"  client: {request['client'] or 'unknown'}")
    lines.extend(f"  {name}: {value}" for name, value in request["headers"])
    return lines


def _error_text(report: dict[str, Any]) -> str:
    exceptions = report["exceptions"]
    request = report["request"]
    lines = [f"500 Internal Server Error: {request['method']} {request['path']}", ""]
    for number, exc in enumerate(exceptions):
        if number:
            parent = exceptions[exc["parent"]]["type"]
            lines.append(_RELATION[exc["relation"]].format(parent=parent) + ":")
        lines.append(f"{exc['type']}: {exc['message']}")
        lines.extend(f"  {note}" for note in exc["notes"])
        lines.append("Traceback (most recent call first):")
        for frame in exc["frames"]:
            lines.append(f'  File "{frame["file"]}", line {frame["line"]}, in {frame["function"]}')
            lines.extend(
                f"    {s['code'].strip()}" for s in frame["source"] if s["line"] == frame["line"]
            )
        if exc["frames_omitted"]:
            lines.append(f"  ... {exc['frames_omitted']} older frames not shown")
        lines.append("")
    return "\n".join([*lines, *_request_text(request), ""])


def _not_found_text(report: dict[str, Any]) -> str:
    request = report["request"]
    lines = [f"404 Not Found: no route matches {request['method']} {request['path']}", ""]
    lines.append("Routes (in the order they match):")
    width = max((len(r["method"]) for r in report["routes"]), default=0)
    lines.extend(
        f"  {r['method']:<{width}}  {r['path']}  {r['name'] or ''}".rstrip()
        for r in report["routes"]
    )
    if not report["routes"]:
        lines.append("  (none)")
    return "\n".join([*lines, "", *_request_text(request), ""])
