"""trusted_host() and https_redirect()."""

from __future__ import annotations

import pytest

from microweb import MicroWeb
from microweb.middleware import https_redirect, trusted_host
from microweb.testing import TestClient


def client_with(mw: object, base_url: str = "https://testserver") -> TestClient:
    app = MicroWeb()
    app.use(mw)  # type: ignore[arg-type]
    app.get("/page", lambda c: "page")
    app.post("/form", lambda c: "posted")
    return TestClient(app, base_url=base_url)


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
        assert response.text == "Invalid host header"


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


def test_https_redirect_sends_http_to_https_keeping_path_and_query() -> None:
    client = client_with(https_redirect(), base_url="http://example.com")
    response = client.get("/page?a=1&b=2")
    assert response.status_code == 308
    assert response.headers["location"] == "https://example.com/page?a=1&b=2"


def test_https_redirect_drops_port_80_and_keeps_others() -> None:
    assert (
        client_with(https_redirect(), "http://example.com:80").get("/page").headers["location"]
        == "https://example.com/page"
    )
    assert (
        client_with(https_redirect(), "http://example.com:8080").get("/page").headers["location"]
        == "https://example.com:8080/page"
    )


def test_https_requests_pass() -> None:
    assert client_with(https_redirect()).get("/page").text == "page"


def test_forwarded_proto_is_ignored_unless_trusted() -> None:
    headers = {"x-forwarded-proto": "https"}
    plain = client_with(https_redirect(), "http://example.com")
    assert plain.get("/page", headers=headers).status_code == 308
    trusting = client_with(https_redirect(trust_forwarded_proto=True), "http://example.com")
    assert trusting.get("/page", headers=headers).text == "page"


def test_https_redirect_status_is_checked() -> None:
    with pytest.raises(ValueError, match="308"):
        https_redirect(status=200)
