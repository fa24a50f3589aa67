"""microweb.http_rules: each shared HTTP rule, on its own (the middleware tests check
what users see of them)."""

from __future__ import annotations

import ipaddress

import pytest

from microweb import ForbiddenError
from microweb.datastructures import Headers
from microweb.http_rules import (
    append_vary,
    checked_origin,
    client_address,
    credentials,
    is_json,
    is_token,
    kept_on_304,
    media_type,
    normalize_origin,
    own_origin,
    peer_address,
    peer_key,
    prefers_html,
    raw_vary_covers,
)
from microweb.router.path_set import PathSet


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("https://app.example", "https://app.example"),
        ("HTTPS://App.Example:443", "https://app.example"),
        ("http://app.example:80/", "http://app.example"),
        ("https://app.example.:8443", "https://app.example:8443"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("null", None),
        ("app.example", None),
        ("ftp://app.example", None),
        ("https://app.example/path", None),
        ("https://user@app.example", None),
        ("https://", None),
        ("https://app.example:99999", None),
    ],
)
def test_an_origin_has_one_normal_form(text: str, normal: str | None) -> None:
    assert normalize_origin(text) == normal


def test_a_configured_origin_that_is_not_one_names_who_refused_it() -> None:
    with pytest.raises(ValueError, match=r"^cors\(\): 'app.example' is not an origin"):
        checked_origin("app.example", "cors()")


@pytest.mark.parametrize(
    ("scheme", "host", "origin"),
    [
        ("https", "App.example:443", "https://app.example"),
        ("wss", "app.example", "https://app.example"),
        ("ws", "app.example:8000", "http://app.example:8000"),
        ("http", None, None),
        ("http", "bad host", None),
    ],
)
def test_a_requests_own_origin(scheme: str, host: str | None, origin: str | None) -> None:
    assert own_origin(scheme, host) == origin


@pytest.mark.parametrize(
    ("header", "scheme", "given"),
    [
        ("Bearer abc", "bearer", "abc"),
        ("bearer   abc  ", "bearer", "abc"),
        ("Bearer", "bearer", ""),
        ("Basic abc", "bearer", None),
        ("", "bearer", None),
        (None, "basic", None),
    ],
)
def test_authorization_credentials(header: str | None, scheme: str, given: str | None) -> None:
    assert credentials(header, scheme) == given


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("10.0.0.1", "10.0.0.1"),
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("fe80::1%eth0", None),
        ("010.0.0.1", None),
        ("testclient", None),
        ("", None),
        (None, None),
    ],
)
def test_a_client_address_is_read_strictly(text: str | None, address: str | None) -> None:
    parsed = client_address(text)
    assert parsed == (None if address is None else ipaddress.ip_address(address))


def test_the_peer_is_its_address_or_its_name_or_refused() -> None:
    assert peer_address(("::ffff:192.0.2.1", 1)) == ipaddress.ip_address("192.0.2.1")
    assert peer_key(("::ffff:192.0.2.1", 1)) == "192.0.2.1"
    assert peer_key(("testclient", 50000)) == "testclient"
    for missing in (None, ()):
        with pytest.raises(ForbiddenError):
            peer_key(missing)
    with pytest.raises(ForbiddenError):
        peer_address(("testclient", 50000))


@pytest.mark.parametrize(
    ("content_type", "media", "json"),
    [
        ("application/json", "application/json", True),
        ("Application/JSON; charset=utf-8", "application/json", True),
        ("application/problem+json", "application/problem+json", True),
        ("text/json-ish", "text/json-ish", False),
        ("text/html", "text/html", False),
        (None, "", False),
    ],
)
def test_media_types(content_type: str | None, media: str, json: bool) -> None:
    assert media_type(content_type) == media
    assert is_json(media_type(content_type)) is json


def test_prefers_html_is_a_browsers_accept() -> None:
    assert prefers_html("text/html,application/xhtml+xml,*/*;q=0.8")
    assert not prefers_html("*/*")
    assert not prefers_html(None)


def test_vary_is_added_to_never_overwritten() -> None:
    headers = Headers()
    append_vary(headers, "Origin")
    append_vary(headers, "origin")
    append_vary(headers, "Cookie")
    assert headers.getall("vary") == ["Origin, Cookie"]
    star = Headers([("vary", "*")])
    append_vary(star, "Origin")
    assert star.getall("vary") == ["*"]
    assert raw_vary_covers([(b"vary", b"Accept-Encoding, COOKIE")], "Cookie")
    assert not raw_vary_covers([(b"vary", b"Accept-Encoding")], "Cookie")


def test_a_304_keeps_only_the_cache_headers() -> None:
    raw = [
        (b"etag", b'"x"'),
        (b"content-type", b"text/plain"),
        (b"cache-control", b"max-age=60"),
        (b"content-length", b"5"),
        (b"vary", b"Cookie"),
    ]
    assert [k for k, _ in kept_on_304(raw)] == [b"etag", b"cache-control", b"vary"]


@pytest.mark.parametrize(("text", "token"), [("X-Request-Id", True), ("a b", False), ("", False)])
def test_the_token_grammar(text: str, token: bool) -> None:
    assert is_token(text) is token


def test_a_path_set_matches_as_routes_do() -> None:
    paths = PathSet(["/webhooks/*", "/users/:id"], "csrf(exclude=)")
    assert "/webhooks" in paths and "/webhooks/a/b" in paths and "/users/7" in paths
    assert "/webhooksx" not in paths and "/users/7/edit" not in paths
    assert "/anything" not in PathSet((), "csrf(exclude=)")
    with pytest.raises(ValueError, match=r"^unless\(\): paths are route paths"):
        PathSet(["webhooks"], "unless()")
