"""The same app, the same tests, on every server people run: uvicorn with httptools and
with h11, hypercorn and granian, each started for real on a free port
(tests/apps/matrix_app.py; the servers in tests/servers.py).

Where the servers differ, microweb answers the same: a guard's refusal of a WebSocket
handshake reaches the client with its status on all four (each implements the ASGI
`websocket.http.response` extension), and behind a proxy that strips a path prefix
(`--root-path` on uvicorn and hypercorn, `--url-path-prefix` on granian) routes and
mounted apps see the same paths although uvicorn puts root_path in front of the path
and the other two do not. docs/deploy.md ("Servers") says how to run each.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from ..servers import Server, serve

TARGET = "tests.apps.matrix_app:app"
SERVERS = ("uvicorn-httptools", "uvicorn-h11", "hypercorn", "granian")
# How each server is told the prefix a proxy in front of it strips.
ROOT_PATH_OPTION = {
    "uvicorn-httptools": ("--root-path", "/api"),
    "uvicorn-h11": ("--root-path", "/api"),
    "hypercorn": ("--root-path", "/api"),
    "granian": ("--url-path-prefix", "/api"),
}


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    with serve(TARGET, tmp_path_factory.mktemp(request.param), server=request.param) as running:
        yield running


@pytest.fixture(scope="module", params=SERVERS)
def proxied(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The app served as if behind a proxy that takes `/api` off every path."""
    name = request.param
    directory = tmp_path_factory.mktemp(f"{name}-proxied")
    with serve(TARGET, directory, extra_args=ROOT_PATH_OPTION[name], server=name) as running:
        yield running


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5) as client:
        yield client


def ws_url(server: Server, path: str) -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


def test_a_route_answers(http: httpx.Client):
    response = http.get("/")

    assert response.status_code == 200
    assert response.text == "Hello, World!"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_sse_through_compress_sends_each_event_before_the_next_exists(http: httpx.Client):
    stream_id = uuid.uuid4().hex
    headers = {"accept-encoding": "gzip"}

    with http.stream("GET", f"/events/{stream_id}", headers=headers) as response:
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["content-type"].startswith("text/event-stream")
        chunks = response.iter_text()
        # The second event waits for the release below: reading the first one here
        # proves it was neither held back in the compressor nor in the server.
        first = next(chunks)
        assert http.post(f"/release/{stream_id}").status_code == 200
        rest = "".join(chunks)

    assert first == "event: first\ndata: one\n\n"
    assert rest == "event: second\ndata: two\n\n"


def test_a_websocket_sees_the_user_signed_in_over_http(server: Server, http: httpx.Client):
    assert http.post("/login/alice").status_code == 200
    cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())

    with connect(ws_url(server, "/me"), additional_headers={"Cookie": cookie}) as ws:
        assert json.loads(ws.recv(timeout=5)) == {"user": "alice"}


@pytest.mark.parametrize(("path", "status"), [("/me", 401), ("/nowhere", 404)])
def test_a_refused_handshake_reaches_the_client_with_its_status(
    server: Server, path: str, status: int
):
    with pytest.raises(InvalidStatus) as refused, connect(ws_url(server, path)):
        pass

    assert refused.value.response.status_code == status


def test_body_limit_refuses_a_chunked_body_over_the_limit_with_413(http: httpx.Client):
    def chunks(count: int) -> Iterator[bytes]:
        for _ in range(count):
            yield b"x" * 512  # no Content-Length: sent chunked

    small = http.post("/upload", content=chunks(2))
    large = http.post("/upload", content=chunks(8))

    assert small.status_code == 200
    assert small.json() == {"bytes": 1024}
    assert large.status_code == 413
    assert "larger than 1024 bytes" in large.text


def test_a_mounted_app_gets_its_prefix_as_root_path(http: httpx.Client):
    response = http.get("/sub/a/b", params={"q": "1"})

    assert response.status_code == 200
    assert response.json() == {"root_path": "/sub", "path": "/sub/a/b"}


def test_behind_a_prefix_stripping_proxy_routes_see_their_own_paths(proxied: Server):
    with httpx.Client(base_url=proxied.url, timeout=5) as http:
        hello = http.get("/")
        mounted = http.get("/sub/a")

    assert hello.text == "Hello, World!"
    # The mounted app finds its own part of the path by taking root_path off.
    assert mounted.json() == {"root_path": "/api/sub", "path": "/api/sub/a"}


@pytest.mark.parametrize("name", SERVERS)
def test_lifespan_hooks_run_at_start_up_and_at_shutdown(name: str, tmp_path: Path):
    mark = tmp_path / "mark"

    with serve(TARGET, tmp_path, {"MATRIX_MARK": str(mark)}, server=name) as running:
        assert httpx.get(running.url + "/", timeout=5).status_code == 200
        assert mark.read_text() == "started\n"

    assert running.process.returncode is not None
    assert mark.read_text() == "started\nstopped\n"
