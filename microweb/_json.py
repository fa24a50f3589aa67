"""JSON in and out: `compact_json` and `utf8_json` write it, `parse_json` reads what a
client sent.

Rules:
- `compact_json(obj)` is what `json.dumps(obj, ensure_ascii=False,
  separators=(",", ":"))` returns. `utf8_json(obj)` is the same text with every
  lone surrogate (a `"\\ud800"` escape read from JSON, say) written as its
  `\\uXXXX` escape, so the text always has a UTF-8 form: responses and session
  values use it, and read back they give the same string. (A str holding a
  high and a low surrogate side by side, which no JSON text decodes to, comes
  back as the one character the pair stands for.)
- `parse_json(data)` reads JSON as RFC 8259 defines it: `NaN`, `Infinity` and
  `-Infinity` are not JSON, nor is a number too large for a float (`1e999`,
  which Python would read as infinity). Every way a text is refused is an
  `InvalidJSON` (a `ValueError`) whose message says why; `bad_encoding` tells
  a body that is not UTF-8 (or UTF-16/32, as `json.loads` detects them).

perf: `JSONEncoder.encode` builds a new C encoder on every call; building it
once saves about 0.8 us per small object. The one difference: no
circular-reference check (it needs a `markers` dict per call), so an object
that contains itself raises `RecursionError` instead of `ValueError`.
`utf8_json` costs one `str.isascii()` over ASCII text (most JSON), one regex
search over the rest.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any, Final

__all__ = ["InvalidJSON", "compact_json", "parse_json", "utf8_json"]

_encoder: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def _build() -> Callable[[Any], str]:
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator (PyPy, say): the pure-Python encoder
        return _encoder.encode
    iterencode = make(
        None,  # markers: no circular check
        _encoder.default,
        json.encoder.encode_basestring,  # ensure_ascii=False
        None,  # indent
        _encoder.key_separator,
        _encoder.item_separator,
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan, as json.dumps
    )

    def compact_json(obj: Any) -> str:
        if isinstance(obj, str):
            return json.encoder.encode_basestring(obj)  # what JSONEncoder.encode does
        return "".join(iterencode(obj, 0))

    return compact_json


compact_json: Final[Callable[[Any], str]] = _build()


# mypyc: no surrogate literals
_LONE_SURROGATE: Final = re.compile(f"[{chr(0xD800)}-{chr(0xDFFF)}]")


def _escape_surrogate(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def utf8_json(obj: Any) -> str:
    """`compact_json(obj)` with lone surrogates written as `\\uXXXX` escapes."""
    text = compact_json(obj)
    if text.isascii() or _LONE_SURROGATE.search(text) is None:
        return text
    # A surrogate can only sit inside a string literal: its escape means the same there.
    return _LONE_SURROGATE.sub(_escape_surrogate, text)


class InvalidJSON(ValueError):
    """A text `parse_json` refused; the message says why."""

    def __init__(self, reason: str, *, bad_encoding: bool = False) -> None:
        super().__init__(reason)
        self.bad_encoding = bad_encoding


class _NotANumber(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotANumber(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value - value != 0.0:  # inf - inf is nan; nan never equals anything
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise _NotANumber(f"the number {shown} is too large")
    return value


# perf: one decoder, hooks included; the float hook is a Python call per float (a body
# of 10,000 floats: 1.7 ms instead of 0.84 ms), the constant hook costs nothing unless
# a constant is met; a small object parses as fast as json.loads (about 2.4 us).
_strict_decode: Final = json.JSONDecoder(
    parse_float=_finite_float, parse_constant=_refuse_constant
).decode


def parse_json(data: bytes | str) -> Any:
    """The JSON value in `data` (bytes: UTF-8, UTF-16 or UTF-32, as `json.loads` reads
    them); `InvalidJSON` saying why when it is not JSON."""
    try:
        text = data if isinstance(data, str) else data.decode(json.detect_encoding(data))
        return _strict_decode(text)
    except UnicodeDecodeError:
        raise InvalidJSON("not valid UTF-8", bad_encoding=True) from None
    except json.JSONDecodeError as exc:
        raise InvalidJSON(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except _NotANumber as exc:
        raise InvalidJSON(str(exc)) from None
    except ValueError:  # an integer past Python's digit limit
        limit = sys.get_int_max_str_digits()
        raise InvalidJSON(f"a number has more than {limit} digits") from None
    except RecursionError:
        raise InvalidJSON("nested too deeply") from None
