"""How the middleware factories check their options, one way for all of them.

Rules:
- A list option takes any iterable of strings, and a str alone as a list of one.
- A choice is one of a fixed tuple (a mode, a redirect status), an error status an
  `int` from 400 to 599.
- A count (bytes, characters, spaces) is an `int`, not a `bool`, at least its
  minimum; a duration is in seconds, an `int` or a `float` (not a `bool`), finite,
  and more than zero (or at least zero where zero means "none").
- A refusal is a ValueError at start-up that names the factory, the option, what it
  must be and what it got: `cors(): max_age must be a whole number of seconds >= 0,
  got -1`.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["choice", "count", "duration", "error_status", "strings"]


def count(value: Any, who: str, name: str, unit: str, least: int = 0) -> int:
    """`value` when it is a whole number of `unit` at least `least`, else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(
            f"{who}: {name} must be a whole number of {unit} >= {least}, got {value!r}"
        )
    return value


def duration(value: Any, who: str, name: str, zero: bool = False) -> float:
    """`value` when it is a finite number of seconds, more than 0 (or 0 itself with
    `zero=True`), else a ValueError."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not zero)
    ):
        bound = ">= 0" if zero else "> 0"
        raise ValueError(f"{who}: {name} must be a number of seconds {bound}, got {value!r}")
    return value


def choice(value: Any, who: str, name: str, choices: tuple[Any, ...]) -> Any:
    """`value` when it is one of `choices`, else a ValueError listing them."""
    if isinstance(value, bool) or value not in choices:
        listed = ", ".join(repr(option) for option in choices)
        raise ValueError(f"{who}: {name} must be one of {listed}, got {value!r}")
    return value


def error_status(value: Any, who: str, name: str = "status") -> int:
    """`value` when it is an error status (an int from 400 to 599), else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 400 <= value <= 599:
        raise ValueError(f"{who}: {name} must be an error status (400 to 599), got {value!r}")
    return value


def strings(value: Any, who: str, name: str) -> list[str]:
    """A list option's items: a str alone is a list of one (`allow_methods="GET"` is
    `["GET"]`, never G, E, T); any other iterable is listed, each item a str, else a
    ValueError."""
    if isinstance(value, str):
        return [value]
    try:
        items = list(value)
    except TypeError:
        raise ValueError(f"{who}: {name} must be a list of strings, got {value!r}") from None
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"{who}: {name} must be a list of strings, got {item!r} in it")
    return items
