"""serve_static(): files under root only, conditional requests, ranges, precompressed
siblings, and big files streamed with bounded memory on a real uvicorn."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import brotli
import httpx
import pytest

from microweb import MicroWeb
from microweb.static import serve_static
from microweb.testing import TestClient

from .servers import serve

CSS = b"body { color: red; }\n" * 10


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "public"
    (root / "css").mkdir(parents=True)
    (root / "css" / "site.css").write_bytes(CSS)
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_text("<h1>docs</h1>")
    (root / "empty").mkdir()
    (root / "data.bin").write_bytes(bytes(range(256)) * 4)
    (root / "app.js").write_text("console.log(1)")
    (root / "app.js.br").write_bytes(brotli.compress(b"console.log(1)"))
    (root / "app.js.gz").write_bytes(gzip.compress(b"console.log(1)"))
    (tmp_path / "secret.txt").write_text("top secret")
    os.symlink(tmp_path / "secret.txt", root / "leak.txt")
    os.symlink(root / "css" / "site.css", root / "alias.css")
    return root


@pytest.fixture
def client(site: Path) -> TestClient:
    app = MicroWeb()
    app.get("/static/*", serve_static(root=site, cache_control="public, max-age=60"))
    return TestClient(app)


def test_a_file_is_served_with_its_type_and_validators(client: TestClient) -> None:
    response = client.get("/static/css/site.css")
    assert response.status_code == 200
    assert response.content == CSS
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert response.headers["content-length"] == str(len(CSS))
    assert response.headers["etag"].startswith('"')
    assert response.headers["last-modified"].endswith("GMT")
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["accept-ranges"] == "bytes"


def test_unknown_extensions_are_octet_stream(client: TestClient) -> None:
    assert client.get("/static/data.bin").headers["content-type"] == "application/octet-stream"


def test_directories_serve_their_index(client: TestClient) -> None:
    assert client.get("/static").text == "<h1>home</h1>"
    assert client.get("/static/").text == "<h1>home</h1>"
    assert client.get("/static/docs").text == "<h1>docs</h1>"
    assert client.get("/static/empty").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E%2Fsecret.txt",
        "/static/css/..%2f..%2fsecret.txt",
        "/static/..%5csecret.txt",
        "/static/css%5c..%5c..%5csecret.txt",
        "/static/%00secret.txt",
        "/static/css/site.css%00.png",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/leak.txt",
        "/static/missing.css",
    ],
)
def test_nothing_outside_root_is_ever_served(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "top secret" not in response.text
    assert "root:" not in response.text


def test_a_symlink_inside_root_is_served(client: TestClient) -> None:
    assert client.get("/static/alias.css").content == CSS


def test_if_none_match_and_if_modified_since_give_304(client: TestClient) -> None:
    first = client.get("/static/css/site.css")
    by_tag = client.get("/static/css/site.css", headers={"if-none-match": first.headers["etag"]})
    assert by_tag.status_code == 304
    assert by_tag.content == b""
    assert by_tag.headers["etag"] == first.headers["etag"]
    by_date = client.get(
        "/static/css/site.css", headers={"if-modified-since": first.headers["last-modified"]}
    )
    assert by_date.status_code == 304
    stale = client.get(
        "/static/css/site.css", headers={"if-modified-since": "Mon, 01 Jan 2001 00:00:00 GMT"}
    )
    assert stale.status_code == 200


@pytest.mark.parametrize(
    ("header", "status", "content_range", "body"),
    [
        ("bytes=0-0", 206, "bytes 0-0/1024", bytes([0])),
        ("bytes=1020-", 206, "bytes 1020-1023/1024", bytes([252, 253, 254, 255])),
        ("bytes=-2", 206, "bytes 1022-1023/1024", bytes([254, 255])),
        ("bytes=-5000", 206, "bytes 0-1023/1024", bytes(range(256)) * 4),
        ("bytes=1023-1023", 206, "bytes 1023-1023/1024", bytes([255])),
        ("bytes=1000-5000", 206, "bytes 1000-1023/1024", (bytes(range(256)) * 4)[1000:]),
        ("bytes=1024-", 416, "bytes */1024", None),
        ("bytes=-0", 416, "bytes */1024", None),
        ("bytes=5-2", 200, None, bytes(range(256)) * 4),
        ("bytes=abc", 200, None, bytes(range(256)) * 4),
        ("items=0-5", 200, None, bytes(range(256)) * 4),
        ("bytes=0-1,5-6", 200, None, bytes(range(256)) * 4),
    ],
)
def test_ranges(
    client: TestClient, header: str, status: int, content_range: str | None, body: bytes | None
) -> None:
    response = client.get("/static/data.bin", headers={"range": header})
    assert response.status_code == status
    assert response.headers.get("content-range") == content_range
    if body is not None:
        assert response.content == body
        assert response.headers["content-length"] == str(len(body))


def test_if_range_with_a_stale_tag_gives_the_whole_file(client: TestClient) -> None:
    tag = client.get("/static/data.bin").headers["etag"]
    fresh = client.get("/static/data.bin", headers={"range": "bytes=0-1", "if-range": tag})
    assert fresh.status_code == 206
    stale = client.get("/static/data.bin", headers={"range": "bytes=0-1", "if-range": '"old"'})
    assert stale.status_code == 200
    assert len(stale.content) == 1024


def test_head_has_the_headers_and_no_body(client: TestClient) -> None:
    response = client.head("/static/css/site.css")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(CSS))


def test_precompressed_siblings_follow_accept_encoding(client: TestClient) -> None:
    br = client.get("/static/app.js", headers={"accept-encoding": "gzip, br"})
    assert br.headers["content-encoding"] == "br"
    assert brotli.decompress(br.content) == b"console.log(1)"
    assert br.headers["content-type"] == "text/javascript; charset=utf-8"
    assert br.headers["vary"] == "Accept-Encoding"
    gz = client.get("/static/app.js", headers={"accept-encoding": "gzip, br;q=0.1"})
    assert gz.headers["content-encoding"] == "gzip"
    assert gz.headers["etag"] != br.headers["etag"]
    plain = client.get("/static/app.js")
    assert "content-encoding" not in plain.headers
    assert plain.text == "console.log(1)"
    assert plain.headers["vary"] == "Accept-Encoding"


def test_precompressed_can_be_turned_off(site: Path) -> None:
    app = MicroWeb()
    app.get("/s/*", serve_static(root=site, precompressed=False))
    response = TestClient(app).get("/s/app.js", headers={"accept-encoding": "br"})
    assert "content-encoding" not in response.headers
    assert "vary" not in response.headers


def test_a_missing_root_is_refused_at_startup(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory"):
        serve_static(root=tmp_path / "nope")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_big_file_streams_over_uvicorn_with_bounded_memory(tmp_path: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    size = 300 * 1024 * 1024
    with (root / "big.bin").open("wb") as f:
        f.truncate(size)  # sparse: no disk space, but every byte is read and sent
    with (
        serve("tests.apps.static_app:app", tmp_path, env={"STATIC_ROOT": str(root)}) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        assert http.get("/files/missing").status_code == 404
        before = rss_kib(server.process.pid)
        received = 0
        with http.stream("GET", "/files/big.bin") as response:
            assert response.status_code == 200
            assert response.headers["content-length"] == str(size)
            for chunk in response.iter_raw():
                received += len(chunk)
        after = rss_kib(server.process.pid)
    assert received == size
    assert after - before < 50 * 1024, f"RSS grew by {(after - before) // 1024} MiB"
