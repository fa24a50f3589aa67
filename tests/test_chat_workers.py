"""The example's chat on two uvicorn processes (two workers) sharing one Redis: users
signed in on different workers see each other come online and talk through
`microweb.broadcast`, and a user's chat socket on one worker is closed (4401) when
that user logs out everywhere on the other. The Redis is a throwaway server of this
test's own, so the chat's channel and its who-is-online hash meet no other test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
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
    return signed_in(server, user, password)[0]


def signed_in(server: Server, user: str, password: str) -> tuple[str, str]:
    """The session cookie and CSRF token of `user`, signed in on `server`."""
    with httpx.Client(base_url=server.url, timeout=10) as http:
        answer = http.get("/api/csrf-token")
        cookie = answer.headers["set-cookie"].split(";", 1)[0]
        login = http.post(
            "/api/login",
            headers={"x-csrf-token": answer.json()["token"], "cookie": cookie},
            json={"username": user, "password": password},
        )
        assert login.status_code == 200, login.text
        return login.headers["set-cookie"].split(";", 1)[0], login.json()["csrf_token"]


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


def test_logging_out_everywhere_on_one_worker_closes_the_chat_socket_on_the_other(
    workers: tuple[Server, Server],
) -> None:
    """Bob chats from his phone, served by the second worker; from his laptop, served by
    the first, he logs out everywhere: the second worker closes the phone's socket."""
    first, second = workers
    laptop_cookie, laptop_token = signed_in(first, "bob", "builder")
    phone_cookie = signed_in_cookie(second, "bob", "builder")
    with chat_socket(second, phone_cookie) as phone:
        assert next_event(phone, "presence")["users"] == ["bob"]
        with httpx.Client(base_url=first.url, timeout=10) as laptop:
            answer = laptop.post(
                "/logout/everywhere",
                headers={"cookie": laptop_cookie, "x-csrf-token": laptop_token},
            )
        assert answer.status_code == 303, answer.text
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                phone.recv(timeout=10)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "Session ended")
    assert "Traceback" not in first.output() + second.output()
