"""End to end: examples/hello.py served by a real uvicorn process, spoken to over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "examples.hello:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                _, err = process.communicate()
                pytest.fail(f"uvicorn exited with {process.returncode}: {err.decode()}")
            try:
                httpx.get(base_url + "/", timeout=0.5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail("uvicorn did not answer within 15 s")
                time.sleep(0.05)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def http(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=5) as client:
        yield client


def test_index_says_hello(http):
    response = http.get("/")

    assert response.status_code == 200
    assert response.text == "Hello, World!"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["server-timing"].startswith("app;dur=")


def test_user_route_reads_param_and_query(http):
    response = http.get("/users/42", params={"name": "x"})

    assert response.status_code == 200
    assert response.json() == {"id": 42, "name": "x"}


def test_user_route_defaults_the_name(http):
    assert http.get("/users/7").json() == {"id": 7, "name": "anonymous"}


def test_echo_returns_the_posted_json_with_201(http):
    response = http.post("/echo", json={"hello": ["w", "o", "r", "l", "d"], "n": 1.5})

    assert response.status_code == 201
    assert response.json() == {"hello": ["w", "o", "r", "l", "d"], "n": 1.5}


def test_unknown_path_is_a_404(http):
    assert http.get("/does/not/exist").status_code == 404


def test_user_route_with_a_non_numeric_id_is_a_404(http):
    assert http.get("/users/abc").status_code == 404


def test_malformed_json_post_is_a_400(http):
    response = http.post(
        "/echo", content=b'{"broken": ', headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert "Malformed JSON" in response.text


def test_head_has_headers_and_no_body(http):
    get = http.get("/")
    head = http.head("/")

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"] == "13"
    assert head.headers["content-type"] == get.headers["content-type"]


def test_wrong_method_is_a_405_with_allow(http):
    response = http.delete("/echo")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_percent_encoded_path_reaches_the_route(http):
    assert http.get("/users/%34%32").json() == {"id": 42, "name": "anonymous"}
