"""What a session holds before `login` and what it holds after, on every driver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from microweb.testing import TestClient

from .conftest import COOKIE


def test_an_anonymous_sessions_data_survives_login(client: TestClient) -> None:
    client.get("/cart/tea")
    client.get("/login/alice")
    assert client.get("/get/user_id").json() == {"value": "alice"}
    assert client.get("/get/cart").json() == {"value": ["tea"]}


def test_logging_in_again_as_the_same_user_keeps_the_data(client: TestClient) -> None:
    client.get("/login/alice")
    client.get("/cart/tea")
    client.get("/login/alice")
    assert client.get("/get/cart").json() == {"value": ["tea"]}


def test_logging_in_as_another_user_starts_an_empty_session(client: TestClient) -> None:
    client.get("/login/alice")
    client.get("/cart/tea")
    client.get("/login/bob")
    assert client.get("/get/user_id").json() == {"value": "bob"}
    assert client.get("/get/cart").json() == {"value": None}


def test_logging_in_as_another_user_rotates_the_csrf_token(client: TestClient) -> None:
    client.get("/login/alice")
    before = client.get("/token").json()["token"]
    client.get("/login/bob")
    after = client.get("/token").json()["token"]
    assert after != before


def test_logging_in_as_another_user_deletes_the_previous_users_record(
    make_client: Callable[..., TestClient], server_store: Any
) -> None:
    client = make_client(driver=server_store)
    client.get("/login/alice")
    alice = client.cookies.get(COOKIE)
    client.get("/login/bob")
    assert client.cookies.get(COOKIE) != alice
    assert client.get(f"/stored/{alice}").json() == {"stored": False}
