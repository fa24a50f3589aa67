"""basic_auth(): Hono's cases, constant-time checks, and the one Authorization policy."""

from __future__ import annotations

import base64

import pytest

from microweb.middleware import basic_auth

from .conftest import guarded


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {token}"}


def test_basic_auth_lets_the_right_user_in_and_names_them() -> None:
    client = guarded(basic_auth(username="hono", password="acoolproject"))
    response = client.get("/auth/me", headers=basic("hono", "acoolproject"))
    assert response.status_code == 200
    assert response.json()["user"] == "hono"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("hono", "wrong"),
        basic("other", "acoolproject"),
        {"authorization": "Basic !!!not-base64"},
        {"authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"authorization": "Basic " + base64.b64encode(b"\xff\xfe:x").decode()},
        {"authorization": "Bearer abc"},
    ],
    ids=["none", "wrong-password", "wrong-user", "bad-base64", "no-colon", "not-utf8", "scheme"],
)
def test_basic_auth_refuses_with_a_challenge(headers: dict[str, str]) -> None:
    client = guarded(basic_auth(username="hono", password="acoolproject", realm="Hono"))
    response = client.get("/auth/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="Hono"'


def test_basic_auth_with_several_users_and_a_password_containing_colons() -> None:
    client = guarded(basic_auth(users={"a": "1", "b": "x:y:z"}))
    assert client.get("/auth/me", headers=basic("b", "x:y:z")).json()["user"] == "b"
    assert client.get("/auth/me", headers=basic("a", "x:y:z")).status_code == 401


def test_basic_auth_verify_may_be_async() -> None:
    async def verify(user: str, password: str, c: object) -> bool:
        return user == "dyn" and password == "amic"

    client = guarded(basic_auth(verify=verify))
    assert client.get("/auth/me", headers=basic("dyn", "amic")).status_code == 200
    assert client.get("/auth/me", headers=basic("dyn", "nope")).status_code == 401


def test_basic_auth_leaves_other_paths_alone() -> None:
    client = guarded(basic_auth(username="a", password="b"))
    assert client.get("/open").text == "open"


def test_basic_auth_needs_credentials_at_startup() -> None:
    with pytest.raises(ValueError, match="username and password"):
        basic_auth()
    with pytest.raises(ValueError, match="both"):
        basic_auth(username="only")
