"""Percent-decoding of request paths and route params, the way Hono does it.

The path is routed after a `decodeURI`-style pass: escapes of reserved
characters (`/ ? # % ; : @ & = + $ ,`) stay encoded, so `%2F` never splits a
segment. Params are then fully decoded on their own. A stray `%` that starts no
valid escape is kept as is (as the WHATWG URL parser does); escapes that do
not form UTF-8 are a 400, never a 500.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from .exceptions import HTTPException

__all__ = ["decode_param", "decode_path"]

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
