"""https_redirect(): http requests get a redirect to https."""

from __future__ import annotations

import pytest

from microweb.middleware import https_redirect
from microweb.testing import TestClient

from .conftest import client_with_middleware


def client_with(mw: object, base_url: str = "https://testserver") -> TestClient:
    routes = {"/page": lambda c: "page", "/form": lambda c: "posted"}
    return client_with_middleware(mw, routes=routes, base_url=base_url)


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
