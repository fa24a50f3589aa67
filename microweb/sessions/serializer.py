"""Tagged JSON: how one session value becomes one string, and back.

Rules:
- A value is encoded on its own (one string per top-level session key), as
  compact JSON, so stores can merge keys and nested changes are found by
  comparing strings.
- Every string JSON can carry is stored, lone surrogates (`"\\ud800"` in a
  JSON body) included: they are written as `\\uXXXX` escapes (`utf8_json`),
  so the encoded text is always valid UTF-8 and every store (Redis too) holds
  it as it is, and reads back the same string.
- JSON types pass through. `datetime`, `date`, `UUID`, `Decimal`, `bytes`,
  `set`, `frozenset`, `tuple` and dicts with non-`str` keys become a tagged
  object `{"__t": tag, "v": payload}`, nested too, and decode back to the
  same type. A user dict that itself has a `"__t"` key is escaped as a `map`,
  so no user data is ever mistaken for a tag.
- Sets are written sorted by their encoding, so the same set always gives the
  same string (no false "modified").
- Anything else is a `TypeError` naming the session key and where inside it
  the bad value sits; so is a value nested deeper than MAX_DEPTH containers
  (one that contains itself is such a value). The walk counts its depth rather
  than waiting for a RecursionError: compiled code has no Python frames to count,
  so the compiled build would overflow the C stack first.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from .._json import utf8_json

__all__ = ["TAG", "decode", "encode", "is_scalar"]

TAG: Final = "__t"
MAX_DEPTH: Final = 256

_PLAIN: Final = (str, int, float, bool, type(None))


def encode(key: str, value: Any) -> str:
    """Return `value` as a tagged JSON string; `key` only names it in errors.

    Raises `TypeError` naming `key` (and the path inside it) when some part
    of `value` cannot be represented.
    """
    # perf: most session values are scalars; skip the walk for them.
    kind = type(value)
    if kind is int:
        return int.__repr__(value)  # what json writes for an int, without the encoder
    if kind in _PLAIN:
        return utf8_json(value)
    try:
        return utf8_json(_pack(value, ""))
    except _Unstorable as exc:
        inside = f" (at {key}{exc.path})" if exc.path else ""
        raise TypeError(
            f"Session value for key {key!r} cannot be stored{inside}: "
            f"{exc.type_name} is not JSON; use str, int, float, bool, None, list, dict, "
            "tuple, set, datetime, date, UUID, Decimal or bytes"
        ) from None
    except _TooDeep:
        raise TypeError(
            f"Session value for key {key!r} cannot be stored: it contains itself, or is "
            f"nested deeper than {MAX_DEPTH} levels"
        ) from None


def decode(text: str) -> Any:
    """Return the value a string from `encode` stands for.

    Raises `ValueError` when `text` is not valid JSON.
    """
    # perf: counters and ids are the commonest values; int() reads the digits JSON
    # writes for a non-negative int several times faster than the JSON decoder.
    if text.isdigit() and text.isascii() and (text[0] != "0" or len(text) == 1):
        return int(text)
    return _decode(text)


def _pack(value: Any, path: str, depth: int = 0) -> Any:
    if isinstance(value, _PLAIN):
        return value
    if depth == MAX_DEPTH:
        raise _TooDeep
    depth += 1
    if isinstance(value, list):
        return [_pack(item, f"{path}[{i}]", depth) for i, item in enumerate(value)]
    if isinstance(value, dict):
        if TAG not in value and all(type(k) is str for k in value):
            return {k: _pack(v, f"{path}.{k}", depth) for k, v in value.items()}
        return _tag(
            "map",
            [
                [_pack(k, f"{path}<key>", depth), _pack(v, f"{path}.{k}", depth)]
                for k, v in value.items()
            ],
        )
    if isinstance(value, tuple):
        return _tag("tup", [_pack(item, f"{path}[{i}]", depth) for i, item in enumerate(value)])
    if isinstance(value, set | frozenset):
        items = sorted((_pack(item, f"{path}{{}}", depth) for item in value), key=utf8_json)
        return _tag("set" if isinstance(value, set) else "fset", items)
    if isinstance(value, datetime):
        return _tag("dt", value.isoformat())
    if isinstance(value, date):
        return _tag("d", value.isoformat())
    if isinstance(value, UUID):
        return _tag("u", str(value))
    if isinstance(value, Decimal):
        return _tag("dec", str(value))
    if isinstance(value, bytes | bytearray):
        return _tag("b", base64.b64encode(value).decode("ascii"))
    raise _Unstorable(path, type(value).__name__)


class _TooDeep(Exception):
    pass


class _Unstorable(Exception):
    def __init__(self, path: str, type_name: str) -> None:
        self.path = path
        self.type_name = type_name


def is_scalar(value: Any) -> bool:
    """True for the immutable JSON scalars (str, int, float, bool, None)."""
    return type(value) in _PLAIN


def _tag(tag: str, payload: Any) -> dict[str, Any]:
    return {TAG: tag, "v": payload}


def _unpack(obj: dict[str, Any]) -> Any:
    tag = obj.get(TAG)
    if tag is None:
        return obj
    payload = obj["v"]
    decoder = _DECODERS.get(tag)
    if decoder is None:
        raise ValueError(f"Unknown tag {tag!r} in session data")
    return decoder(payload)


def _map(pairs: list[list[Any]]) -> dict[Any, Any]:
    return {k: v for k, v in pairs}


_DECODERS: dict[str, Any] = {
    "map": _map,
    "tup": tuple,
    "set": set,
    "fset": frozenset,
    "dt": datetime.fromisoformat,
    "d": date.fromisoformat,
    "u": UUID,
    "dec": Decimal,
    "b": base64.b64decode,
}

# perf: one decoder for every call (json.loads with object_hook builds a new one each time).
_decode: Final = json.JSONDecoder(object_hook=_unpack).decode
