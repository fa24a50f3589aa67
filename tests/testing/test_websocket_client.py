"""`client.websocket_connect`: a WebSocket to the app in process, as a test sees it."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from microweb import MicroWeb, WebSocket
from microweb.context import Context
from microweb.testing import TestClient, WebSocketClosed, WebSocketRejected
from microweb.websockets import WebSocketDisconnect
from tests.apps.ws_app import app as ws_app


def test_text_and_binary_messages_round_trip() -> None:
    with TestClient(ws_app) as client, client.websocket_connect("/echo") as ws:
        ws.send_text("hello")
        assert ws.receive_text() == "hello"
        ws.send_bytes(b"\x01\x02\x03")
        assert ws.receive_bytes() == b"\x03\x02\x01"
        ws.send_text("any kind")
        assert ws.receive() == "any kind"


@pytest.mark.parametrize("mode", ["text", "binary"])
def test_json_messages_round_trip(mode: str) -> None:
    with TestClient(ws_app) as client, client.websocket_connect("/json/lobby") as ws:
        ws.send_json({"n": 1, "name": "Zoë"}, mode=mode)
        assert ws.receive_json() == {"room": "lobby", "got": {"n": 1, "name": "Zoë"}}


def test_a_message_of_the_other_kind_is_a_type_error_naming_it() -> None:
    with TestClient(ws_app) as client, client.websocket_connect("/echo") as ws:
        ws.send_bytes(b"ab")
        with pytest.raises(TypeError, match=r"Expected a text message from /echo, got binary"):
            ws.receive_text()


def test_a_guard_refusing_the_handshake_raises_with_its_status_and_body() -> None:
    with TestClient(ws_app) as client, pytest.raises(WebSocketRejected) as refused:
        client.websocket_connect("/me")

    assert refused.value.status_code == 401
    assert refused.value.text == "Authentication required"
    assert refused.value.headers["content-type"].startswith("text/plain")
    assert "/me was refused with 401" in str(refused.value)


def test_a_path_without_a_websocket_route_is_refused_with_404() -> None:
    with TestClient(ws_app) as client, pytest.raises(WebSocketRejected) as refused:
        client.websocket_connect("/nowhere")

    assert refused.value.status_code == 404


def test_the_session_of_an_http_login_reaches_the_socket_and_back() -> None:
    with TestClient(ws_app) as client:
        assert client.post("/login/ann").json() == {"ok": "yes"}

        with client.websocket_connect("/me") as ws:
            assert ws.receive_json() == {"user": "ann"}

        # Leaving the block waited for the handler, so its session change is saved.
        assert client.get("/seen").json() == {"seen": True}


def test_the_handshake_carries_the_jars_cookies() -> None:
    app = MicroWeb()
    app.get("/set", lambda c: c.set_cookie("theme", "dark", secure=True) or "set")

    @app.ws("/cookies")
    async def cookies(c: Context, ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_json(c.req.cookie())

    with TestClient(app) as client:
        client.get("/set")
        with client.websocket_connect("/cookies") as ws:
            assert ws.receive_json() == {"theme": "dark"}


def test_subprotocols_are_offered_and_the_chosen_one_is_known() -> None:
    app = MicroWeb()

    @app.ws("/graphql")
    async def graphql(c: Context, ws: WebSocket) -> None:
        chosen = "graphql-transport-ws" if "graphql-transport-ws" in ws.subprotocols else None
        await ws.accept(subprotocol=chosen, headers=[("x-server", "microweb")])
        await ws.send_json(ws.subprotocols)

    with TestClient(app) as client:
        offered = ["graphql-ws", "graphql-transport-ws"]
        with client.websocket_connect("/graphql", subprotocols=offered) as ws:
            assert ws.subprotocol == "graphql-transport-ws"
            assert ws.headers["x-server"] == "microweb"
            assert ws.receive_json() == offered
        with client.websocket_connect("/graphql") as ws:
            assert ws.subprotocol is None
            assert ws.receive_json() == []


def test_accepting_a_subprotocol_the_client_did_not_offer_is_an_error() -> None:
    app = MicroWeb()

    @app.ws("/wrong")
    async def wrong(c: Context, ws: WebSocket) -> None:
        await ws.accept(subprotocol="made-up")
        await ws.receive_text()

    with TestClient(app) as client, pytest.raises(RuntimeError, match="did not offer"):
        client.websocket_connect("/wrong", subprotocols=["chat"])


def test_the_apps_close_code_and_reason_come_after_the_messages_sent_before_it() -> None:
    app = MicroWeb()

    @app.ws("/bye")
    async def bye(c: Context, ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("one")
        await ws.send_text("two")
        await ws.close(4000, "done")

    with TestClient(app) as client, client.websocket_connect("/bye") as ws:
        assert ws.receive_text() == "one"
        assert ws.receive_text() == "two"
        with pytest.raises(WebSocketClosed) as closed:
            ws.receive_text()
        assert (closed.value.code, closed.value.reason) == (4000, "done")
        with pytest.raises(WebSocketClosed):
            ws.receive_text()  # and so on, every time
        with pytest.raises(WebSocketClosed):
            ws.send_text("too late")


def test_the_app_learns_the_clients_close_code() -> None:
    app = MicroWeb()
    codes: list[int] = []

    @app.ws("/watch")
    async def watch(c: Context, ws: WebSocket) -> None:
        await ws.accept()
        try:
            await ws.receive_text()
        except WebSocketDisconnect as gone:
            codes.append(gone.code)

    with TestClient(app) as client:
        with client.websocket_connect("/watch") as ws:
            ws.close(4001)
            with pytest.raises(WebSocketClosed, match="closed by the client"):
                ws.send_text("after close")
        with client.websocket_connect("/watch"):
            pass  # leaving the block closes with 1000

    assert codes == [4001, 1000]


def test_leaving_the_block_waits_for_the_handlers_cleanup() -> None:
    app = MicroWeb()
    events: list[str] = []

    @app.ws("/room")
    async def room(c: Context, ws: WebSocket) -> None:
        await ws.accept()
        try:
            async for message in ws:
                events.append(message)  # type: ignore[arg-type]
        finally:
            await asyncio.sleep(0.05)  # leaving the room takes a moment
            events.append("left the room")

    with TestClient(app) as client:
        with client.websocket_connect("/room") as ws:
            ws.send_text("hi")
        assert events == ["hi", "left the room"]


def test_a_handler_error_closes_with_1011_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    app = MicroWeb()

    @app.ws("/boom")
    async def boom(c: Context, ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()
        raise RuntimeError("handler failed")

    with (
        caplog.at_level(logging.ERROR, logger="microweb"),
        TestClient(app) as client,
        client.websocket_connect("/boom") as ws,
    ):
        ws.send_text("go")
        with pytest.raises(WebSocketClosed) as closed:
            ws.receive_text()

    assert closed.value.code == 1011
    assert "handler failed" in caplog.text


def test_an_error_escaping_the_asgi_app_is_raised_in_the_test() -> None:
    async def raw(scope, receive, send):  # type: ignore[no-untyped-def]
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        raise ValueError("the mounted app broke")

    app = MicroWeb()
    app.mount("/raw", raw)

    with TestClient(app) as client:
        ws = client.websocket_connect("/raw/x")
        ws.send_text("go")
        with pytest.raises(ValueError, match="the mounted app broke"):
            ws.receive_text()


def test_leaving_the_block_re_raises_an_error_the_handler_left_unhandled() -> None:
    async def raw(scope, receive, send):  # type: ignore[no-untyped-def]
        await receive()
        await send({"type": "websocket.accept"})
        message = await receive()
        raise LookupError(f"cleanup failed after {message['type']}")

    app = MicroWeb()
    app.mount("/raw", raw)

    with (
        TestClient(app) as client,
        pytest.raises(LookupError, match=r"cleanup failed after websocket\.disconnect"),
        client.websocket_connect("/raw/x"),
    ):
        pass


def test_receive_times_out_naming_what_it_waited_for_and_where_the_handler_waits() -> None:
    app = MicroWeb()

    @app.ws("/quiet")
    async def quiet(c: Context, ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()  # waits for the client, which waits for it

    with (
        TestClient(app) as client,
        client.websocket_connect("/quiet") as ws,
        pytest.raises(TimeoutError) as waited,
    ):
        ws.receive_json(timeout=0.2)

    message = str(waited.value)
    assert "Waited 0.2 s for a JSON message from the WebSocket /quiet" in message
    assert "quiet() at tests/testing/test_websocket_client.py" in message
    assert "await ws.receive_text()  # waits for the client" in message


def test_a_handler_that_never_returns_after_the_close_is_cancelled_and_reported() -> None:
    app = MicroWeb()
    cancelled = threading.Event()

    @app.ws("/stuck")
    async def stuck(c: Context, ws: WebSocket) -> None:
        await ws.accept()
        try:
            await asyncio.Event().wait()  # never looks at the socket again
        except asyncio.CancelledError:
            cancelled.set()
            raise

    @app.ws("/echo")
    async def echo(c: Context, ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(await ws.receive_text())

    with TestClient(app) as client:
        with pytest.raises(TimeoutError) as waited, client.websocket_connect("/stuck", timeout=1):
            pass
        assert cancelled.is_set()
        with client.websocket_connect("/echo") as ws:  # the client still works
            ws.send_text("still here")
            assert ws.receive_text() == "still here"

    message = str(waited.value)
    assert "The WebSocket handler for /stuck did not return within 1 s" in message
    assert "after the client closed the socket (code 1000)" in message
    assert "await asyncio.Event().wait()  # never looks at the socket again" in message


def test_a_handshake_nobody_answers_times_out() -> None:
    async def silent(scope, receive, send):  # type: ignore[no-untyped-def]
        await asyncio.Event().wait()

    app = MicroWeb()
    app.mount("/silent", silent)

    with TestClient(app) as client, pytest.raises(TimeoutError) as waited:
        client.websocket_connect("/silent/x", timeout=0.2)

    assert "for an answer to the handshake from the WebSocket /silent/x" in str(waited.value)
    assert "silent() at tests/testing/test_websocket_client.py" in str(waited.value)


def origin_app() -> MicroWeb:
    app = MicroWeb(ws_origins=["https://partner.example"])

    @app.ws("/origin")
    async def origin(c: Context, ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_json({"origin": c.req.header("origin")})

    return app


def test_the_handshake_sends_the_clients_own_origin_as_a_browser_does() -> None:
    with TestClient(origin_app()) as client, client.websocket_connect("/origin") as ws:
        assert ws.receive_json() == {"origin": "https://testserver"}

    local = TestClient(origin_app(), base_url="http://localhost:8000")
    with local, local.websocket_connect("/origin") as ws:
        assert ws.receive_json() == {"origin": "http://localhost:8000"}


def test_a_foreign_origin_is_refused_and_a_trusted_one_passes() -> None:
    with TestClient(origin_app()) as client:
        with pytest.raises(WebSocketRejected) as refused:
            client.websocket_connect("/origin", headers={"Origin": "https://evil.example"})
        assert (refused.value.status_code, refused.value.text) == (
            403,
            "Cross-origin WebSocket refused",
        )
        trusted = {"Origin": "https://partner.example"}
        with client.websocket_connect("/origin", headers=trusted) as ws:
            assert ws.receive_json() == {"origin": "https://partner.example"}


def test_origin_none_sends_no_origin_as_a_client_that_is_not_a_browser() -> None:
    client = TestClient(origin_app())
    with client, client.websocket_connect("/origin", headers={"Origin": None}) as ws:
        assert ws.receive_json() == {"origin": None}


def test_the_path_query_and_scheme_reach_the_handler() -> None:
    app = MicroWeb()

    @app.ws("/rooms/:room")
    async def room(c: Context, ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_json(
            {
                "room": c.req.param("room"),
                "since": c.req.query("since"),
                "scheme": ws.scope["scheme"],
                "host": c.req.header("host"),
            }
        )

    with TestClient(app) as client, client.websocket_connect("/rooms/a%20b?since=3") as ws:
        assert ws.receive_json() == {
            "room": "a b",
            "since": "3",
            "scheme": "wss",
            "host": "testserver",
        }


def test_a_mounted_asgi_app_gets_its_websockets_with_root_path() -> None:
    async def mounted(scope, receive, send):  # type: ignore[no-untyped-def]
        await receive()
        await send({"type": "websocket.accept"})
        text = f"{scope['root_path']} {scope['path']}"
        await send({"type": "websocket.send", "text": text})
        await send({"type": "websocket.close", "code": 1000})

    app = MicroWeb()
    app.mount("/sub", mounted)

    with TestClient(app) as client, client.websocket_connect("/sub/x") as ws:
        assert ws.receive_text() == "/sub /sub/x"


def test_an_app_closing_before_accepting_is_a_403_as_servers_answer() -> None:
    async def closes(scope, receive, send):  # type: ignore[no-untyped-def]
        await receive()
        await send({"type": "websocket.close", "code": 1008})

    app = MicroWeb()
    app.mount("/closes", closes)

    with TestClient(app) as client, pytest.raises(WebSocketRejected) as refused:
        client.websocket_connect("/closes/x")

    assert (refused.value.status_code, refused.value.text) == (403, "")


def test_sockets_work_without_the_lifespan_and_with_http_requests_between() -> None:
    client = TestClient(ws_app)
    try:
        with client.websocket_connect("/echo") as first, client.websocket_connect("/echo") as other:
            first.send_text("1")
            assert client.post("/login/bob").status_code == 200
            other.send_text("2")
            assert (first.receive_text(), other.receive_text()) == ("1", "2")
    finally:
        client.close()


@pytest.mark.parametrize(
    ("listed", "sent"),
    [
        ("https://Partner.example:443", "https://partner.example"),
        ("https://partner.example/", "https://PARTNER.example:443"),
    ],
)
def test_a_trusted_origin_is_the_same_origin_however_it_is_written(listed: str, sent: str) -> None:
    app = MicroWeb(ws_origins=[listed])

    @app.ws("/origin")
    async def origin(c: Context, ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("in")

    with (
        TestClient(app) as client,
        client.websocket_connect("/origin", headers={"Origin": sent}) as ws,
    ):
        assert ws.receive_text() == "in"


def test_a_ws_origin_that_is_not_an_origin_is_refused_at_startup() -> None:
    with pytest.raises(
        ValueError, match=r"MicroWeb\(ws_origins=\): 'partner.example' is not an origin"
    ):
        MicroWeb(ws_origins=["partner.example"])
