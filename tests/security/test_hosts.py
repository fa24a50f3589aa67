"""The Host header, parsed in one place: a malformed one is a 400 before routing, for the
whole app; trusted_host() matches parsed names only."""

from __future__ import annotations

import asyncio

import pytest

from microweb import MicroWeb
from microweb.http_rules import parse_host
from microweb.middleware import https_redirect, trusted_host
from microweb.testing import TestClient

ATTACKS = [
    "evil.com/.example.com",
    "evil.com?.example.com",
    "evil.com#.example.com",
    "evil.com@a.example.com",
    "evil.com\\.example.com",
    "evil.com .example.com",
    "evil.com,a.example.com",
    "a.example.com:80:80",
    "a.example.com:99999",
    "a.example.com:8x",
    "[::1",
    "[evil]",
    "a..example.com",
    ".example.com",
]


@pytest.mark.parametrize("host", ATTACKS)
def test_a_malformed_host_is_refused_before_any_route_or_middleware_runs(host: str) -> None:
    ran = []
    app = MicroWeb()

    async def spy(c, next):
        ran.append(c.req.url)
        await next()

    app.use(spy)
    app.get("/", lambda c: c.req.url)

    with TestClient(app) as client:
        response = client.get("/", headers={"host": host})

    assert response.status_code == 400
    assert "Host" in response.text
    assert ran == []


@pytest.mark.parametrize("host", ATTACKS)
def test_trusted_host_wildcard_never_trusts_a_host_that_only_ends_like_it(host: str) -> None:
    app = MicroWeb()
    app.use(trusted_host(["*.example.com"]), https_redirect())
    app.get("/", lambda c: "ok")

    with TestClient(app, base_url="http://testserver") as client:
        response = client.get("/", headers={"host": host})

    assert response.status_code == 400
    assert "location" not in response.headers


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("a.example.com", 200),
        ("A.Example.COM.", 200),
        ("a.example.com:8443", 200),
        ("example.com", 400),
    ],
)
def test_trusted_host_matches_the_parsed_name(host: str, status: int) -> None:
    app = MicroWeb()
    app.use(trusted_host(["*.example.com"]))
    app.get("/", lambda c: "ok")

    with TestClient(app) as client:
        assert client.get("/", headers={"host": host}).status_code == status


def sent_by(app: MicroWeb, scope: dict, first: dict) -> list[dict]:
    """What `app` sends for `scope`, whose first received message is `first`."""
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return first

    asyncio.run(app(scope, receive, send))
    return sent


HTTP_BODY = {"type": "http.request", "body": b"", "more_body": False}


def test_two_host_headers_are_a_400() -> None:
    app = MicroWeb()
    app.get("/", lambda c: "ok")
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [(b"host", b"good.example"), (b"host", b"evil.example")],
        "scheme": "http",
    }
    sent = sent_by(app, scope, HTTP_BODY)

    assert sent[0]["status"] == 400


def test_a_websocket_handshake_with_a_malformed_host_is_refused() -> None:
    app = MicroWeb()

    @app.ws("/socket")
    async def socket(c, ws):
        await ws.accept()

    scope = {
        "type": "websocket",
        "path": "/socket",
        "raw_path": b"/socket",
        "query_string": b"",
        "headers": [(b"host", b"evil.com/.example.com")],
        "scheme": "ws",
        "extensions": {"websocket.http.response": {}},
    }
    sent = sent_by(app, scope, {"type": "websocket.connect"})

    assert sent[0]["type"] == "websocket.http.response.start"
    assert sent[0]["status"] == 400


def test_a_request_without_host_still_gets_an_answer() -> None:
    app = MicroWeb()
    app.get("/", lambda c: c.req.url)
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [],
        "scheme": "http",
        "server": ("10.0.0.1", 8000),
    }
    sent = sent_by(app, scope, HTTP_BODY)

    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b"http://10.0.0.1:8000/"


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("example.com", ("example.com", None)),
        ("Example.COM:8080", ("example.com", 8080)),
        ("example.com.", ("example.com", None)),
        ("[::1]:8000", ("[::1]", 8000)),
        ("[2001:DB8::1]", ("[2001:db8::1]", None)),
        ("127.0.0.1:80", ("127.0.0.1", 80)),
        ("my_host", ("my_host", None)),
        *[(attack, None) for attack in ATTACKS],
    ],
)
def test_parse_host(value: str, parsed: tuple[str, int | None] | None) -> None:
    assert parse_host(value) == parsed
