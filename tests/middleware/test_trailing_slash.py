"""trailing_slash(): a 404 redirected to the other form of the path."""

from __future__ import annotations

import asyncio

import pytest

from microweb import MicroWeb
from microweb.middleware import trailing_slash
from microweb.testing import TestClient, call_app


def slash_client(mode: str) -> TestClient:
    app = MicroWeb()
    app.use(trailing_slash(mode))
    app.get("/about", lambda c: "about")
    app.get("/docs/", lambda c: "docs")
    app.post("/form/", lambda c: "form")
    return TestClient(app)


def test_trim_redirects_a_404_to_the_path_without_the_slash() -> None:
    response = slash_client("trim").get("/about/?x=1")
    assert response.status_code == 301
    assert response.headers["location"] == "/about?x=1"


def test_trim_leaves_routes_that_exist() -> None:
    client = slash_client("trim")
    assert client.get("/docs/").text == "docs"
    assert client.get("/about").text == "about"


def test_append_redirects_a_404_to_the_path_with_the_slash() -> None:
    response = slash_client("append").get("/docs?page=2")
    assert response.status_code == 301
    assert response.headers["location"] == "/docs/?page=2"


def test_only_get_and_head_are_redirected() -> None:
    assert slash_client("append").post("/form").status_code == 404


def test_a_double_slash_never_becomes_a_host() -> None:
    response = slash_client("trim").get("//evil.example/")
    assert response.status_code == 301
    assert response.headers["location"] == "/evil.example"


def test_a_non_ascii_path_is_redirected_with_the_bytes_it_was_sent_with() -> None:
    app = MicroWeb()
    app.use(trailing_slash("trim"))

    # raw UTF-8 bytes in the path (as a server hands them over) and a byte that is no UTF-8
    response = asyncio.run(call_app(app, "GET", "/caf\u00e9/\u20ac/", query_string=b"q=\xff"))

    assert response.status_code == 301
    assert response.headers["location"] == "/caf%C3%A9/%E2%82%AC?q=%FF"


def test_a_bad_mode_is_refused_at_startup() -> None:
    with pytest.raises(ValueError, match="trim"):
        trailing_slash("strip")
