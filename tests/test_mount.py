"""app.mount: handing a subtree to another ASGI app (Starlette, a bare ASGI callable)."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from microweb import MicroWeb


def _starlette_app():
    async def hello(request: StarletteRequest):
        return PlainTextResponse("hello from starlette")

    async def item(request: StarletteRequest):
        return JSONResponse(
            {
                "id": request.path_params["id"],
                "q": request.query_params.get("q"),
                "root_path": request.scope["root_path"],
            }
        )

    async def echo(request: StarletteRequest):
        return PlainTextResponse((await request.body()).decode(), status_code=201)

    return Starlette(
        routes=[
            Route("/hello", hello),
            Route("/items/{id}", item),
            Route("/echo", echo, methods=["POST"]),
        ]
    )


def _recording_app(scopes):
    """A bare ASGI app that records its scope and answers with its path."""

    async def asgi(scope, receive, send):
        scopes.append(scope)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"x-inner", b"1")],
            }
        )
        await send({"type": "http.response.body", "body": b"inner:" + body})

    return asgi


def test_mounted_starlette_app_serves_its_routes(app, client):
    app.mount("/starlette", _starlette_app())

    response = client.get("/starlette/hello")

    assert response.status_code == 200
    assert response.text == "hello from starlette"


def test_mounted_starlette_app_gets_path_params_query_and_root_path(app, client):
    app.mount("/starlette", _starlette_app())

    response = client.get("/starlette/items/42?q=x")

    assert response.json() == {"id": "42", "q": "x", "root_path": "/starlette"}


def test_mounted_starlette_app_reads_the_request_body(app, client):
    app.mount("/starlette", _starlette_app())

    response = client.post("/starlette/echo", content=b"payload")

    assert (response.status_code, response.text) == (201, "payload")


def test_mounted_starlette_app_answers_its_own_404(app, client):
    app.mount("/starlette", _starlette_app())

    assert client.get("/starlette/nothing-here").status_code == 404


def test_routes_outside_the_mount_prefix_stay_with_the_outer_app(app, client):
    app.get("/home", lambda c: "outer home")
    app.mount("/starlette", _starlette_app())

    assert client.get("/home").text == "outer home"
    assert client.get("/starlettex/hello").status_code == 404


def test_bare_asgi_app_gets_root_path_and_the_full_path(app, client):
    scopes = []
    app.mount("/sub", _recording_app(scopes))

    response = client.get("/sub/a/b?x=1")

    assert response.text == "inner:"
    assert scopes[0]["root_path"] == "/sub"
    assert scopes[0]["path"] == "/sub/a/b"
    assert scopes[0]["query_string"] == b"x=1"


def test_bare_prefix_is_handed_to_the_mounted_app(app, client):
    scopes = []
    app.mount("/sub", _recording_app(scopes))

    assert client.get("/sub").status_code == 200
    assert scopes[0]["path"] == "/sub"
    assert scopes[0]["root_path"] == "/sub"


def test_mounted_app_gets_every_method(app, client):
    scopes = []
    app.mount("/sub", _recording_app(scopes))

    client.request("PURGE", "/sub/x")
    client.delete("/sub/x")

    assert [s["method"] for s in scopes] == ["PURGE", "DELETE"]


def test_outer_middleware_adds_headers_to_the_mounted_apps_response(app, client):
    async def tag(c, next):
        await next()
        c.res.headers["x-outer"] = "yes"

    app.use(tag)
    app.mount("/starlette", _starlette_app())

    response = client.get("/starlette/hello")

    assert response.text == "hello from starlette"
    assert response.headers["x-outer"] == "yes"


def test_outer_middleware_can_short_circuit_the_mounted_app(app, client):
    scopes = []

    async def deny(c, next):
        return c.text("no entry", 403)

    app.use("/sub/*", deny)
    app.mount("/sub", _recording_app(scopes))

    response = client.get("/sub/x")

    assert (response.status_code, response.text) == (403, "no entry")
    assert scopes == []


def test_body_read_by_outer_middleware_is_replayed_to_the_mounted_app(app, client):
    scopes = []

    async def peek(c, next):
        c.set("peeked", await c.req.body())
        await next()

    app.use(peek)
    app.mount("/sub", _recording_app(scopes))

    response = client.post("/sub/upload", content=b"the body")

    assert response.text == "inner:the body"


def test_body_read_by_outer_middleware_is_replayed_to_starlette(app, client):
    async def peek(c, next):
        await c.req.json()
        await next()

    app.use(peek)
    app.mount("/starlette", _starlette_app())

    response = client.post("/starlette/echo", json={"a": 1})

    assert response.text == '{"a": 1}'


def test_mounted_microweb_app_routes_below_its_prefix(app, client):
    inner = MicroWeb()
    inner.get("/ping", lambda c: {"path": c.req.path, "url": c.req.url})
    app.mount("/inner", inner)

    response = client.get("/inner/ping")

    assert response.json() == {"path": "/ping", "url": "https://testserver/inner/ping"}


def test_mount_prefix_must_start_with_a_slash(app):
    with pytest.raises(ValueError):
        app.mount("sub", _recording_app([]))


def _call(app, path: str, root_path: str) -> tuple[int, bytes]:
    """One GET straight into the ASGI app with the scope a server behind a proxy gives."""
    import asyncio

    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": [(b"host", b"example.com")],
    }
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.parametrize(
    "path",
    ["/api/apiary", "/apiary"],  # uvicorn's form (root_path in front), hypercorn's and granian's
)
def test_root_path_is_taken_off_whole_segments_only(app, path):
    app.get("/apiary", lambda c: "bees")

    assert _call(app, path, "/api") == (200, b"bees")


@pytest.mark.parametrize("path", ["/api/sub/a", "/sub/a"])
def test_behind_a_proxy_a_mounted_app_gets_the_full_path_under_its_root_path(app, path):
    scopes = []
    app.mount("/sub", _recording_app(scopes))

    status, _ = _call(app, path, "/api")

    assert status == 200
    assert scopes[0]["root_path"] == "/api/sub"
    assert scopes[0]["path"] == "/api/sub/a"
    assert scopes[0]["raw_path"] == b"/api/sub/a"


@pytest.mark.parametrize("path", ["/api/sub/x", "/sub/x"])
def test_behind_a_proxy_a_websocket_reaches_the_mounted_app(app, path):
    import asyncio

    scopes = []

    async def mounted(scope, receive, send):
        scopes.append(scope)
        await send({"type": "websocket.close", "code": 1000})

    app.mount("/sub", mounted)

    async def handshake():
        async def receive():
            return {"type": "websocket.connect"}

        async def send(message):
            pass

        scope = {"type": "websocket", "path": path, "root_path": "/api", "headers": []}
        await app(scope, receive, send)

    asyncio.run(handshake())

    assert [(s["path"], s["root_path"]) for s in scopes] == [("/api/sub/x", "/api/sub")]
