"""The example's chat on two uvicorn processes (two workers) sharing one Redis: users
signed in on different workers see each other come online and talk through
`microweb.broadcast`. The Redis is a throwaway server of this test's own, so the
chat's channel and its who-is-online hash meet no other test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from .conftest import RedisServer
from .servers import Server, serve


@pytest.fixture
def workers(throwaway_redis: RedisServer, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    env = {"SESSION_DRIVER": "redis", "REDIS_URL": throwaway_redis.url}
    with (
        serve("examples.app:app", tmp_path, env) as first,
        serve("examples.app:app", tmp_path, env) as second,
    ):
        yield first, second


def signed_in_cookie(server: Server, user: str, password: str) -> str:
    """The session cookie of `user`, signed in through the JSON API of `server`. (The
    session cookie is Secure, so it is carried by hand over this plain-HTTP test.)"""
    with httpx.Client(base_url=server.url, timeout=10) as http:
        answer = http.get("/api/csrf-token")
        cookie = answer.headers["set-cookie"].split(";", 1)[0]
        login = http.post(
            "/api/login",
            headers={"x-csrf-token": answer.json()["token"], "cookie": cookie},
            json={"username": user, "password": password},
        )
        assert login.status_code == 200, login.text
        return login.headers["set-cookie"].split(";", 1)[0]


def chat_socket(server: Server, cookie: str) -> ClientConnection:
    url = server.url.replace("http://", "ws://") + "/chat/socket"
    return connect(url, additional_headers={"cookie": cookie}, open_timeout=10)


def next_event(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next event of `kind` on `ws` (presence updates may come between messages)."""
    while True:
        event: dict[str, Any] = json.loads(ws.recv(timeout=10))
        if event["type"] == kind:
            return event


def test_users_on_two_workers_see_each_other_and_talk(workers: tuple[Server, Server]) -> None:
    first, second = workers
    alice_cookie = signed_in_cookie(first, "alice", "wonderland")
    bob_cookie = signed_in_cookie(second, "bob", "builder")
    with chat_socket(first, alice_cookie) as alice:
        assert next_event(alice, "presence")["users"] == ["alice"]
        with chat_socket(second, bob_cookie) as bob:
            assert next_event(bob, "presence")["users"] == ["alice", "bob"]
            assert next_event(alice, "presence")["users"] == ["alice", "bob"]
            alice.send(json.dumps({"text": "hello bob"}))
            assert next_event(bob, "message") == {
                "type": "message",
                "user": "alice",
                "text": "hello bob",
            }
            bob.send(json.dumps({"text": "hi alice"}))
            # Everyone in the room gets every message, the sender too, in order.
            assert [next_event(alice, "message")["text"] for _ in range(2)] == [
                "hello bob",
                "hi alice",
            ]
        assert next_event(alice, "presence")["users"] == ["alice"]
    assert "Traceback" not in first.output() + second.output()
