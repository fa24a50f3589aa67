"""End to end: examples/hello.py served by a real uvicorn process, spoken to over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from .servers import serve


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve("examples.hello:app", tmp_path_factory.mktemp("uvicorn")) as running:
        yield running.url


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
