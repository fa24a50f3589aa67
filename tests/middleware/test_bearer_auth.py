"""bearer_auth(): Hono's cases and RFC 6750's error codes."""

from __future__ import annotations

import pytest

from microweb.middleware import bearer_auth

from .conftest import guarded


def test_bearer_auth_right_token_passes() -> None:
    client = guarded(bearer_auth(token="abc.def-ghi"))
    response = client.get("/auth/me", headers={"authorization": "Bearer abc.def-ghi"})
    assert response.status_code == 200
    assert response.json()["token"] == "abc.def-ghi"


def test_bearer_auth_without_a_header_is_401_without_an_error_code() -> None:
    response = guarded(bearer_auth(token="abc", realm="api")).get("/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("value", ["Bearer", "Bearer  ", "Bearer a b", "Bearer ab!c"])
def test_bearer_auth_malformed_header_is_400_invalid_request(value: str) -> None:
    response = guarded(bearer_auth(token="abc")).get("/auth/me", headers={"authorization": value})
    assert response.status_code == 400
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_request"'


def test_bearer_auth_wrong_token_is_401_invalid_token() -> None:
    response = guarded(bearer_auth(tokens=["one", "two"], realm="api")).get(
        "/auth/me", headers={"authorization": "Bearer three"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api", error="invalid_token"'


def test_bearer_auth_verify_function() -> None:
    client = guarded(bearer_auth(verify=lambda token, c: token.startswith("ok-")))
    assert client.get("/auth/me", headers={"authorization": "Bearer ok-1"}).status_code == 200
    assert client.get("/auth/me", headers={"authorization": "Bearer no-1"}).status_code == 401
