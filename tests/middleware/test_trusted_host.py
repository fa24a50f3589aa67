"""trusted_host(): a Host not in hosts is 400."""

from __future__ import annotations

import pytest

from microweb.middleware import trusted_host
from microweb.testing import TestClient

from .conftest import client_with_middleware


def client_with(mw: object, base_url: str = "https://testserver") -> TestClient:
    routes = {"/page": lambda c: "page", "/form": lambda c: "posted"}
    return client_with_middleware(mw, routes=routes, base_url=base_url)


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("example.com", 200),
        ("EXAMPLE.com:8443", 200),
        ("api.example.org", 200),
        ("deep.api.example.org", 200),
        ("example.org", 400),
        ("evil.com", 400),
        ("example.com.evil.com", 400),
        ("", 400),
    ],
)
def test_trusted_host_checks_the_host_header(host: str, status: int) -> None:
    client = client_with(trusted_host(["example.com", "*.example.org"]))
    response = client.get("/page", headers={"host": host})
    assert response.status_code == status
    if status == 400:
        assert response.text == "Invalid Host header"


def test_trusted_host_www_redirect() -> None:
    client = client_with(trusted_host(["www.example.com"], www_redirect=True))
    response = client.get("https://example.com/page?x=1")
    assert response.status_code == 301
    assert response.headers["location"] == "https://www.example.com/page?x=1"


@pytest.mark.parametrize("pattern", ["exa*mple.com", "*", "a.*.com"])
def test_trusted_host_patterns_are_checked(pattern: str) -> None:
    if pattern == "*":
        assert client_with(trusted_host([pattern])).get("/page").status_code == 200
    else:
        with pytest.raises(ValueError, match="wildcard"):
            trusted_host([pattern])
