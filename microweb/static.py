"""`serve_static()`: files under a directory, as Hono's `serveStatic` and Starlette's
`StaticFiles` serve them, with their gaps closed.

Rules:
- The part of the request path that the route's `*` matched is the file's
  path under `root` (`/static/css/a.css` on `/static/*` is `root/css/a.css`).
- Only regular files under `root` are served, checked on the RESOLVED path
  (symlinks followed): `..` (percent-encoded or not), NUL, backslashes and a
  symlink leading out of root all answer 404, never a file outside root.
  A directory serves its `index` file, or 404.
- Dotfiles: with `dotfiles=False` (the default) a name starting with "." in
  the requested path (`.env`, `.git/config`, `%2egit/...`) or in the path it
  resolves to (a symlink to `.env`) answers 404, as a missing file does.
- `Content-Type` from the extension (`mimetypes`; text types in UTF-8).
  `ETag` (mtime and size) and `Last-Modified`; `If-None-Match` (or, without
  it, `If-Modified-Since`) answers 304.
- `Range: bytes=a-b`, `a-` and `-n` give 206 with `Content-Range`; a range
  that starts past the end gives 416 with `Content-Range: bytes */size`; a
  malformed one, an inverted one (`5-2`), several ranges, a range on an empty
  file, or a stale `If-Range` are ignored (200 with the whole file, which RFC
  9110 allows). One range at most is ever honoured and nothing is merged, so
  a header of 10,000 ranges costs one scan of it (Starlette's CVE-2025-62727
  was a quadratic merge). Positions are ASCII digits ("²" and "٣" are not);
  a position of more than 18 digits is past the end of any file.
- With `precompressed`, a `.br`, `.zst` or `.gz` sibling is served when the
  client accepts that coding (q-values), with `Content-Encoding`, the
  original's `Content-Type`, and `Vary: Accept-Encoding`. The sibling is held
  to the same rules as the file: its resolved path is under root (a sibling
  that is a symlink out of root is never served) and not a dotfile.
- Files up to one chunk (64 KiB) are read in one go in a worker thread;
  larger ones are streamed chunk by chunk, each read in a worker thread, so
  the event loop never blocks on the disk and a 1 GB file costs 64 KiB of
  memory, not 1 GB.
"""

from __future__ import annotations

import asyncio
import email.utils
import mimetypes
import os
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .http_rules import etag_matches, negotiate
from .response import Response
from .urls import subpath_segments

if TYPE_CHECKING:
    from .context import Context

__all__ = ["serve_static"]

CHUNK = 64 * 1024
# coding -> file suffix, in the order preferred at equal q
_SIBLINGS = {"br": ".br", "zstd": ".zst", "gzip": ".gz"}
# A byte position of more digits than this is past the end of any file (10**18 B = 1 EB).
_POSITION_DIGITS = 18


def serve_static(
    root: str | os.PathLike[str] = "static",
    index: str | None = "index.html",
    precompressed: bool = True,
    cache_control: str | None = None,
    dotfiles: bool = False,
) -> Callable[[Context], Any]:
    """A GET handler serving files under `root`; register it on a route ending in `*`.
    Names starting with "." are 404 unless `dotfiles=True`."""
    base = Path(root).resolve()
    if not base.is_dir():
        raise ValueError(f"serve_static(): {root!r} is not a directory")
    base_text = str(base)

    def servable(real: str) -> bool:
        """True when the resolved path `real` is root or under it (and, without
        `dotfiles`, names no dotfile below root)."""
        if real == base_text:
            return True
        if not real.startswith(base_text + os.sep):
            return False
        return dotfiles or not _has_dot_name(real[len(base_text) + 1 :].split(os.sep))

    def locate(relative: str) -> tuple[str, os.stat_result] | None:
        """The real path and stat of the file `relative` names under root, or None."""
        if "\0" in relative or "\\" in relative:
            return None
        if not dotfiles and _has_dot_name(relative.split("/")):
            return None
        real = os.path.realpath(os.path.join(base_text, relative.lstrip("/")))
        if not servable(real):
            return None
        try:
            info = os.stat(real)
        except (OSError, ValueError):
            return None
        if stat.S_ISDIR(info.st_mode):
            if not index:
                return None
            return locate(os.path.relpath(os.path.join(real, index), base_text))
        if not stat.S_ISREG(info.st_mode):
            return None
        return real, info

    async def static_handler(c: Context) -> Response:
        route = c.req.route_path
        prefix = (route[: route.index("*")] if "*" in route else route).rstrip("/")
        path = c.req.path
        # The routed path below the prefix, decoded; one whose segments decoding would
        # change (an encoded "/", "//") is not served: a guard saw other segments.
        segments = subpath_segments(path[len(prefix) :]) if path.startswith(prefix) else []
        if segments is None:
            return c.not_found()
        found = await asyncio.to_thread(locate, "/".join(segments))
        if found is None:
            return c.not_found()
        path, info = found
        headers: dict[str, str] = {}
        content_type = _content_type(path)
        encoding = None
        if precompressed:
            accept = c.req.header("accept-encoding")
            variant = await asyncio.to_thread(_precompressed, path, accept, servable)
            if variant is not None:
                encoding, path, info = variant
                headers["content-encoding"] = encoding
            if encoding is not None or await asyncio.to_thread(_has_siblings, path):
                headers["vary"] = "Accept-Encoding"
        tag = f'"{info.st_mtime_ns:x}-{info.st_size:x}{"-" + encoding if encoding else ""}"'
        headers["etag"] = tag
        headers["last-modified"] = email.utils.formatdate(info.st_mtime, usegmt=True)
        headers["accept-ranges"] = "bytes"
        if cache_control:
            headers["cache-control"] = cache_control
        if _not_modified(c, tag, info.st_mtime):
            kept = {k: v for k, v in headers.items() if k in ("etag", "vary", "cache-control")}
            kept["last-modified"] = headers["last-modified"]
            return Response(b"", 304, kept)
        headers["content-type"] = content_type
        size = info.st_size
        start, end, status = 0, size - 1, 200
        wanted = _range(c, tag, info.st_mtime, size)
        if wanted == "unsatisfiable":
            return Response(
                b"Range Not Satisfiable",
                416,
                {"content-range": f"bytes */{size}", "content-type": "text/plain; charset=utf-8"},
            )
        if isinstance(wanted, tuple):
            start, end = wanted
            status = 206
            headers["content-range"] = f"bytes {start}-{end}/{size}"
        length = end - start + 1 if size else 0
        headers["content-length"] = str(length)
        if c.req.method == "HEAD":
            return Response(b"", status, headers)
        try:
            handle = await asyncio.to_thread(open, path, "rb")
        except OSError:
            return c.not_found()
        if length <= CHUNK:
            data = await asyncio.to_thread(_read_and_close, handle, start, length)
            return Response(data, status, headers)
        return Response(b"", status, headers, stream=_chunks(handle, start, length))

    return static_handler


def _content_type(path: str) -> str:
    kind, _ = mimetypes.guess_type(path)
    if kind is None:
        return "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "image/svg+xml"):
        return f"{kind}; charset=utf-8"
    return kind


def _has_dot_name(parts: list[str]) -> bool:
    """True when a name among `parts` starts with "." (the "." and ".." steps and empty
    parts are not names)."""
    return any(part.startswith(".") and part not in (".", "..") for part in parts)


def _precompressed(
    path: str, accept: str | None, servable: Callable[[str], bool]
) -> tuple[str, str, os.stat_result] | None:
    if not accept:
        return None
    present: dict[str, tuple[str, os.stat_result]] = {}
    for coding, suffix in _SIBLINGS.items():
        sibling = os.path.realpath(path + suffix)
        if not servable(sibling):
            continue
        try:
            info = os.stat(sibling)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            present[coding] = (sibling, info)
    chosen = negotiate(accept, list(present))
    if chosen is None:
        return None
    return chosen, *present[chosen]


def _has_siblings(path: str) -> bool:
    return any(os.path.isfile(path + suffix) for suffix in _SIBLINGS.values())


def _not_modified(c: Context, tag: str, mtime: float) -> bool:
    if_none_match = c.req.header("if-none-match")
    if if_none_match is not None:
        return etag_matches(if_none_match, tag)
    since = _http_date(c.req.header("if-modified-since"))
    return since is not None and int(mtime) <= since


def _http_date(text: str | None) -> float | None:
    """The timestamp an HTTP date stands for, or None when `text` is not one (a year
    past 9999 included, which `datetime` cannot hold)."""
    if not text:
        return None
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, OverflowError):
        return None


def _range(c: Context, tag: str, mtime: float, size: int) -> tuple[int, int] | str | None:
    """The single byte range asked for, "unsatisfiable", or None for the whole file."""
    header = c.req.header("range")
    if not header or size == 0 or header[:6].lower() != "bytes=":
        return None
    if_range = c.req.header("if-range")
    if if_range is not None and if_range != tag:
        since = _http_date(if_range)
        if since is None or since < int(mtime):
            return None
    spec = header[6:].strip()
    if "," in spec:  # several ranges: the whole file, nothing merged
        return None
    first, dash, last = spec.partition("-")
    first, last = first.strip(), last.strip()
    start, end = _position(first), _position(last)
    if not dash or (first and start is None) or (last and end is None):
        return None
    if start is None:
        if end is None:
            return None
        if end == 0:
            return "unsatisfiable"
        return max(0, size - end), size - 1
    if end is not None and end < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, size - 1 if end is None else min(end, size - 1)


def _position(text: str) -> int | None:
    """A byte position written in ASCII digits, or None; one of more than 18 digits
    (never a file size) reads as 10**18, so `int()` never meets 4,300 digits."""
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0")
    return int(digits or "0") if len(digits) <= _POSITION_DIGITS else 10**_POSITION_DIGITS


def _read_and_close(handle: IO[bytes], start: int, length: int) -> bytes:
    with handle:
        handle.seek(start)
        return handle.read(length)


async def _chunks(handle: IO[bytes], start: int, length: int) -> AsyncIterator[bytes]:
    try:
        await asyncio.to_thread(handle.seek, start)
        remaining = length
        while remaining > 0:
            data = await asyncio.to_thread(handle.read, min(CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data
    finally:
        await asyncio.to_thread(handle.close)
