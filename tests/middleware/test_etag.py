"""etag(): tags on bodies, 304 with only RFC 9110's headers, streams never hashed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from microweb import MicroWeb
from microweb.middleware import etag
from microweb.testing import TestClient


def make(weak: bool = False) -> tuple[TestClient, list[int]]:
    app = MicroWeb()
    app.use(etag(weak=weak))
    produced: list[int] = []

    @app.get("/doc")
    async def doc(c):  # type: ignore[no-untyped-def]
        return c.text(
            "hello",
            headers={"cache-control": "max-age=60", "x-extra": "dropped on 304", "vary": "Cookie"},
        )

    @app.get("/own")
    async def own(c):  # type: ignore[no-untyped-def]
        return c.text("body", headers={"etag": '"custom"'})

    @app.post("/doc")
    async def post(c):  # type: ignore[no-untyped-def]
        return "posted"

    @app.get("/missing")
    async def missing(c):  # type: ignore[no-untyped-def]
        return c.text("nope", status=404)

    @app.get("/endless")
    async def endless(c):  # type: ignore[no-untyped-def]
        async def events() -> AsyncIterator[str]:
            for i in range(1_000_000):
                produced.append(i)
                yield f"data: {i}\n\n"
                await asyncio.sleep(0)
                if i == 2:
                    return  # the test client reads to the end; stop early

        return c.stream(events(), media_type="text/event-stream")

    return TestClient(app), produced


def test_a_body_gets_a_strong_etag_and_the_same_body_the_same_tag() -> None:
    client, _ = make()
    first, second = client.get("/doc"), client.get("/doc")
    assert first.headers["etag"].startswith('"')
    assert first.headers["etag"] == second.headers["etag"]


def test_weak_option_prefixes_w() -> None:
    client, _ = make(weak=True)
    assert client.get("/doc").headers["etag"].startswith('W/"')


@pytest.mark.parametrize("form", ["{tag}", "W/{tag}", '"other", {tag}', "*"])
def test_matching_if_none_match_gives_304_with_only_the_listed_headers(form: str) -> None:
    client, _ = make()
    tag = client.get("/doc").headers["etag"]
    response = client.get("/doc", headers={"if-none-match": form.format(tag=tag)})
    assert response.status_code == 304
    assert response.content == b""
    assert sorted(response.headers.keys()) == ["cache-control", "etag", "vary"]
    assert response.headers["etag"] == tag


def test_a_different_tag_gives_the_body() -> None:
    client, _ = make()
    response = client.get("/doc", headers={"if-none-match": '"stale"'})
    assert response.status_code == 200
    assert response.text == "hello"


def test_a_handler_set_etag_is_kept_and_matched() -> None:
    client, _ = make()
    assert client.get("/own").headers["etag"] == '"custom"'
    assert client.get("/own", headers={"if-none-match": '"custom"'}).status_code == 304


def test_no_etag_on_post_or_errors() -> None:
    client, _ = make()
    assert "etag" not in client.post("/doc").headers
    assert "etag" not in client.get("/missing").headers


def test_a_stream_is_not_hashed_nor_read_by_the_middleware() -> None:
    client, produced = make()
    response = client.get("/endless")
    assert "etag" not in response.headers
    assert response.text.startswith("data: 0\n\n")
    assert produced == [0, 1, 2]
