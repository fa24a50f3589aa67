"""compress(): negotiation, what is skipped, ETags, and streams that are never held back."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import brotli
import httpx
import pytest
from backports import zstd

from microweb import MicroWeb
from microweb.http_rules import negotiate
from microweb.middleware import compress
from microweb.testing import TestClient

from ..servers import serve

BIG = {"items": [{"id": i, "name": f"item {i}"} for i in range(200)]}


def make(**options: object) -> TestClient:
    app = MicroWeb()
    app.use(compress(**options))  # type: ignore[arg-type]

    @app.get("/big")
    async def big(c):  # type: ignore[no-untyped-def]
        return c.json(BIG, headers={"etag": '"v1"'})

    @app.get("/small")
    async def small(c):  # type: ignore[no-untyped-def]
        return c.json({"a": 1})

    @app.get("/image")
    async def image(c):  # type: ignore[no-untyped-def]
        return c.body(b"\x89PNG" + b"\0" * 5000, headers={"content-type": "image/png"})

    @app.get("/no-transform")
    async def no_transform(c):  # type: ignore[no-untyped-def]
        return c.text("x" * 5000, headers={"cache-control": "no-transform"})

    @app.get("/encoded")
    async def encoded(c):  # type: ignore[no-untyped-def]
        return c.body(
            gzip.compress(b"x" * 5000),
            headers={"content-encoding": "gzip", "content-type": "text/plain"},
        )

    @app.get("/partial")
    async def partial(c):  # type: ignore[no-untyped-def]
        return c.text("x" * 5000, status=206)

    @app.get("/stream")
    async def stream(c):  # type: ignore[no-untyped-def]
        async def chunks() -> AsyncIterator[str]:
            for i in range(3):
                yield f"chunk {i}\n"

        return c.stream(chunks(), media_type="text/plain")

    return TestClient(app)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("gzip", "gzip"),
        ("gzip, deflate, br", "br"),
        ("gzip, br, zstd", "zstd"),
        ("br;q=0.5, gzip;q=0.9", "gzip"),
        ("zstd;q=0, br;q=0, gzip", "gzip"),
        ("*", "zstd"),
        ("*;q=0.1, gzip;q=0.5", "gzip"),
        ("identity", None),
        ("gzip;q=0", None),
        ("", None),
        ("deflate", None),
    ],
)
def test_negotiation_follows_q_values_then_our_order(accept: str, expected: str | None) -> None:
    assert negotiate(accept, ["zstd", "br", "gzip"]) == expected


@pytest.mark.parametrize(
    ("encoding", "decode"),
    [("gzip", gzip.decompress), ("br", brotli.decompress), ("zstd", zstd.decompress)],
)
def test_each_encoding_round_trips(encoding: str, decode: object) -> None:
    response = make().get("/big", headers={"accept-encoding": encoding})
    assert response.headers["content-encoding"] == encoding
    assert response.headers["vary"] == "Accept-Encoding"
    body = response.content
    assert json.loads(decode(body)) == BIG  # type: ignore[operator]
    assert int(response.headers["content-length"]) == len(body)


def test_a_strong_etag_becomes_weak() -> None:
    response = make().get("/big", headers={"accept-encoding": "gzip"})
    assert response.headers["etag"] == 'W/"v1"'


def test_only_offered_encodings_are_used() -> None:
    response = make(encodings=("gzip",)).get("/big", headers={"accept-encoding": "br, zstd"})
    assert "content-encoding" not in response.headers
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.json() == BIG


@pytest.mark.parametrize("path", ["/small", "/image", "/no-transform", "/partial"])
def test_skipped_answers_stay_as_they_were(path: str) -> None:
    response = make().get(path, headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in response.headers


def test_an_already_encoded_body_is_not_encoded_twice() -> None:
    response = make().get("/encoded", headers={"accept-encoding": "gzip"})
    assert response.headers.getall("content-encoding") == ["gzip"]


def test_head_is_not_compressed() -> None:
    response = make().head("/big", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in response.headers


def test_a_stream_is_compressed_chunk_by_chunk() -> None:
    response = make().get("/stream", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    body = response.content
    assert zlib.decompress(body, 31) == b"chunk 0\nchunk 1\nchunk 2\n"


def test_unknown_encodings_are_refused_at_startup() -> None:
    with pytest.raises(ValueError, match="unknown encoding"):
        compress(encodings=("deflate",))


def test_sse_events_reach_the_client_as_they_are_yielded(tmp_path: Path) -> None:
    """A real uvicorn: the first event is read and decompressed while the handler still
    waits to produce the second, which it does only when the test asks for it."""
    with serve("tests.apps.middleware_app:app", tmp_path) as server:
        decompressor = zlib.decompressobj(31)
        with (
            httpx.Client(base_url=server.url, timeout=10) as client,
            client.stream("GET", "/events", headers={"accept-encoding": "gzip"}) as response,
        ):
            assert response.headers["content-encoding"] == "gzip"
            chunks = response.iter_raw()
            text = ""
            while "first" not in text:
                text += decompressor.decompress(next(chunks)).decode()
            assert "second" not in text
            assert httpx.post(server.url + "/release", timeout=10).text == "released"
            while "second" not in text:
                text += decompressor.decompress(next(chunks)).decode()
        assert text.startswith("event: tick\ndata: first\n\n")
        assert "event: tick\ndata: second\n\n" in text
