"""Numbers and choices are checked one way in every factory: a ValueError at start-up
naming the factory, the option, what it must be and what it got."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from microweb.middleware import (
    body_limit,
    compress,
    cors,
    https_redirect,
    jwt,
    pretty_json,
    rate_limit,
    request_id,
    timeout,
    trailing_slash,
)

SECRET = "a-very-secret-key-of-32-bytes-at-least!"

CASES: list[tuple[Callable[[], Any], str]] = [
    (
        lambda: cors(origin="https://a.example", max_age=-1),
        r"cors\(\): max_age must be a whole number of seconds >= 0, got -1",
    ),
    (
        lambda: cors(origin="https://a.example", max_age=1.5),
        r"cors\(\): max_age must be a whole number of seconds >= 0, got 1.5",
    ),
    (
        lambda: compress(threshold=-1),
        r"compress\(\): threshold must be a whole number of bytes >= 0, got -1",
    ),
    (
        lambda: body_limit(True),
        r"body_limit\(\): max_size must be a whole number of bytes >= 0, got True",
    ),
    (
        lambda: request_id(limit=0),
        r"request_id\(\): limit must be a whole number of characters >= 1, got 0",
    ),
    (
        lambda: pretty_json(space="2"),
        r"pretty_json\(\): space must be a whole number of spaces >= 0, got '2'",
    ),
    (lambda: timeout(0), r"timeout\(\): seconds must be a number of seconds > 0, got 0"),
    (
        lambda: timeout(float("nan")),
        r"timeout\(\): seconds must be a number of seconds > 0, got nan",
    ),
    (
        lambda: timeout(1, status=200),
        r"timeout\(\): status must be an error status \(400 to 599\), got 200",
    ),
    (
        lambda: jwt(SECRET, algorithms=["HS256"], leeway=-5),
        r"jwt\(\): leeway must be a number of seconds >= 0, got -5",
    ),
    (
        lambda: https_redirect(status=303),
        r"https_redirect\(\): status must be one of 301, 302, 307, 308, got 303",
    ),
    (
        lambda: trailing_slash("strip"),
        r"trailing_slash\(\): mode must be one of 'trim', 'append', got 'strip'",
    ),
    (
        lambda: rate_limit(when_store_fails="maybe"),
        r"rate_limit\(\): when_store_fails must be one of 'open', 'closed', got 'maybe'",
    ),
]


@pytest.mark.parametrize(("make", "message"), CASES)
def test_a_bad_number_or_choice_is_refused_at_startup_in_one_voice(
    make: Callable[[], Any], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        make()
