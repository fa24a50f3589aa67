"""WebSockets on a real uvicorn: echo, params, disconnects, errors, sessions and guards on
the handshake, Cross-Site WebSocket Hijacking refused, and 200 sockets at once; and, in
process, what no real server shows (tests/testing/test_websocket_client.py has the rest)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from microweb import MicroWeb, WebSocket, require_auth, session
from microweb.context import Context
from microweb.testing import TestClient
from microweb.websockets import WebSocketState

from .servers import Server, serve


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve("tests.apps.ws_app:app", tmp_path_factory.mktemp("ws")) as running:
        yield running


def ws_url(server: Server, path: str) -> str:
    return server.url.replace("http://", "ws://") + path


def test_text_and_bytes_echo(server: Server) -> None:
    with connect(ws_url(server, "/echo")) as ws:
        ws.send("hello")
        assert ws.recv() == "hello"
        ws.send(b"\x01\x02\x03")
        assert ws.recv() == b"\x03\x02\x01"


def test_params_json_and_close_code(server: Server) -> None:
    with connect(ws_url(server, "/json/lobby")) as ws:
        ws.send(json.dumps({"n": 1}))
        assert json.loads(ws.recv()) == {"room": "lobby", "got": {"n": 1}}
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4000, "done")


def test_http_requests_on_the_same_path_reach_the_http_route(server: Server) -> None:
    assert httpx.get(server.url + "/echo").text == "plain http on the same path"


def test_a_client_that_goes_away_ends_the_loop_cleanly(server: Server) -> None:
    for _ in range(3):
        with connect(ws_url(server, "/echo")) as ws:
            ws.send("bye")
            assert ws.recv() == "bye"
    assert "Traceback" not in server.output()


def test_non_json_data_closes_with_1007(server: Server) -> None:
    with connect(ws_url(server, "/json/x")) as ws:
        ws.send("{not json")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007


@pytest.mark.parametrize("message", ["NaN", "[Infinity]", '{"n": 1e999}'])
def test_json_constants_and_overflowing_numbers_close_with_1007(
    server: Server, message: str
) -> None:
    with connect(ws_url(server, "/json/x")) as ws:
        ws.send(message)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007


def test_a_handler_error_closes_with_1011_and_is_logged(server: Server) -> None:
    with connect(ws_url(server, "/boom")) as ws:
        ws.send("go")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
    assert closed.value.rcvd.reason == ""
    assert "Unhandled error in WebSocket handler for /boom" in server.output()
    assert "handler failed" in server.output()


def test_an_unknown_path_is_refused_with_404(server: Server) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(server, "/nowhere"))
    assert refused.value.response.status_code == 404


def test_require_auth_refuses_the_handshake_with_401(server: Server) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(server, "/me"))
    assert refused.value.response.status_code == 401


def login_cookie(server: Server, user: str) -> str:
    response = httpx.post(f"{server.url}/login/{user}")
    assert response.status_code == 200
    return f"microweb_session={response.cookies['microweb_session']}"


def test_the_session_is_shared_with_http_both_ways(server: Server) -> None:
    cookie = login_cookie(server, "ann")
    with connect(ws_url(server, "/me"), additional_headers={"cookie": cookie}) as ws:
        assert json.loads(ws.recv()) == {"user": "ann"}
    seen = httpx.get(server.url + "/seen", headers={"cookie": cookie})
    assert seen.json() == {"seen": True}


def test_require_role_refuses_a_signed_in_user_with_403(server: Server) -> None:
    cookie = login_cookie(server, "bob")
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(server, "/admin"), additional_headers={"cookie": cookie})
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1:1", "null"])
def test_a_foreign_origin_is_refused_with_403(server: Server, origin: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(server, "/echo"), origin=origin)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403


def test_the_own_origin_and_a_trusted_one_are_allowed(server: Server) -> None:
    for origin in (server.url, "https://trusted.example"):
        with connect(ws_url(server, "/echo"), origin=origin) as ws:  # type: ignore[arg-type]
            ws.send("ok")
            assert ws.recv() == "ok"


def test_two_hundred_concurrent_sockets(server: Server) -> None:
    async def one(i: int) -> str:
        async with websockets.connect(ws_url(server, "/echo")) as ws:
            await ws.send(f"message {i}")
            reply = await ws.recv()
            return str(reply)

    async def all_of_them() -> list[str]:
        return await asyncio.gather(*(one(i) for i in range(200)))

    replies = asyncio.run(all_of_them())
    assert replies == [f"message {i}" for i in range(200)]


def test_a_websocket_goes_to_the_mount_or_route_registered_first() -> None:
    # Registration order decides, as it does for HTTP: a mount registered before a
    # WebSocket route under its prefix takes the handshake, one registered after it
    # leaves it to the route.
    async def mounted(scope, receive, send):  # type: ignore[no-untyped-def]
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": f"mounted: {scope['path']}"})

    async def own(c: Context, ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("the app's own route")

    mount_first = MicroWeb()
    mount_first.mount("/sub", mounted)
    mount_first.ws("/sub/x", handler=own)
    route_first = MicroWeb()
    route_first.ws("/sub/x", handler=own)
    route_first.mount("/sub", mounted)

    with TestClient(mount_first) as client, client.websocket_connect("/sub/x") as ws:
        assert ws.receive_text() == "mounted: /sub/x"
    with TestClient(route_first) as client, client.websocket_connect("/sub/x") as ws:
        assert ws.receive_text() == "the app's own route"


def test_without_the_http_response_extension_a_refusal_is_a_close_with_1008() -> None:
    # The raw protocol is the point here: a server without "websocket.http.response"
    # cannot carry the guard's 401, so the app refuses with a close (servers answer 403).
    app = MicroWeb()
    app.use(session())

    @app.ws("/me", require_auth())
    async def me(c: Context, ws: WebSocket) -> None:
        await ws.accept()

    sent: list[dict[str, object]] = []

    async def drive() -> None:
        scope = {"type": "websocket", "path": "/me", "headers": [], "scheme": "ws"}

        async def receive():  # type: ignore[no-untyped-def]
            return {"type": "websocket.connect"}

        async def send(message):  # type: ignore[no-untyped-def]
            sent.append(message)

        await app(scope, receive, send)

    asyncio.run(drive())
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": ""}]


UPGRADE = {"upgrade": "websocket", "connection": "Upgrade", "sec-websocket-version": "13"}


def test_a_handshake_the_server_did_not_upgrade_is_a_501_naming_the_problem(caplog) -> None:
    # What a server without WebSocket support (uvicorn without `websockets`, or with
    # --ws none) hands the app: the handshake as a plain GET.
    from microweb import MicroWeb

    app = MicroWeb()
    app.ws("/live", handler=lambda c, ws: ws.accept())

    first = asyncio.run(app.request("/live", headers=UPGRADE))
    second = asyncio.run(app.request("/live", headers=UPGRADE))

    assert first.status_code == second.status_code == 501
    assert first.text == "This server cannot open WebSockets"
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1  # logged once, not once a request
    assert "the server cannot speak WebSocket" in errors[0].getMessage()
    assert "/live" in errors[0].getMessage()


def test_an_upgrade_request_for_a_path_without_websocket_route_stays_a_404() -> None:
    from microweb import MicroWeb

    app = MicroWeb()
    app.ws("/live", handler=lambda c, ws: ws.accept())

    assert asyncio.run(app.request("/elsewhere", headers=UPGRADE)).status_code == 404
    assert asyncio.run(app.request("/live")).status_code == 404  # no Upgrade: a plain GET


def test_the_socket_state_moves_from_connecting_to_open_to_closed() -> None:
    seen: list[WebSocketState] = []

    async def handler(c: Context, ws: WebSocket) -> None:
        seen.append(ws.state)
        await ws.accept()
        seen.append(ws.state)
        await ws.send_text(ws.state.value)
        await ws.close(4000)
        seen.append(ws.state)

    app = MicroWeb()
    app.ws("/s", handler=handler)
    with TestClient(app) as client, client.websocket_connect("/s") as ws:
        assert ws.receive_text() == "open"
    assert seen == [WebSocketState.CONNECTING, WebSocketState.OPEN, WebSocketState.CLOSED]
