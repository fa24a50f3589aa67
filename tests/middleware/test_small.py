"""pretty_json(), trailing_slash() and timeout()."""

from __future__ import annotations

import asyncio
import time

import pytest

from microweb import MicroWeb
from microweb.middleware import pretty_json, timeout, trailing_slash
from microweb.testing import TestClient, call_app

# -- pretty_json -----------------------------------------------------------------------


def pretty_client() -> TestClient:
    app = MicroWeb()
    app.use(pretty_json())
    app.get("/data", lambda c: {"a": [1, 2], "b": "é"})
    app.get("/text", lambda c: "plain")
    return TestClient(app)


def test_pretty_query_indents_json() -> None:
    response = pretty_client().get("/data?pretty")
    assert response.text == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": "é"\n}'
    assert int(response.headers["content-length"]) == len(response.content)


def test_without_the_query_json_stays_compact() -> None:
    assert pretty_client().get("/data").text == '{"a":[1,2],"b":"é"}'


def test_pretty_leaves_other_types_alone() -> None:
    assert pretty_client().get("/text?pretty").text == "plain"


# -- trailing_slash --------------------------------------------------------------------


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


# -- timeout ---------------------------------------------------------------------------


def test_a_slow_handler_is_cancelled_and_the_client_gets_504() -> None:
    app = MicroWeb()
    app.use(timeout(0.05))
    events: list[str] = []

    @app.get("/slow")
    async def slow(c):  # type: ignore[no-untyped-def]
        try:
            await asyncio.sleep(5)
            events.append("finished")
        except asyncio.CancelledError:
            events.append("cancelled")
            raise
        return "late"

    client = TestClient(app)
    started = time.monotonic()
    response = client.get("/slow")
    assert response.status_code == 504
    assert "longer than 0.05 s" in response.text
    assert events == ["cancelled"]
    time.sleep(0.1)
    assert events == ["cancelled"]
    assert time.monotonic() - started < 4  # it did not wait for the handler


def test_a_quick_handler_is_untouched() -> None:
    app = MicroWeb()
    app.use(timeout(5, status=503))
    app.get("/", lambda c: "quick")
    assert TestClient(app).get("/").text == "quick"


def test_timeout_options_are_checked() -> None:
    with pytest.raises(ValueError):
        timeout(0)
    with pytest.raises(ValueError):
        timeout(1, status=200)
