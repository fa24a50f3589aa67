"""serve_static(): files under root only, conditional requests, ranges, precompressed
siblings, and big files streamed with bounded memory on a real uvicorn."""

from __future__ import annotations

import asyncio
import gzip
import os
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest

from microweb import HTTPException, MicroWeb
from microweb.context import Context
from microweb.response import Response
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


@pytest.fixture
def dotted(site: Path) -> Path:
    (site / ".env").write_text("SECRET=1")
    (site / ".git").mkdir()
    (site / ".git" / "config").write_text("[core]")
    (site / "css" / ".hidden.css").write_text("hidden")
    (site / ".well-known").mkdir()
    (site / ".well-known" / "security.txt").write_text("Contact: x")
    os.symlink(site / ".env", site / "env.txt")
    os.symlink(site / ".git", site / "repo")
    return site


@pytest.mark.parametrize(
    "path",
    [
        "/static/.env",
        "/static/%2eenv",
        "/static/%2Eenv",
        "/static/.git/config",
        "/static/.git/",
        "/static/css/.hidden.css",
        "/static/css/../.env",
        "/static/.well-known/security.txt",
        "/static/env.txt",  # a symlink to a dotfile
        "/static/repo/config",  # a symlink to a dot directory
    ],
)
def test_dotfiles_are_404_by_default(dotted: Path, client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert "SECRET" not in response.text
    assert "[core]" not in response.text


def test_dotfiles_are_served_when_asked_for(dotted: Path) -> None:
    app = MicroWeb()
    app.get("/static/*", serve_static(root=dotted, dotfiles=True))
    client = TestClient(app)

    assert client.get("/static/.env").text == "SECRET=1"
    assert client.get("/static/.well-known/security.txt").text == "Contact: x"
    assert client.get("/static/env.txt").text == "SECRET=1"
    assert client.get("/static/../secret.txt").status_code == 404


def test_a_root_inside_a_dot_directory_still_serves(tmp_path: Path) -> None:
    root = tmp_path / ".venv" / "site"
    root.mkdir(parents=True)
    (root / "a.txt").write_text("a")
    app = MicroWeb()
    app.get("/static/*", serve_static(root=root))

    assert TestClient(app).get("/static/a.txt").text == "a"


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
    check_range(client, header, status, content_range, body)


def check_range(
    client: TestClient, header: str, status: int, content_range: str | None, body: bytes | None
) -> None:
    """GET data.bin with `Range: header`: the status, Content-Range and body expected."""
    response = client.get("/static/data.bin", headers={"range": header})
    assert response.status_code == status
    assert response.headers.get("content-range") == content_range
    if body is not None:
        assert response.content == body
        assert response.headers["content-length"] == str(len(body))


WHOLE = bytes(range(256)) * 4


@pytest.mark.parametrize(
    ("header", "status", "content_range", "body"),
    [
        ("bytes=\xb2-", 200, None, WHOLE),  # superscript two: str.isdigit() says yes
        ("bytes=-\xb9", 200, None, WHOLE),  # superscript one
        ("bytes=0-\xb3", 200, None, WHOLE),  # superscript three
        ("bytes=-" + "9" * 5000, 206, "bytes 0-1023/1024", WHOLE),  # past int()'s 4300 digits
        ("bytes=" + "9" * 5000 + "-", 416, "bytes */1024", None),
        ("bytes=0-" + "9" * 5000, 206, "bytes 0-1023/1024", WHOLE),
        ("bytes=" + "0" * 5000 + "1-" + "0" * 5000 + "2", 206, "bytes 1-2/1024", WHOLE[1:3]),
        ("Bytes=0-0", 206, "bytes 0-0/1024", WHOLE[:1]),
        ("bytes=-", 200, None, WHOLE),
        ("bytes=--1", 200, None, WHOLE),
        ("bytes=+1-2", 200, None, WHOLE),
        ("bytes=1_0-2_0", 200, None, WHOLE),
    ],
)
def test_range_positions_are_ascii_digits_of_any_length(
    client: TestClient, header: str, status: int, content_range: str | None, body: bytes | None
) -> None:
    check_range(client, header, status, content_range, body)


@pytest.mark.parametrize("header", ["bytes=-5", "bytes=0-", "bytes=0-0", "bytes=-0", "bytes=5-"])
def test_a_range_on_an_empty_file_answers_200_with_the_empty_file(
    site: Path, client: TestClient, header: str
) -> None:
    (site / "empty.txt").write_bytes(b"")

    response = client.get("/static/empty.txt", headers={"range": header})

    assert (response.status_code, response.content) == (200, b"")
    assert "content-range" not in response.headers
    assert response.headers["content-length"] == "0"


@pytest.mark.parametrize(
    "header",
    [
        "bytes=" + ",".join(f"{i}-{i}" for i in range(10_000)),  # CVE-2025-62727's shape
        "bytes=" + ",".join("0-1023" for _ in range(10_000)),  # overlapping
        "bytes=" + ",".join(f"{1023 - i}-{i}" for i in range(1000)),  # inverted
        "bytes=0-1," + "-" * 20_000,
    ],
)
def test_many_overlapping_or_inverted_ranges_get_the_whole_file(
    client: TestClient, header: str
) -> None:
    response = client.get("/static/data.bin", headers={"range": header})

    assert (response.status_code, response.content) == (200, WHOLE)
    assert "content-range" not in response.headers


@pytest.mark.parametrize(
    "date",
    ["Mon, 01 Jan 99999999999 00:00:00 GMT", "Mon, 99 Jan 2001 00:00:00 GMT", "\xb2", ""],
)
def test_an_impossible_date_in_if_modified_since_or_if_range_is_ignored(
    client: TestClient, date: str
) -> None:
    since = client.get("/static/data.bin", headers={"if-modified-since": date})
    if_range = client.get("/static/data.bin", headers={"range": "bytes=0-0", "if-range": date})

    assert (since.status_code, since.content) == (200, WHOLE)
    assert (if_range.status_code, if_range.content) == (200, WHOLE)


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


def test_a_precompressed_sibling_that_leads_out_of_root_is_never_served(
    site: Path, client: TestClient
) -> None:
    (site.parent / "outside.gz").write_bytes(gzip.compress(b"top secret"))
    (site / "page.txt").write_text("page")
    os.symlink(site.parent / "outside.gz", site / "page.txt.gz")

    response = client.get("/static/page.txt", headers={"accept-encoding": "gzip"})

    assert (response.status_code, response.text) == (200, "page")
    assert "content-encoding" not in response.headers


def test_a_precompressed_sibling_that_is_a_dotfile_is_never_served(
    site: Path, client: TestClient
) -> None:
    (site / ".hidden.gz").write_bytes(gzip.compress(b"hidden"))
    (site / "note.txt").write_text("note")
    os.symlink(site / ".hidden.gz", site / "note.txt.gz")

    response = client.get("/static/note.txt", headers={"accept-encoding": "gzip"})

    assert (response.status_code, response.text) == (200, "note")
    assert "content-encoding" not in response.headers


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


@pytest.mark.parametrize("path", ["/static/app.js", "/static/css/site.css", "/static/missing.css"])
def test_a_small_file_costs_one_thread_hop(
    client: TestClient, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    hops: list[object] = []
    real = asyncio.to_thread

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(fn)
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    response = client.get(path, headers={"accept-encoding": "br, gzip"})
    assert response.status_code in (200, 404)
    assert len(hops) == 1


def test_a_range_past_the_end_reaches_the_apps_error_handler(site: Path) -> None:
    app = MicroWeb()
    app.get("/static/*", serve_static(root=site))

    @app.on_error
    async def on_error(err: Exception, c: Context) -> Response:
        assert isinstance(err, HTTPException)
        return c.text(f"seen: {err.status}", status=err.status, headers=err.headers)

    response = TestClient(app).get("/static/data.bin", headers={"range": "bytes=5000-"})
    assert (response.status_code, response.text) == (416, "seen: 416")
    assert response.headers["content-range"] == "bytes */1024"


def test_a_304_keeps_only_the_cache_headers(client: TestClient) -> None:
    first = client.get("/static/app.js", headers={"accept-encoding": "br"})
    again = client.get(
        "/static/app.js", headers={"accept-encoding": "br", "if-none-match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert sorted(again.headers) == ["cache-control", "etag", "vary"]
