"""`compress()`: gzip, brotli and zstd response compression, streams included.

Rules:
- The encoding is negotiated from `Accept-Encoding` with q-values: `q=0`
  refuses a coding, `*` stands for any coding not named, `identity` is
  always acceptable; among the best q the order of `encodings` decides.
- gzip is the standard library's zlib. brotli (`microweb[brotli]`) and zstd
  (`microweb[zstd]`: `backports.zstd` before Python 3.14, `compression.zstd`
  after) are offered only when importable.
- Not compressed: HEAD, 204/206/304 and other bodiless answers, a body under
  `threshold` bytes, a response that already has `Content-Encoding`, one with
  `Cache-Control: no-transform`, and content types that do not compress
  (anything but text/*, JSON, JavaScript, XML, SVG, event streams, WASM and
  a few other textual types: images, video, audio and archives are already
  compressed).
- `Vary: Accept-Encoding` is appended whenever the answer depends on it; a
  strong `ETag` becomes weak (the bytes changed, the meaning did not);
  `Content-Length` is dropped and recomputed.
- A streamed body (`c.stream`, `c.sse`) is compressed chunk by chunk with a
  flush after each one, so every chunk the handler yields reaches the client
  at once: an SSE event is never held back in the compressor. The threshold
  does not apply to streams (their size is unknown).
- Complete bodies over `OFFLOAD_BYTES` are compressed in a worker thread
  (zlib, brotli and zstd release the GIL), keeping the event loop free.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from ..compose import MiddlewareFunction, Next, create_middleware
from ..http_rules import append_vary, is_json, media_type, negotiate
from ._options import count, strings

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["compress"]

# perf: 256 KiB of JSON takes about 1 ms to gzip at level 6 here; below that, a thread
# hand-off (~50-100 µs) costs more than it frees the loop for.
OFFLOAD_BYTES = 256 * 1024

_TEXTUAL = (
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/xhtml+xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/ld+json",
    "application/manifest+json",
    "application/geo+json",
    "application/graphql",
    "application/x-javascript",
    "application/x-ndjson",
    "application/wasm",
    "image/svg+xml",
    "image/x-icon",
    "font/ttf",
    "font/otf",
)


class _Stream(Protocol):
    def compress(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...
    def finish(self) -> bytes: ...


class _Gzip:
    __slots__ = ("_z",)

    def __init__(self) -> None:
        self._z = zlib.compressobj(6, zlib.DEFLATED, 31)

    def compress(self, data: bytes) -> bytes:
        return self._z.compress(data)

    def flush(self) -> bytes:
        return self._z.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._z.flush(zlib.Z_FINISH)


class _Brotli:
    __slots__ = ("_b",)

    def __init__(self, module: Any) -> None:
        self._b = module.Compressor(quality=4)

    def compress(self, data: bytes) -> bytes:
        return bytes(self._b.process(data))

    def flush(self) -> bytes:
        return bytes(self._b.flush())

    def finish(self) -> bytes:
        return bytes(self._b.finish())


class _Zstd:
    __slots__ = ("_mod", "_z")

    def __init__(self, module: Any) -> None:
        self._mod = module
        self._z = module.ZstdCompressor()

    def compress(self, data: bytes) -> bytes:
        return bytes(self._z.compress(data))

    def flush(self) -> bytes:
        return bytes(self._z.flush(self._mod.ZstdCompressor.FLUSH_BLOCK))

    def finish(self) -> bytes:
        return bytes(self._z.flush(self._mod.ZstdCompressor.FLUSH_FRAME))


def _import(*names: str) -> Any:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def _codecs(wanted: Iterable[str]) -> dict[str, Callable[[], _Stream]]:
    """Encoding name -> a factory of streaming compressors, for the wanted ones importable."""
    codecs: dict[str, Callable[[], _Stream]] = {}
    for name in wanted:
        if name == "gzip":
            codecs[name] = _Gzip
        elif name == "br":
            brotli = _import("brotli", "brotlicffi")
            if brotli is not None:
                codecs[name] = functools.partial(_Brotli, brotli)
        elif name == "zstd":
            zstd = _import("compression.zstd", "backports.zstd")
            if zstd is not None:
                codecs[name] = functools.partial(_Zstd, zstd)
        else:
            raise ValueError(f"compress(): unknown encoding {name!r}; use zstd, br or gzip")
    return codecs


def _compressible(content_type: str | None) -> bool:
    kind = media_type(content_type)
    return kind.startswith(_TEXTUAL) or is_json(kind) or kind.endswith("+xml")


def compress(
    encodings: Iterable[str] = ("zstd", "br", "gzip"), threshold: int = 1024
) -> MiddlewareFunction:
    """Compression middleware; see the module rules.

    Options:
    - `encodings` (list[str], default `("zstd", "br", "gzip")`): the codings offered, in
      the order preferred at equal q; those this interpreter cannot produce are left out.
    - `threshold` (int bytes, default 1024): bodies smaller than this are sent as they are.
    """
    encodings = strings(encodings, "compress()", "encodings")
    count(threshold, "compress()", "threshold", "bytes")
    codecs = _codecs(encodings)
    offered = list(codecs)
    if not offered:
        raise ValueError(
            "compress(): none of the encodings is available; install microweb[brotli] or "
            "microweb[zstd], or include gzip"
        )

    @create_middleware
    async def compress_middleware(c: Context, next: Next) -> None:
        await next()
        res = c.res
        if res is None or c.req.method == "HEAD" or res.status in (204, 206, 304):
            return
        if res.status < 200:
            return
        headers = res.headers
        if "content-encoding" in headers or not _compressible(headers.get("content-type")):
            return
        if "no-transform" in (headers.get("cache-control") or "").lower():
            return
        if res.stream is None and len(res.body) < threshold:
            return
        append_vary(headers, "Accept-Encoding")
        coding = negotiate(c.req.header("accept-encoding"), offered)
        if coding is None:
            return
        make = codecs[coding]
        headers["content-encoding"] = coding
        del headers["content-length"]
        tag = headers.get("etag")
        if tag and not tag.startswith("W/"):
            headers["etag"] = "W/" + tag
        if res.stream is not None:
            res.stream = _compressed_stream(res.stream, make())
            return
        body = res.body
        if len(body) > OFFLOAD_BYTES:
            res.body = await asyncio.to_thread(_compress_all, make(), body)
        else:
            res.body = _compress_all(make(), body)

    return compress_middleware


def _compress_all(compressor: _Stream, body: bytes) -> bytes:
    return compressor.compress(body) + compressor.finish()


async def _compressed_stream(
    chunks: AsyncIterable[bytes | str], compressor: _Stream
) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            data = chunk.encode() if isinstance(chunk, str) else chunk
            if data:
                # Each chunk is flushed: it reaches the client now, not when the buffer fills.
                yield compressor.compress(data) + compressor.flush()
        yield compressor.finish()
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
