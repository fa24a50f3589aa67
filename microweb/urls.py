"""Percent-decoding of request paths and route params, the way Hono does it.

The path is routed after a `decodeURI`-style pass: escapes of reserved
characters (`/ ? # % ; : @ & = + $ ,`) stay encoded, so `%2F` never splits a
segment. Params are then fully decoded on their own. A stray `%` that starts no
valid escape is kept as is (as the WHATWG URL parser does); escapes that do
not form UTF-8 are a 400, never a 500.

A path is routed only in normal form, so that a guard and whatever it guards
see the same path: it starts with "/" (else 400), and has no "." or ".."
segment and no control character, whether written plainly or percent-encoded
(else 404: `check_route_path`). Where a routed sub-path becomes a file path
or another app's path (static files, mounts), decoding must not change its
segments: an encoded "/" or "\\", a "\\" or an empty segment there is
refused (`subpath_segments`).

`resolve_params` reads one matched route's params out of a router's result
(the router and the request both use it).

A path also goes back out, and there it is written so it cannot break what
carries it: `encode_location` percent-encodes what a `Location` header may not
carry as is (non-ASCII as UTF-8, spaces, controls, `"<>\\^`{|}`), keeping
escapes already there, so `c.redirect("/files/€")` is `/files/%E2%82%AC` and
never a 500 or a second header; `printable` escapes control characters
(`\\r`, `\\n`, ...) and backslashes for a log line, so a percent-decoded
`%0D%0A` in a path never forges a second line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import quote, quote_from_bytes, unquote

from .exceptions import HTTPException

__all__ = [
    "ParamStash",
    "check_route_path",
    "decode_param",
    "decode_path",
    "encode_location",
    "printable",
    "resolve_params",
    "subpath_segments",
]

_ESCAPE_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_RESERVED = frozenset(";/?:@&=+$,#%")


def _decode_run(match: re.Match[str]) -> str:
    run = match.group()
    try:
        text = bytes.fromhex(run.replace("%", "")).decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(400, "Malformed percent-encoding in URL path") from None
    if not _RESERVED.isdisjoint(text):
        return "".join(f"%{ord(ch):02X}" if ch in _RESERVED else ch for ch in text)
    return text


def decode_path(raw: bytes) -> str:
    """Decode a raw request path (`scope["raw_path"]`) for routing."""
    try:
        path = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(400, "URL path is not valid UTF-8") from None
    if "%" not in path:
        return path
    return _ESCAPE_RUN.sub(_decode_run, path)


# A "." or ".." segment, or a C0 control character or DEL anywhere.
_ABNORMAL = re.compile(r"(?:^|/)\.\.?(?:/|\Z)|[\x00-\x1f\x7f]")


def check_route_path(path: str) -> str:
    """Return `path` (decoded for routing) when it is in normal form; else raise a 400 (no
    leading "/") or a 404 (a dot segment or a control character: no resource is named so)."""
    if path[:1] != "/":
        raise HTTPException(400, "URL path must start with '/'")
    if _ABNORMAL.search(path) is not None:
        raise HTTPException(404, "404 Not Found")
    return path


def subpath_segments(rest: str) -> list[str] | None:
    """The fully decoded segments of `rest`, a routed path below a prefix ("/css/a.css" or
    "css/a.css"), or None when decoding would change them: a segment holding an encoded "/"
    or a "\\" (encoded or not), or an empty segment before the last."""
    parts = rest.split("/")
    if parts[0] == "":
        del parts[0]
    last = len(parts) - 1
    for i, part in enumerate(parts):
        if not part:
            if i != last:
                return None
            continue
        if "%" in part:
            part = parts[i] = decode_param(part)
        if "/" in part or "\\" in part or part in (".", ".."):
            return None
    return parts


def decode_param(value: str) -> str:
    """Fully decode one route param value."""
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise HTTPException(400, f"Malformed percent-encoding in URL parameter {value!r}") from None


class ParamStash(Protocol):
    """Where a router's (entries, stash) result keeps its values: `stash[index]` (re.Match
    fits)."""

    def __getitem__(self, index: int, /) -> str | None: ...


def resolve_params(
    params: Mapping[str, int] | Mapping[str, str],
    stash: ParamStash | None,
    decode: bool = False,
) -> dict[str, str]:
    """One result entry's parameter map as {name: value}; names the match left unbound are
    left out. With a stash the map holds indexes into it, without one the values themselves
    (router/base.py). `decode`: fully percent-decode each value (`decode_param`)."""
    out: dict[str, str] = {}
    items: Iterable[tuple[str, Any]] = params.items()
    for name, ref in items:
        value: str | None = ref if stash is None else stash[ref]
        if value is not None:
            out[name] = decode_param(value) if decode and "%" in value else value
    return out


# RFC 3986's reserved and unreserved characters, and "%" (escapes already made are kept).
_LOCATION_SAFE = "!#$&'()*+,/:;=?@[]%"
_NEEDS_QUOTING = re.compile(r"[^A-Za-z0-9\-._~!#$&'()*+,/:;=?@\[\]%]")


def encode_location(url: str | bytes) -> str:
    """`url` as a `Location` header may carry it: every character outside RFC 3986's
    reserved and unreserved sets percent-encoded (a str as UTF-8, lone surrogates kept
    through "surrogatepass"; bytes as they are); `%` and the escapes already there kept."""
    if isinstance(url, bytes):
        return quote_from_bytes(url, safe=_LOCATION_SAFE)
    if _NEEDS_QUOTING.search(url) is None:
        return url  # perf: most redirects are plain ASCII paths
    return quote(url, safe=_LOCATION_SAFE, errors="surrogatepass")


# C0 and C1 controls, DEL, the Unicode line and paragraph separators, lone surrogates (no
# UTF-8 form for a log file) and the backslash (so an escape in a log line was made here).
# (Escapes in a raw string, for the regex to read: mypyc keeps no surrogate in a literal.)
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\\]")


def _escape_unprintable(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x5C:
        return "\\\\"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` for a log line: controls, line separators and lone surrogates as `\\xNN`
    or `\\uNNNN`, a backslash doubled; everything else (non-ASCII letters too) as is."""
    return _UNPRINTABLE.sub(_escape_unprintable, text)
