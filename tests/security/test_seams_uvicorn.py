"""The seams the guard matrix covers in process, seen over real HTTP on uvicorn: an encoded
slash into a guarded mount, a WebSocket to a guarded mount, and Host headers that would
change a URL rebuilt from them."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from ..servers import Server, raw_request, serve

CREDENTIALS = "Basic " + base64.b64encode(b"ann:secret").decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve("tests.apps.guarded_mount_app:app", tmp_path_factory.mktemp("logs")) as server:
        yield server


def get(server: Server, target: str, host: str = "127.0.0.1", extra: str = "") -> bytes:
    request = f"GET {target} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n"
    return raw_request(server.port, request.encode("latin-1"))


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_the_guard_covers_the_mounted_app(server: Server) -> None:
    assert status(get(server, "/legacy/admin/x")) == 401
    answer = get(server, "/legacy/admin/x", extra=f"Authorization: {CREDENTIALS}\r\n")
    assert status(answer) == 200
    assert answer.endswith(b"admin page x")
    assert status(get(server, "/legacy/public")) == 200


@pytest.mark.parametrize(
    "target",
    [
        "/legacy/admin%2Fx",
        "/legacy/admin%2fx",
        "/legacy//admin/x",
        "/legacy/x/../admin/x",
        "/legacy/x/%2e%2e/admin/x",
        "/legacy/admin%5Cx",
    ],
)
def test_no_spelling_walks_past_the_guard_into_the_mounted_app(server: Server, target: str) -> None:
    answer = get(server, target)

    assert status(answer) in (401, 404), answer
    assert b"admin page" not in answer


def ws_url(server: Server, path: str) -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


def test_a_websocket_to_a_guarded_mount_meets_the_guard(server: Server) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(server, "/legacy/admin/socket"), open_timeout=5)
    assert refused.value.response.status_code == 401

    headers = {"Authorization": CREDENTIALS}
    with connect(ws_url(server, "/legacy/admin/socket"), additional_headers=headers) as ws:
        assert ws.recv(timeout=5) == "admin socket open"


def test_a_websocket_to_a_mount_from_a_foreign_origin_is_refused(server: Server) -> None:
    headers = {"Authorization": CREDENTIALS}
    with pytest.raises(InvalidStatus) as refused:
        connect(
            ws_url(server, "/legacy/admin/socket"),
            additional_headers=headers,
            origin="http://evil.example",  # type: ignore[arg-type]
            open_timeout=5,
        )
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize(
    "host",
    [
        "evil.com/.example.com",
        "evil.com?.example.com",
        "evil.com#.example.com",
        "evil.com@a.example.com",
        "evil.com\\.example.com",
        "a,b.example.com",
        "example.com:99999",
        "[not-ipv6]",
    ],
)
def test_a_malformed_host_is_a_400_before_routing(server: Server, host: str) -> None:
    answer = get(server, "/legacy/public", host=host)

    assert status(answer) == 400, answer


def test_https_redirect_never_sends_users_to_another_host(server: Server) -> None:
    answer = get(server, "/secure", host="evil.com/.example.com")
    assert status(answer) == 400

    answer = get(server, "/secure", host="example.com")
    assert status(answer) == 308
    assert b"\r\nlocation: https://example.com/secure\r\n" in answer.lower()


def test_logs_of_the_refused_requests_hold_no_traceback(server: Server) -> None:
    for target in ("/legacy/admin%2Fx", "/legacy/x/../admin/x"):
        get(server, target)
    assert "Traceback" not in server.output()
