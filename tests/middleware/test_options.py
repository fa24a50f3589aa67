"""Numbers and choices are checked one way in every factory: a ValueError at start-up
naming the factory, the option, what it must be and what it got."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from microweb.middleware import (
    bearer_auth,
    body_limit,
    compress,
    cors,
    https_redirect,
    ip_restriction,
    jwt,
    pretty_json,
    rate_limit,
    request_id,
    timeout,
    trailing_slash,
    trusted_host,
)

from .conftest import MwClient

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


def test_a_single_string_for_a_list_option_is_a_list_of_one(mw_client: MwClient) -> None:
    preflight = mw_client(cors(origin="https://a.example", allow_methods="put")).options(
        "/", headers={"origin": "https://a.example", "access-control-request-method": "PUT"}
    )
    assert preflight.headers["access-control-allow-methods"] == "PUT"  # never "P, U, T"
    assert (
        mw_client(trusted_host("example.com"), base_url="https://example.com").get("/").text == "ok"
    )
    assert mw_client(ip_restriction(allow="127.0.0.1")).get("/").text == "ok"


def test_bearer_tokens_given_as_one_string_accept_that_token_not_its_characters(
    mw_client: MwClient,
) -> None:
    client = mw_client(bearer_auth(tokens="s3cret"))
    assert client.get("/", headers={"authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/", headers={"authorization": "Bearer s"}).status_code == 401


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: ip_restriction(allow=["10.0.0.0/8", 7]),
            r"ip_restriction\(\): allow must be a list of strings, got 7 in it",
        ),
        (
            lambda: cors(allow_headers=42),
            r"cors\(\): allow_headers must be a list of strings, got 42",
        ),
        (
            lambda: compress(encodings=[b"gzip"]),
            r"compress\(\): encodings must be a list of strings, got b'gzip' in it",
        ),
    ],
)
def test_a_list_option_holds_strings(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        make()
