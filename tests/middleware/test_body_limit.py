"""body_limit(): counted on the bytes received, before the handler, mounted apps included."""

from __future__ import annotations

import asyncio

import pytest

from microweb import MicroWeb
from microweb.context import Context
from microweb.middleware import body_limit
from microweb.response import Response
from microweb.testing import TestClient

from ..servers import raw_request, serve
from .conftest import MwClient


def make(limit: int = 10, **options: object) -> tuple[TestClient, list[str]]:
    app = MicroWeb()
    ran: list[str] = []
    app.use(body_limit(limit, **options))  # type: ignore[arg-type]

    @app.post("/")
    async def handler(c):  # type: ignore[no-untyped-def]
        ran.append("handler")
        return c.text(f"got {len(await c.req.body())}")

    return TestClient(app), ran


def test_a_body_within_the_limit_reaches_the_handler() -> None:
    client, ran = make()
    assert client.post("/", content=b"x" * 10).text == "got 10"
    assert ran == ["handler"]


def test_a_body_over_the_limit_is_413_and_the_handler_never_runs() -> None:
    client, ran = make()
    response = client.post("/", content=b"x" * 11)
    assert response.status_code == 413
    assert response.text == "Request body is larger than 10 bytes"
    assert ran == []


def test_on_error_answers_instead() -> None:
    client, _ = make(on_error=lambda c: c.text("too big, sorry", status=413))
    assert client.post("/", content=b"x" * 50).text == "too big, sorry"


def test_bad_limits_are_refused_at_startup() -> None:
    for bad in (-1, 1.5, "10", True):
        with pytest.raises(ValueError, match="max_size"):
            body_limit(bad)  # type: ignore[arg-type]


def head(path: str, extra: str) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n".encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with serve("tests.apps.middleware_app:limited", tmp_path_factory.mktemp("limit")) as s:
        yield s


def test_chunked_body_over_the_limit_is_413_over_http(server) -> None:  # type: ignore[no-untyped-def]
    chunk = b"x" * 600
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3)) + b"0\r\n\r\n"
    answer = raw_request(server.port, head("/upload", "Transfer-Encoding: chunked\r\n") + body)
    assert answer.startswith(b"HTTP/1.1 413")


def test_chunked_body_within_the_limit_passes_over_http(server) -> None:  # type: ignore[no-untyped-def]
    body = b"200\r\n" + b"x" * 512 + b"\r\n0\r\n\r\n"
    answer = raw_request(server.port, head("/upload", "Transfer-Encoding: chunked\r\n") + body)
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b'{"size":512}')


def test_a_content_length_over_the_limit_is_refused_unread(server) -> None:  # type: ignore[no-untyped-def]
    answer = raw_request(server.port, head("/upload", "Content-Length: 5000\r\n"))
    assert answer.startswith(b"HTTP/1.1 413")


def test_a_mounted_app_is_limited_too(server) -> None:  # type: ignore[no-untyped-def]
    small = raw_request(server.port, head("/mounted/x", "Content-Length: 100\r\n") + b"y" * 100)
    assert small.startswith(b"HTTP/1.1 200")
    assert b"mounted got 100" in small
    chunk = b"y" * 2000
    big = b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk)
    answer = raw_request(server.port, head("/mounted/x", "Transfer-Encoding: chunked\r\n") + big)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"mounted got" not in answer


def test_in_process_mount_sees_the_counted_body() -> None:
    app = MicroWeb()
    app.use(body_limit(5))
    seen: list[bytes] = []

    async def asgi(scope, receive, send):  # type: ignore[no-untyped-def]
        message = await receive()
        seen.append(message["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app.mount("/m", asgi)
    client = TestClient(app)
    assert client.post("/m/a", content=b"12345").text == "ok"
    assert client.post("/m/a", content=b"123456").status_code == 413
    assert seen == [b"12345"]


def test_a_lying_content_length_does_not_get_more_past_the_limit() -> None:
    """Content-Length claims 5 bytes and 50 arrive (a server that does not enforce framing):
    the bytes received are what counts."""
    client, ran = make()
    response = client.post("/", content=b"z" * 50, headers={"content-length": "5"})
    assert response.status_code == 413
    assert ran == []


async def too_big(c: Context) -> Response:
    await asyncio.sleep(0)
    return c.text("too big, said asynchronously", status=413)


def test_an_async_on_error_is_awaited(mw_client: MwClient) -> None:
    response = mw_client(body_limit(4, on_error=too_big)).post("/", content=b"0123456789")
    assert (response.status_code, response.text) == (413, "too big, said asynchronously")
