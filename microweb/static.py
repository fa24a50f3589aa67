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
- One worker thread does the disk work of an answer: the stats (the file's,
  and its compressed siblings' once each), the open, and the read of a file
  up to one chunk (64 KiB): one thread hop for a small file. Larger files are
  streamed chunk by chunk, each read in a worker thread, so the event loop
  never blocks on the disk and a 1 GB file costs 64 KiB of memory, not 1 GB.
- A 304 keeps the headers `http_rules.caching` lists; a range past the end is
  an `HTTPException(416)` with `Content-Range: bytes */size` (so the app's
  `on_error` sees it).
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

from .exceptions import HTTPException
from .http_rules import KEPT_ON_304, etag_matches, negotiate
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


class _Asked:
    """What the request asks of the file, read on the event loop so that the rest runs in
    one worker thread."""

    __slots__ = (
        "accept_encoding",
        "head",
        "if_modified_since",
        "if_none_match",
        "if_range",
        "range",
        "relative",
    )

    def __init__(self, c: Context, relative: str) -> None:
        header = c.req.header
        self.relative = relative
        self.head = c.req.method == "HEAD"
        self.accept_encoding: str | None = header("accept-encoding")
        self.if_none_match: str | None = header("if-none-match")
        self.if_modified_since: str | None = header("if-modified-since")
        self.range: str | None = header("range")
        self.if_range: str | None = header("if-range")


class _Files:
    """The files under one root, and the answers `serve_static` gives from them."""

    __slots__ = ("base", "cache_control", "dotfiles", "index", "precompressed")

    def __init__(
        self,
        base: str,
        index: str | None,
        precompressed: bool,
        cache_control: str | None,
        dotfiles: bool,
    ) -> None:
        self.base = base
        self.index = index
        self.precompressed = precompressed
        self.cache_control = cache_control
        self.dotfiles = dotfiles

    def servable(self, real: str) -> bool:
        """True when the resolved path `real` is root or under it (and, without
        `dotfiles`, names no dotfile below root)."""
        base = self.base
        if real == base:
            return True
        if not real.startswith(base + os.sep):
            return False
        return self.dotfiles or not _has_dot_name(real[len(base) + 1 :].split(os.sep))

    def locate(self, relative: str) -> tuple[str, os.stat_result] | None:
        """The real path and stat of the file `relative` names under root, or None."""
        if "\0" in relative or "\\" in relative:
            return None
        if not self.dotfiles and _has_dot_name(relative.split("/")):
            return None
        real = os.path.realpath(os.path.join(self.base, relative.lstrip("/")))
        if not self.servable(real):
            return None
        try:
            info = os.stat(real)
        except (OSError, ValueError):
            return None
        if stat.S_ISDIR(info.st_mode):
            if not self.index:
                return None
            return self.locate(os.path.relpath(os.path.join(real, self.index), self.base))
        if not stat.S_ISREG(info.st_mode):
            return None
        return real, info

    def siblings(self, path: str) -> dict[str, tuple[str, os.stat_result]]:
        """The precompressed siblings of `path` that may be served, by coding (each
        stat'ed once)."""
        present: dict[str, tuple[str, os.stat_result]] = {}
        for coding, suffix in _SIBLINGS.items():
            sibling = os.path.realpath(path + suffix)
            if not self.servable(sibling):
                continue
            try:
                info = os.stat(sibling)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                present[coding] = (sibling, info)
        return present

    def answer(self, asked: _Asked) -> Response | None:
        """The answer to `asked`, or None for a 404. Runs in a worker thread: every
        stat, the open and (for a file of one chunk or less) the read happen here, in
        one hop off the event loop. A range past the end raises 416."""
        found = self.locate(asked.relative)
        if found is None:
            return None
        path, info = found
        headers: dict[str, str] = {}
        content_type = _content_type(path)
        encoding = None
        if self.precompressed:
            present = self.siblings(path)
            chosen = negotiate(asked.accept_encoding, list(present)) if present else None
            if chosen is not None:
                encoding = chosen
                path, info = present[chosen]
                headers["content-encoding"] = chosen
            if present:
                headers["vary"] = "Accept-Encoding"
        tag = f'"{info.st_mtime_ns:x}-{info.st_size:x}{"-" + encoding if encoding else ""}"'
        headers["etag"] = tag
        headers["last-modified"] = email.utils.formatdate(info.st_mtime, usegmt=True)
        headers["accept-ranges"] = "bytes"
        if self.cache_control:
            headers["cache-control"] = self.cache_control
        if _not_modified(asked, tag, info.st_mtime):
            return Response(
                b"", 304, {k: v for k, v in headers.items() if k.encode() in KEPT_ON_304}
            )
        headers["content-type"] = content_type
        size = info.st_size
        start, end, status = 0, size - 1, 200
        wanted = _range(asked, tag, info.st_mtime, size)
        if wanted is not None:
            start, end = wanted
            status = 206
            headers["content-range"] = f"bytes {start}-{end}/{size}"
        length = end - start + 1 if size else 0
        headers["content-length"] = str(length)
        if asked.head:
            return Response(b"", status, headers)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed by _read_and_close or _chunks
        except OSError:
            return None
        if length <= CHUNK:
            return Response(_read_and_close(handle, start, length), status, headers)
        return Response(b"", status, headers, stream=_chunks(handle, start, length))


def serve_static(
    root: str | os.PathLike[str] = "static",
    index: str | None = "index.html",
    precompressed: bool = True,
    cache_control: str | None = None,
    dotfiles: bool = False,
) -> Callable[[Context], Any]:
    """A GET handler serving files under `root`; register it on a route ending in `*`.

    Options:
    - `root` (str | PathLike, default `"static"`): the directory served.
    - `index` (str | None, default `"index.html"`): the file a directory serves; None
      for none (a directory is then 404).
    - `precompressed` (bool, default True): serve a `.br`/`.zst`/`.gz` sibling to a
      client that accepts its coding.
    - `cache_control` (str | None, default None): the `Cache-Control` of every file.
    - `dotfiles` (bool, default False): serve names starting with "." (404 otherwise).
    """
    base = Path(root).resolve()
    if not base.is_dir():
        raise ValueError(f"serve_static(): {root!r} is not a directory")
    files = _Files(str(base), index, precompressed, cache_control, dotfiles)

    async def static_handler(c: Context) -> Response:
        route = c.req.route_path
        prefix = (route[: route.index("*")] if "*" in route else route).rstrip("/")
        path = c.req.path
        # The routed path below the prefix, decoded; one whose segments decoding would
        # change (an encoded "/", "//") is not served: a guard saw other segments.
        segments = subpath_segments(path[len(prefix) :]) if path.startswith(prefix) else []
        if segments is None:
            return c.not_found()
        answer = await asyncio.to_thread(files.answer, _Asked(c, "/".join(segments)))
        return c.not_found() if answer is None else answer

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


def _not_modified(asked: _Asked, tag: str, mtime: float) -> bool:
    if asked.if_none_match is not None:
        return etag_matches(asked.if_none_match, tag)
    since = _http_date(asked.if_modified_since)
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


def _range(asked: _Asked, tag: str, mtime: float, size: int) -> tuple[int, int] | None:
    """The single byte range asked for, or None for the whole file; 416 for a range that
    starts past the end."""
    header = asked.range
    if not header or size == 0 or header[:6].lower() != "bytes=":
        return None
    if_range = asked.if_range
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
            raise _unsatisfiable(size)
        return max(0, size - end), size - 1
    if end is not None and end < start:
        return None
    if start >= size:
        raise _unsatisfiable(size)
    return start, size - 1 if end is None else min(end, size - 1)


def _unsatisfiable(size: int) -> HTTPException:
    return HTTPException(416, "Range Not Satisfiable", headers={"content-range": f"bytes */{size}"})


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
