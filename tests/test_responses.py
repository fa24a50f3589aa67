"""The response helpers of `c`: text, json, html, body, redirect, not_found, stream, sse."""

from __future__ import annotations

import asyncio

import pytest

from microweb import MicroWeb


async def _asgi_messages(app, path):
    """Call `app` over raw ASGI and return every message it sent."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    sent = []
    finished = asyncio.Event()

    async def receive():
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            finished.set()

    await app(scope, receive, send)
    return sent


# -- text / json / html / body ---------------------------------------------------------


def test_text_sends_plain_text_with_status_and_headers(app, client):
    app.get("/", lambda c: c.text("caf\u00e9", 201, {"x-one": "1"}))

    response = client.get("/")

    assert response.status_code == 201
    assert response.text == "caf\u00e9"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-one"] == "1"


def test_json_sends_compact_utf8_json(app, client):
    app.get("/", lambda c: c.json({"name": "\u00e9", "list": [1, 2]}, 202))

    response = client.get("/")

    assert response.status_code == 202
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"name": "\u00e9", "list": [1, 2]}


def test_json_accepts_top_level_lists_and_scalars(app, client):
    app.get("/list", lambda c: c.json([1, 2]))
    app.get("/null", lambda c: c.json(None))

    assert client.get("/list").json() == [1, 2]
    assert client.get("/null").json() is None


def test_html_sends_text_html(app, client):
    app.get("/", lambda c: c.html("<h1>Hi</h1>"))

    response = client.get("/")

    assert response.text == "<h1>Hi</h1>"
    assert response.headers["content-type"] == "text/html; charset=utf-8"


def test_body_sends_bytes_as_octet_stream(app, client):
    app.get("/", lambda c: c.body(b"\x89PNG"))

    response = client.get("/")

    assert response.content == b"\x89PNG"
    assert response.headers["content-type"] == "application/octet-stream"


def test_body_content_type_can_be_set_by_headers(app, client):
    app.get("/", lambda c: c.body(b"\x89PNG", headers={"content-type": "image/png"}))

    assert client.get("/").headers.getall("content-type") == ["image/png"]


def test_body_with_no_data_sends_an_empty_body(app, client):
    app.get("/", lambda c: c.body(None, 204))

    response = client.get("/")

    assert response.status_code == 204
    assert response.content == b""


# -- redirect ----------------------------------------------------------------------------


def test_redirect_defaults_to_302_with_location(app, client):
    app.get("/old", lambda c: c.redirect("/new"))

    response = client.get("/old")

    assert response.status_code == 302
    assert response.headers["location"] == "/new"


def test_redirect_takes_a_custom_status(app, client):
    app.get("/old", lambda c: c.redirect("https://example.com/", 301))

    response = client.get("/old")

    assert response.status_code == 301
    assert response.headers["location"] == "https://example.com/"


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("/files/\u20ac", "/files/%E2%82%AC"),
        ("/caf\u00e9?q=a b&r=\u00fc#top", "/caf%C3%A9?q=a%20b&r=%C3%BC#top"),
        ("/x\r\nSet-Cookie: a=b", "/x%0D%0ASet-Cookie:%20a=b"),
        ("/\\evil.example", "/%5Cevil.example"),
        ("/a%2Fb?next=%2Fhome", "/a%2Fb?next=%2Fhome"),
        ("https://example.com/\U0001f600", "https://example.com/%F0%9F%98%80"),
        ("/lone\ud800", "/lone%ED%A0%80"),
    ],
)
def test_redirect_percent_encodes_its_location(app, client, url, location):
    app.get("/old", lambda c: c.redirect(url))

    response = client.get("/old")

    assert response.status_code == 302
    assert response.headers["location"] == location
    assert "set-cookie" not in response.headers


def test_redirect_with_a_non_3xx_status_is_an_error(app, client):
    app.get("/old", lambda c: c.redirect("/new", 200))

    assert client.get("/old").status_code == 500


# -- not_found ---------------------------------------------------------------------------


def test_not_found_gives_the_default_404(app, client):
    app.get("/item/:id", lambda c: c.not_found())

    response = client.get("/item/1")

    assert response.status_code == 404


def test_not_found_uses_the_custom_not_found_handler(app, client):
    @app.not_found
    async def missing(c):
        return c.json({"error": "no such thing", "path": c.req.path}, 404)

    app.get("/item/:id", lambda c: c.not_found())

    response = client.get("/item/1")

    assert response.status_code == 404
    assert response.json() == {"error": "no such thing", "path": "/item/1"}


def test_not_found_handler_answering_c_not_found_gives_the_default_404(app, client):
    app.not_found(lambda c: c.not_found())

    response = client.get("/ghost")

    assert (response.status_code, response.text) == (404, "404 Not Found")


def test_not_found_returned_inside_some_uses_the_custom_not_found_handler(app, client):
    from microweb.middleware import some

    @app.not_found
    async def missing(c):
        return c.text("custom 404", 404)

    app.use(some(lambda c: c.not_found()))
    app.get("/", lambda c: "never")

    response = client.get("/")

    assert (response.status_code, response.text) == (404, "custom 404")


# -- stream --------------------------------------------------------------------------------


def test_stream_sends_every_chunk_in_order(app, client):
    async def chunks():
        yield "one,"
        yield b"two,"
        yield "three"

    app.get("/", lambda c: c.stream(chunks(), media_type="text/plain"))

    response = client.get("/")

    assert response.text == "one,two,three"
    assert response.headers["content-type"] == "text/plain"


def test_stream_sends_each_chunk_as_its_own_message():
    app = MicroWeb()

    async def chunks():
        for part in ("a", "b", "c"):
            await asyncio.sleep(0)
            yield part

    app.get("/", lambda c: c.stream(chunks()))

    messages = asyncio.run(_asgi_messages(app, "/"))

    bodies = [m["body"] for m in messages if m["type"] == "http.response.body"]
    assert [b for b in bodies if b] == [b"a", b"b", b"c"]
    assert messages[0]["status"] == 200
    assert not messages[-1].get("more_body", False)


def test_stream_keeps_status_and_headers(app, client):
    async def chunks():
        yield "x"

    app.get("/", lambda c: c.stream(chunks(), 206, {"x-stream": "1"}))

    response = client.get("/")

    assert response.status_code == 206
    assert response.headers["x-stream"] == "1"


# -- sse -----------------------------------------------------------------------------------


def test_sse_formats_string_events_as_data(app, client):
    async def events():
        yield "hello"
        yield "world"

    app.get("/events", lambda c: c.sse(events()))

    response = client.get("/events")

    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.text == "data: hello\n\ndata: world\n\n"


def test_sse_formats_event_id_and_data_fields(app, client):
    async def events():
        yield {"event": "tick", "data": "1", "id": "7"}

    app.get("/events", lambda c: c.sse(events()))

    text = client.get("/events").text

    assert text.endswith("\n\n")
    lines = text.strip("\n").split("\n")
    assert sorted(lines) == ["data: 1", "event: tick", "id: 7"]
    assert lines[-1] == "data: 1"


def test_sse_splits_multiline_data_into_data_lines(app, client):
    async def events():
        yield {"data": "line one\nline two"}

    app.get("/events", lambda c: c.sse(events()))

    assert client.get("/events").text == "data: line one\ndata: line two\n\n"


def test_sse_encodes_structured_data_as_json(app, client):
    async def events():
        yield {"event": "update", "data": {"n": 1}}

    app.get("/events", lambda c: c.sse(events()))

    assert client.get("/events").text == 'event: update\ndata: {"n":1}\n\n'


def test_sse_events_arrive_in_order():
    app = MicroWeb()

    async def events():
        for n in range(3):
            yield {"id": str(n), "data": f"event {n}"}

    app.get("/", lambda c: c.sse(events()))

    messages = asyncio.run(_asgi_messages(app, "/"))

    bodies = [m["body"] for m in messages if m["type"] == "http.response.body" and m["body"]]
    assert bodies == [f"id: {n}\ndata: event {n}\n\n".encode() for n in range(3)]
