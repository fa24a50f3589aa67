"""Clients that hang up: mid-body and mid-stream, against a real uvicorn.

Raw sockets, so the disconnect is exactly where the test puts it. Half of the
hang-ups are a plain close (FIN), half an abortive one (RST, SO_LINGER 0).
After each: the endless generator's `finally` has run, the server answers the
next request, its stderr holds no traceback or error line, and after many
hang-ups neither its memory nor its asyncio task count has grown.
"""

from __future__ import annotations

import json
import socket
import struct
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from ..conftest import free_port
from .conftest import UvicornServer, error_lines

REPEAT = 50
MAX_RSS_GROWTH_KB = 10 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UvicornServer]:
    server = UvicornServer(free_port(), tmp_path_factory.mktemp("disconnects"), {})
    try:
        yield server.start()
    finally:
        server.stop()


def _get(server: UvicornServer, path: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(server.url + path, timeout=3) as response:
        return response.status, response.read()


def counters(server: UvicornServer) -> dict[str, Any]:
    status, body = _get(server, "/counters")
    assert status == 200
    data: dict[str, Any] = json.loads(body)
    return data


def _close(sock: socket.socket, reset: bool) -> None:
    if reset:  # abortive close: the peer sees a RST, not a FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def abort_upload(server: UvicornServer, reset: bool) -> None:
    """Send headers announcing 1,000,000 bytes, then 10,000 of them, then hang up."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=3)
    head = (
        "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n"
    )
    sock.sendall(head.encode() + b"x" * 10_000)
    time.sleep(0.005)  # let the handler start reading
    _close(sock, reset)


def abort_stream(server: UvicornServer, path: str, reset: bool, chunks: int = 3) -> bytes:
    """GET an endless stream, read `chunks` chunks of it, then hang up."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=3)
    try:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        data = b""
        while data.count(b"chunk ") < chunks:
            more = sock.recv(65536)
            assert more, f"the server closed {path} first: {data!r}"
            data += more
        return data
    finally:
        _close(sock, reset)


def wait_for(server: UvicornServer, done: Any, timeout: float = 5) -> dict[str, Any]:
    """Poll /counters until `done(counters)` is true; return them."""
    deadline = time.monotonic() + timeout
    while True:
        now = counters(server)
        if done(now):
            return now
        assert time.monotonic() < deadline, f"still {now}"
        time.sleep(0.01)


def assert_quiet(server: UvicornServer) -> None:
    """The server answers and has logged no traceback or error line."""
    assert _get(server, "/health") == (200, b"ok")
    stderr = server.stderr_text()
    assert "Traceback" not in stderr, stderr[-3000:]
    assert not error_lines(stderr), stderr[-3000:]


def test_client_gone_mid_body_is_a_quiet_400_each_time(server: UvicornServer) -> None:
    before = counters(server)
    for i in range(REPEAT):
        abort_upload(server, reset=i % 2 == 1)
    start, aborted = before.get("upload_started", 0), before.get("upload_aborted", 0)
    wait_for(
        server,
        lambda c: (
            c.get("upload_started", 0) == start + REPEAT
            and c.get("upload_aborted", 0) == aborted + REPEAT
        ),
    )
    assert_quiet(server)


@pytest.mark.parametrize("path", ["/stream", "/sse"])
def test_client_gone_mid_stream_runs_the_generators_finally(
    server: UvicornServer, path: str
) -> None:
    kind = path.strip("/")
    for i in range(REPEAT):
        data = abort_stream(server, path, reset=i % 2 == 1)
        assert data.startswith(b"HTTP/1.1 200 OK\r\n")
        # Each stream is stopped (its finally ran) before the next one starts.
        wait_for(server, lambda c: c.get(f"{kind}_finished", 0) == c[f"{kind}_started"])
    assert_quiet(server)


def test_many_disconnects_leak_no_memory_and_no_tasks(server: UvicornServer) -> None:
    def hang_ups(n: int) -> None:
        for i in range(n):
            abort_stream(server, "/stream", reset=i % 2 == 0)
            abort_stream(server, "/sse", reset=i % 2 == 1)
            abort_upload(server, reset=i % 2 == 0)
        wait_for(
            server,
            lambda c: (
                c["stream_finished"] == c["stream_started"]
                and c["sse_finished"] == c["sse_started"]
                and c["upload_aborted"] == c["upload_started"]
            ),
        )

    hang_ups(10)  # warm up: allocator arenas, buffers, code paths
    tasks = counters(server)["tasks"]
    rss, threads = server.rss_kb(), server.threads()

    hang_ups(REPEAT)
    # Every connection's task is gone once the server has noticed the hang-ups.
    settled = wait_for(server, lambda c: c["tasks"] <= tasks)
    growth = server.rss_kb() - rss
    print(
        f"\n{3 * REPEAT} disconnects: RSS {rss} -> {rss + growth} kB "
        f"(+{growth} kB), tasks {tasks} -> {settled['tasks']}, threads {threads}"
    )
    assert growth < MAX_RSS_GROWTH_KB
    assert server.threads() == threads
    assert_quiet(server)
