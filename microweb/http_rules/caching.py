"""Caching headers: entity tags, `Vary`, and what a 304 keeps.

Rules:
- `If-None-Match` is compared by the weak comparison (RFC 9110 section 8.8.3.2): `W/`
  is ignored on both sides; `*` matches any tag.
- `Vary` is only ever added to, never overwritten: a name already there (in any case)
  or `*` is not added again.
- A 304 keeps only the headers RFC 9110 section 15.4.5 lists: Cache-Control,
  Content-Location, Date, ETag, Expires and Vary (not `Last-Modified`: every 304
  microweb sends carries an ETag, which a cache prefers). Both etag() and static
  files answer 304 this way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from .fields import header_tokens

if TYPE_CHECKING:
    from ..datastructures import Headers

__all__ = [
    "KEPT_ON_304",
    "append_vary",
    "etag_matches",
    "kept_on_304",
    "raw_vary_covers",
    "vary_covers",
]

KEPT_ON_304: Final = frozenset(
    {
        b"cache-control",
        b"content-location",
        b"date",
        b"etag",
        b"expires",
        b"vary",
    }
)


def kept_on_304(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers of `raw` (a 200's) that its 304 keeps."""
    return [(k, v) for k, v in raw if k in KEPT_ON_304]


def vary_covers(values: Iterable[str], name: str) -> bool:
    """Whether the `Vary` values `values` name `name` (in any case) or `*`."""
    present = [t.lower() for value in values for t in header_tokens(value)]
    return "*" in present or name.lower() in present


def raw_vary_covers(raw: list[tuple[bytes, bytes]], name: str) -> bool:
    """`vary_covers` for the raw ASGI headers of a response."""
    # perf: most answers have no Vary: a plain loop finds that, with nothing to parse and
    # no comprehension's frame (about 5,000 instructions a memory-session round trip,
    # benchmarks/instructions.py)
    for key, _ in raw:
        if len(key) == 4 and key.lower() == b"vary":
            return vary_covers([v.decode("latin-1") for k, v in raw if k.lower() == b"vary"], name)
    return False


def append_vary(headers: Headers, name: str) -> None:
    """Add `name` to `Vary` unless it (or `*`) is there already; never overwrite it."""
    values = headers.getall("vary")
    if not values:
        headers["vary"] = name  # perf: most answers have no Vary yet; nothing to parse
    elif not vary_covers(values, name):
        headers["vary"] = ", ".join([*values, name])


def etag_matches(if_none_match: str | None, tag: str) -> bool:
    """Whether `If-None-Match` matches `tag`, by the weak comparison (W/ ignored)."""
    tokens = header_tokens(if_none_match)
    if "*" in tokens:
        return True
    opaque = tag.removeprefix("W/")
    return any(token.removeprefix("W/") == opaque for token in tokens)
