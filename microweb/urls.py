"""Percent-decoding of request paths and route params, the way Hono does it.

The path is routed after a `decodeURI`-style pass: escapes of reserved
characters (`/ ? # % ; : @ & = + $ ,`) stay encoded, so `%2F` never splits a
segment. Params are then fully decoded on their own. A stray `%` that starts no
valid escape is kept as is (as the WHATWG URL parser does); escapes that do
not form UTF-8 are a 400, never a 500.

`resolve_params` reads one matched route's params out of a router's result
(the router and the request both use it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import unquote

from .exceptions import HTTPException

__all__ = ["ParamStash", "decode_param", "decode_path", "resolve_params"]

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
