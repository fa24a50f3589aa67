"""The debug page's forms: HTML and plain text, built from the report `debug.py` makes
(the JSON form is that report itself).

Rules:
- Every value that comes from the request or the error is HTML-escaped, attribute
  quotes included; the markup around them is this module's own.
- No script. The page brings its own Content-Security-Policy (`PAGE_POLICY`): its one
  style sheet by hash, nothing else may load or run, so the page is styled under any
  policy an app sets (`secure_headers` keeps a policy a response has) and stays inert
  even if escaping ever failed.
- Frames are listed most recent call first; the app's own are open, library frames
  folded (`<details>`, no script needed).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
from collections.abc import Iterable
from typing import Any

__all__ = ["PAGE_POLICY", "error_html", "error_text", "not_found_html", "not_found_text"]

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
PAGE_POLICY = (
    "default-src 'none'; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()}'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_FOOTER = (
    "<footer>This page shows because debug is on (<code>MicroWeb(debug=True)</code> or "
    "<code>MICROWEB_DEBUG</code>), and, unless forced, only to requests from this machine. "
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


def error_html(report: dict[str, Any]) -> str:
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


def not_found_html(report: dict[str, Any]) -> str:
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


def error_text(report: dict[str, Any]) -> str:
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


def not_found_text(report: dict[str, Any]) -> str:
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
